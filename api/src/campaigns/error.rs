//! Why a campaign use case did not happen, and the one place that says which HTTP
//! answer each reason is (the documented statuses and messages).

use poem::http::StatusCode;

use waplify_shared::status::CampaignStatus;

use crate::http::errors::{ApiError, Failure};

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
    /// A send precheck failed; the reason follows `Campaign cannot be sent: `.
    #[error("Campaign cannot be sent: {0}")]
    Precheck(String),
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
            | CampaignError::WrongStatus { .. } => StatusCode::CONFLICT,
            CampaignError::Precheck(_) | CampaignError::Invalid(_) => StatusCode::BAD_REQUEST,
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
