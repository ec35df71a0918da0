//! The `Idempotency-Key` request header: 1 to 255 printable ASCII characters (space to
//! `~`). Read from the raw header bytes, so a key with other bytes is refused (`400`)
//! instead of being taken for no key at all, as poem-openapi's `Header` would.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use crate::http::errors::ApiError;

/// The request header's name.
pub const HEADER: &str = "Idempotency-Key";
pub const MAX_LEN: usize = 255;

/// An operation parameter: the request's idempotency key, if it gave one.
#[derive(Clone, Debug, Default)]
pub struct IdempotencyKey(pub Option<String>);

/// The key from a header's raw values: none, or exactly one valid key.
pub fn parse<'v>(mut values: impl Iterator<Item = &'v [u8]>) -> Result<Option<String>, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "Invalid {HEADER}: give one key of 1 to {MAX_LEN} printable ASCII characters"
        ))
    };
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some()
        || value.is_empty()
        || value.len() > MAX_LEN
        || !value.iter().all(|b| (0x20..=0x7e).contains(b))
    {
        return Err(invalid());
    }
    Ok(Some(String::from_utf8_lossy(value).into_owned()))
}

impl<'a> ApiExtractor<'a> for IdempotencyKey {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = false;

    type ParamType = Option<String>;
    type ParamRawType = ();

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        let mut schema = MetaSchema::new("string");
        schema.min_length = Some(1);
        schema.max_length = Some(MAX_LEN);
        schema.pattern = Some("^[\\x20-\\x7E]+$".to_owned());
        Some(MetaSchemaRef::Inline(Box::new(schema)))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let values = request.headers().get_all(HEADER);
        Ok(IdempotencyKey(parse(values.iter().map(|v| v.as_bytes()))?))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn one(v: &[u8]) -> Result<Option<String>, u16> {
        parse(std::iter::once(v)).map_err(|e| e.status.as_u16())
    }

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        assert_eq!(parse(std::iter::empty()).unwrap(), None);
        assert_eq!(
            one(b"order-42 retry ~").unwrap().as_deref(),
            Some("order-42 retry ~")
        );
        assert_eq!(one(&[b'k'; 255]).unwrap().map(|k| k.len()), Some(255));
        assert_eq!(one(&[b'k'; 256]), Err(400));
        assert_eq!(one(b""), Err(400));
        assert_eq!(one("clé".as_bytes()), Err(400));
        assert_eq!(one(b"tab\there"), Err(400));
        assert_eq!(
            parse([&b"a"[..], b"b"].into_iter()).map_err(|e| e.status.as_u16()),
            Err(400)
        );
    }
}
