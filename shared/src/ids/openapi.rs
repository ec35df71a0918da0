//! Ids as poem-openapi parameters, so routes take `Path<CampaignId>`: the pattern is
//! declared here once, and a malformed id fails with the id's own message
//! (`Invalid campaign_id`) before the handler runs.

macro_rules! param_type {
    ($name:ident) => {
        impl poem_openapi::types::Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new(
                    poem_openapi::registry::MetaSchema {
                        pattern: Some($crate::ids::ID_PATTERN.to_owned()),
                        ..poem_openapi::registry::MetaSchema::new("string")
                    },
                ))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl poem_openapi::types::ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> poem_openapi::types::ParseResult<Self> {
                Self::parse(value).map_err(poem_openapi::types::ParseError::custom)
            }
        }
    };
}

pub(super) use param_type;
