//! [`Timestamp`]: how every answer writes a time. poem-openapi writes a
//! `DateTime<Utc>` with nanoseconds and `+00:00`; the API promises RFC 3339 in UTC
//! with `Z` and milliseconds (`2026-06-15T10:00:00.000Z`), as its webhooks and CSV
//! export write them.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::registry::MetaSchemaRef;
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// A time in an answer: a `date-time` string in UTC with milliseconds and `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    /// The text an answer carries.
    pub fn rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Timestamp(at)
    }
}

/// Documented exactly as `DateTime<Utc>` is: `string`, `date-time`.
impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        DateTime::<Utc>::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        DateTime::<Utc>::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.rfc3339()))
    }
}

/// Any RFC 3339 time is read, whatever its offset and precision.
impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        DateTime::<Utc>::parse_from_json(value)
            .map(Timestamp)
            .map_err(|e| e.propagate())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_in_utc_with_milliseconds_and_z() {
        let at: DateTime<Utc> = "2026-06-15T12:00:00.263433160+02:00".parse().unwrap();
        assert_eq!(
            Timestamp(at).to_json(),
            Some(Value::String("2026-06-15T10:00:00.263Z".into()))
        );
        let whole: DateTime<Utc> = "2026-06-15T10:00:00Z".parse().unwrap();
        assert_eq!(Timestamp(whole).rfc3339(), "2026-06-15T10:00:00.000Z");
    }

    #[test]
    fn reads_any_offset() {
        let read = Timestamp::parse_from_json(Some("2026-06-15T12:00:00+02:00".into())).unwrap();
        assert_eq!(read.rfc3339(), "2026-06-15T10:00:00.000Z");
    }
}
