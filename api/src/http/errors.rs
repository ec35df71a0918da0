//! The one error type of the API and its JSON body. Every failure, whether a handler's
//! own or poem's (bad JSON, unknown route, wrong method, missing key), leaves as
//! `{"error","message","request_id","timestamp"}`.

use std::marker::PhantomData;

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object};

use super::request_id;
use super::time::Timestamp;

/// The error body of every failed request.
#[derive(Object, Debug, Clone)]
pub struct ErrorBody {
    /// Machine-readable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `conflict`, `payload_too_large`, `rate_limit_exceeded`,
    /// `internal_server_error`, `service_unavailable`; for idempotency keys (409, 422)
    /// `idempotency_key_in_use`, `idempotency_key_reused`.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
    /// The `X-Request-ID` of this request.
    pub request_id: String,
    pub timestamp: Timestamp,
}

/// A failed request: an HTTP status and a message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// A code more precise than the status's own (`code_for`).
    code: Option<&'static str>,
    /// Seconds for a `Retry-After` header (a 429 of the operation's own limit).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            code: None,
            retry_after: None,
        }
    }

    /// The same error with `Retry-After: secs`.
    pub fn with_retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    /// The same error with its own machine-readable code.
    pub fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = Some(code);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Invalid or expired API key")
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// The database could not be reached in time: 503, the cause logged.
    pub fn unavailable(cause: impl std::fmt::Display) -> ApiError {
        tracing::warn!(request_id = %request_id::current(), "database unavailable: {cause}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable; try again shortly",
        )
    }

    /// Logs the cause and answers without it: internals never reach the client.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(request_id = %request_id::current(), "internal error: {cause}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    pub fn code(&self) -> &'static str {
        self.code.unwrap_or_else(|| code_for(self.status))
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code().to_owned(),
            message: self.message.clone(),
            request_id: request_id::current(),
            timestamp: Timestamp::now(),
        }
    }
}

pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "payload_too_large",
        429 => "rate_limit_exceeded",
        503 => "service_unavailable",
        s if s < 500 => "bad_request",
        _ => "internal_server_error",
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> ApiError {
        if waplify_shared::db::is_unavailable(&e) {
            return ApiError::unavailable(e);
        }
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut resp = Json(self.body()).with_status(status).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<ApiError> for poem::Error {
    fn from(e: ApiError) -> poem::Error {
        poem::Error::from_response(e.into_response())
    }
}

/// A handler's error, documented in the spec as the responses listed by `D`.
/// `D` only describes; the status actually sent is the `ApiError`'s own.
pub struct Failure<D>(pub ApiError, PhantomData<fn() -> D>);

impl<D> From<ApiError> for Failure<D> {
    fn from(e: ApiError) -> Self {
        Failure(e, PhantomData)
    }
}

impl<D> From<sea_orm::DbErr> for Failure<D> {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure(ApiError::from(e), PhantomData)
    }
}

impl<D> From<Failure<D>> for poem::Error {
    fn from(f: Failure<D>) -> poem::Error {
        f.0.into()
    }
}

impl<D: ApiResponse> ApiResponse for Failure<D> {
    fn meta() -> MetaResponses {
        D::meta()
    }

    fn register(registry: &mut Registry) {
        D::register(registry)
    }
}

/// Declares an error set: one documented status per variant, each a JSON `ErrorBody`.
/// Callers need `ApiResponse`, `Json` and `ErrorBody` in scope.
macro_rules! documented_errors {
    ($(#[$doc:meta])* $name:ident { $($status:literal $variant:ident $desc:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(ApiResponse)]
        #[allow(dead_code)]
        pub enum $name {
            $(
                #[doc = $desc]
                #[oai(status = $status)]
                $variant(Json<ErrorBody>),
            )+
        }
    };
}
pub(crate) use documented_errors;
