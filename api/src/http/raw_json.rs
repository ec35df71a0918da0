//! `RawJson`: a JSON request body kept as the exact bytes that arrived. Signatures are
//! computed over those bytes; parsing and re-serialising would change them.

use poem::{Request, RequestBody, Result};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

pub struct RawJson(pub Vec<u8>);

impl Payload for RawJson {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("A WhatsApp Cloud API webhook notification, signed by Meta."),
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for RawJson {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        Ok(RawJson(
            <Vec<u8> as poem::FromRequest>::from_request(request, body).await?,
        ))
    }
}

impl<'a> ApiExtractor<'a> for RawJson {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: Self::CONTENT_TYPE,
                schema: Self::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(ct) => Err(poem_openapi::error::ContentTypeError::NotSupported {
                content_type: ct.to_owned(),
            }
            .into()),
            None => Err(poem_openapi::error::ContentTypeError::ExpectContentType.into()),
        }
    }
}
