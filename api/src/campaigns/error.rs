//! Why a campaign use case did not happen, and the one place that says which HTTP
//! answer each reason is (the documented statuses and messages).

use poem::http::StatusCode;

use waplify_shared::status::CampaignStatus;

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use crate::http::errors::{ApiError, ErrorBody, Failure, documented_errors};

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// No such campaign in this account (another account's is not found either).
    #[error("Campaign not found")]
    NotFound,
    /// No such message in the campaign (one of another campaign is not found either).
    #[error("Message not found")]
    MessageNotFound,
    /// Something the request names (a template, a number) is not the account's.
    #[error("{0}")]
    Missing(String),
    /// Only drafts are changed or sent.
    #[error("Campaign is {0}; only a draft campaign can be changed or sent")]
    NotDraft(CampaignStatus),
    /// A scheduled campaign sends itself at its time; it is not sent or changed by hand.
    #[error(
        "Campaign is scheduled to send at {}; only a draft campaign can be changed or sent",
        .0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    Scheduled(chrono::DateTime<chrono::Utc>),
    /// A lifecycle operation the campaign's status does not allow.
    #[error("Campaign is {status}; only {} campaign can be {done}", phrase(.allowed))]
    WrongStatus {
        status: CampaignStatus,
        /// The statuses that allow it (the transition's predecessors), said as
        /// `a queued or running`.
        allowed: &'static [CampaignStatus],
        /// What the operation does, as a participle: `paused`.
        done: &'static str,
    },
    /// A finished campaign whose last calls or refunds are not done yet: its failed
    /// recipients can be retried once it has settled.
    #[error(
        "Campaign is {0} but still finishing its last messages; retry its failed recipients once it has settled"
    )]
    Finishing(CampaignStatus),
    /// A retry found no failed recipient to send again.
    #[error("{0}")]
    NothingToRetry(String),
    /// A send precheck failed; the reason follows `Campaign cannot be sent: `.
    #[error("Campaign cannot be sent: {0}")]
    Precheck(String),
    /// `send_test_message`'s limit per campaign per hour is used up; `retry_after`
    /// seconds until the oldest test of the hour ages out.
    #[error(
        "At most {limit} test messages per campaign per hour; the next can be sent at {}",
        .next_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    TooManyTests {
        limit: u64,
        next_at: chrono::DateTime<chrono::Utc>,
        retry_after: u64,
    },
    /// The request is well formed but its content is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The database could not be reached in time.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an outage; the details are logged, never answered.
    #[error("{0}")]
    Unexpected(String),
}

/// `a draft, scheduled or paused`: statuses as the 409 messages list them.
fn phrase(statuses: &[CampaignStatus]) -> String {
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => format!("a {last}"),
        Some((last, rest)) => format!("a {} or {last}", rest.join(", ")),
        None => "no".into(),
    }
}

impl From<sea_orm::DbErr> for CampaignError {
    fn from(e: sea_orm::DbErr) -> CampaignError {
        if waplify_shared::db::is_unavailable(&e) {
            return CampaignError::Unavailable(e.to_string());
        }
        CampaignError::Unexpected(format!("database: {e}"))
    }
}

impl From<CampaignError> for ApiError {
    fn from(e: CampaignError) -> ApiError {
        let status = match &e {
            CampaignError::NotFound
            | CampaignError::MessageNotFound
            | CampaignError::Missing(_) => StatusCode::NOT_FOUND,
            CampaignError::NotDraft(_)
            | CampaignError::Scheduled(_)
            | CampaignError::WrongStatus { .. }
            | CampaignError::Finishing(_)
            | CampaignError::NothingToRetry(_) => StatusCode::CONFLICT,
            CampaignError::Precheck(_) | CampaignError::Invalid(_) => StatusCode::BAD_REQUEST,
            CampaignError::TooManyTests { retry_after, .. } => {
                return ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
                    .with_retry_after(*retry_after);
            }
            CampaignError::Unavailable(cause) => return ApiError::unavailable(cause),
            CampaignError::Unexpected(cause) => return ApiError::internal(cause),
        };
        ApiError::new(status, e.to_string())
    }
}

impl<D> From<CampaignError> for Failure<D> {
    fn from(e: CampaignError) -> Failure<D> {
        ApiError::from(e).into()
    }
}

documented_errors!(
    /// Errors of sending a test message.
    TestMessageErrors {
        400 BadRequest "Malformed campaign_id, invalid body (a phone that is not one, unknown or empty body variables) or a failed precheck (`Campaign cannot be sent: …`); an invalid `Idempotency-Key`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account: `Campaign not found`.",
        409 Conflict "The campaign is not a draft, scheduled or paused (`conflict`), or a request with this `Idempotency-Key` is still in progress (`idempotency_key_in_use`).",
        413 PayloadTooLarge "Request body over the size limit.",
        422 Unprocessable "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request.",
        429 TooMany "The campaign's 10 test messages of the last hour are used up (`rate_limit_exceeded`, with `Retry-After`).",
        500 Internal "Unexpected server error.",
    }
);
