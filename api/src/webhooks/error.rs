//! Why a webhook-endpoint use case did not happen, and the one place that says which
//! HTTP answer each reason is.

use poem::http::StatusCode;

use crate::http::errors::{ApiError, Failure};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No such live endpoint in this account.
    #[error("Webhook not found")]
    NotFound,
    /// A well-formed URL whose target our policy forbids.
    #[error("Webhook url is refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Invalid(String),
    /// The database could not be reached in time.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an outage; the details are logged, never answered.
    #[error("{0}")]
    Unexpected(String),
}

impl From<sea_orm::DbErr> for WebhookError {
    fn from(e: sea_orm::DbErr) -> WebhookError {
        if waplify_shared::db::is_unavailable(&e) {
            return WebhookError::Unavailable(e.to_string());
        }
        WebhookError::Unexpected(format!("database: {e}"))
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> ApiError {
        let status = match &e {
            WebhookError::NotFound => StatusCode::NOT_FOUND,
            WebhookError::Refused(_) => StatusCode::FORBIDDEN,
            WebhookError::Invalid(_) => StatusCode::BAD_REQUEST,
            WebhookError::Unavailable(cause) => return ApiError::unavailable(cause),
            WebhookError::Unexpected(cause) => return ApiError::internal(cause),
        };
        ApiError::new(status, e.to_string())
    }
}

impl<D> From<WebhookError> for Failure<D> {
    fn from(e: WebhookError) -> Failure<D> {
        ApiError::from(e).into()
    }
}
