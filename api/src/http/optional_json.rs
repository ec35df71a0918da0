//! `OptionalJson<T>`: a JSON body a client may leave out altogether. poem-openapi's
//! `Json<Option<T>>` still demands a `Content-Type`, which a bodiless POST (what SDKs
//! send when the body is optional) does not carry. Here no body, or an empty one, is
//! `None`; a body is JSON as usual (`application/json`), parsed into `T`.

use poem::{Request, RequestBody, Result};
use poem_openapi::error::{ContentTypeError, ParseRequestPayloadError};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

pub struct OptionalJson<T>(pub Option<T>);

impl<T: Type> Payload for OptionalJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for OptionalJson<T> {
    const IS_REQUIRED: bool = false;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let data = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        parse(&data)
    }
}

fn parse<T: ParseFromJSON>(data: &[u8]) -> Result<OptionalJson<T>> {
    if data.is_empty() {
        return Ok(OptionalJson(None));
    }
    let value: serde_json::Value =
        serde_json::from_slice(data).map_err(|e| ParseRequestPayloadError {
            reason: e.to_string(),
        })?;
    let parsed = T::parse_from_json(Some(value)).map_err(|e| ParseRequestPayloadError {
        reason: e.into_message(),
    })?;
    Ok(OptionalJson(Some(parsed)))
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for OptionalJson<T> {
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
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> Result<Self> {
        let data = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => parse(&data),
            Some(ct) => Err(ContentTypeError::NotSupported {
                content_type: ct.to_owned(),
            }
            .into()),
            None if data.is_empty() => Ok(OptionalJson(None)),
            None => Err(ContentTypeError::ExpectContentType.into()),
        }
    }
}
