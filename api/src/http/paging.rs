//! `?page=` and `?limit=`, declared once: their default and bounds live in the type,
//! so every list operation takes `Query<Page>` and `Query<Limit>` and the spec says the
//! same thing everywhere.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};
use sea_orm::{DbErr, EntityTrait, PaginatorTrait, QuerySelect, Select};

use waplify_shared::db::Db;

/// A whole number in `MIN..=MAX`, `DEFAULT` when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounded<const DEFAULT: u64, const MIN: u64, const MAX: u64>(pub u64);

/// Page number, from 1.
pub type Page = Bounded<1, 1, 1_000_000>;
/// Items per page, 1 to 100.
pub type Limit = Bounded<20, 1, 100>;

impl<const DEFAULT: u64, const MIN: u64, const MAX: u64> Type for Bounded<DEFAULT, MIN, MAX> {
    const IS_REQUIRED: bool = false;
    type RawValueType = u64;
    type RawElementValueType = u64;

    fn name() -> Cow<'static, str> {
        "integer(uint64)".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: Some("uint64"),
            default: Some(DEFAULT.into()),
            maximum: Some(MAX as f64),
            minimum: Some(MIN as f64),
            ..MetaSchema::new("integer")
        }))
    }

    fn as_raw_value(&self) -> Option<&u64> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a u64> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<const DEFAULT: u64, const MIN: u64, const MAX: u64> ParseFromParameter
    for Bounded<DEFAULT, MIN, MAX>
{
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let n = <u64 as ParseFromParameter>::parse_from_parameter(value)
            .map_err(ParseError::propagate)?;
        if n < MIN {
            return Err(ParseError::custom(format!(
                "verification failed. minimum({MIN}, exclusive: false)"
            )));
        }
        if n > MAX {
            return Err(ParseError::custom(format!(
                "verification failed. maximum({MAX}, exclusive: false)"
            )));
        }
        Ok(Bounded(n))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(
        iter: I,
    ) -> ParseResult<Self> {
        match iter.into_iter().next() {
            Some(value) => Self::parse_from_parameter(value.as_ref()),
            None => Ok(Bounded(DEFAULT)),
        }
    }
}

/// Page `page` (from 1) of an ordered query, and how many rows match over all pages.
pub async fn page_of<E>(
    db: &Db,
    query: Select<E>,
    Bounded(page): Page,
    Bounded(limit): Limit,
) -> Result<(u64, Vec<E::Model>), DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let total = query.clone().count(db).await?;
    let rows = query
        .offset((page - 1).saturating_mul(limit))
        .limit(limit)
        .all(db)
        .await?;
    Ok((total, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let none: [&str; 0] = [];
        assert_eq!(Limit::parse_from_parameters(none).unwrap(), Bounded(20));
        assert_eq!(Page::parse_from_parameter("7").unwrap(), Bounded(7));
        assert!(Limit::parse_from_parameter("0").is_err());
        assert!(Limit::parse_from_parameter("101").is_err());
        assert!(Page::parse_from_parameter("abc").is_err());
    }
}
