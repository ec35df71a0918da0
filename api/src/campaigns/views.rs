//! Request and response bodies of the campaign operations, as the spec shows them.

use std::collections::HashMap;

use poem_openapi::{Enum, Object};

use waplify_shared::status::CampaignStatus;

use super::lifecycle_views::{SendWindowInput, SendWindowView};
use crate::http::envelope::{Accepted, Success};
use crate::http::text::Text;
use crate::http::time::Timestamp;

/// Where a campaign is in its life.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum CampaignState {
    Draft,
    Scheduled,
    Queued,
    Running,
    Paused,
    Completed,
    Cancelled,
    Failed,
}

impl From<CampaignStatus> for CampaignState {
    fn from(s: CampaignStatus) -> Self {
        match s {
            CampaignStatus::Draft => CampaignState::Draft,
            CampaignStatus::Scheduled => CampaignState::Scheduled,
            CampaignStatus::Queued => CampaignState::Queued,
            CampaignStatus::Running => CampaignState::Running,
            CampaignStatus::Paused => CampaignState::Paused,
            CampaignStatus::Completed => CampaignState::Completed,
            CampaignStatus::Cancelled => CampaignState::Cancelled,
            CampaignStatus::Failed => CampaignState::Failed,
        }
    }
}

impl From<CampaignState> for CampaignStatus {
    fn from(s: CampaignState) -> Self {
        match s {
            CampaignState::Draft => CampaignStatus::Draft,
            CampaignState::Scheduled => CampaignStatus::Scheduled,
            CampaignState::Queued => CampaignStatus::Queued,
            CampaignState::Running => CampaignStatus::Running,
            CampaignState::Paused => CampaignStatus::Paused,
            CampaignState::Completed => CampaignStatus::Completed,
            CampaignState::Cancelled => CampaignStatus::Cancelled,
            CampaignState::Failed => CampaignStatus::Failed,
        }
    }
}

/// One recipient.
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields)]
pub struct ContactInput {
    /// Phone number with country code; `+`, spaces and dashes are ignored.
    #[oai(validator(max_length = 64))]
    pub phone: Text,
    /// Display name, kept on the contact.
    #[oai(validator(max_length = 255))]
    pub name: Option<Text>,
}

/// A new campaign.
// The spec's example leaves absent fields out rather than showing `null`, which they
// may not be.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct CreateCampaignRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: Text,
    #[oai(validator(max_length = 1000))]
    pub description: Option<Text>,
    /// Name of an APPROVED template of the account.
    #[oai(validator(min_length = 1, max_length = 512))]
    pub template_name: Text,
    /// 1 to 10,000 recipients; append more with `add_campaign_contacts`.
    #[oai(validator(min_items = 1, max_items = 10000))]
    pub contacts: Vec<ContactInput>,
    /// Template body variables by position: `{"1": "Ada", "2": "42"}`.
    pub body_data: Option<HashMap<String, Text>>,
    /// Template header variables by position.
    pub header_data: Option<HashMap<String, Text>>,
    /// Public http(s) URL (ASCII, percent-encoded) of the header media; required for IMAGE,
    /// VIDEO and DOCUMENT headers.
    #[oai(validator(max_length = 2048, pattern = r"^(https?://[!-~]+)?$"))]
    pub media_url: Option<Text>,
    /// File name shown for a DOCUMENT header.
    #[oai(validator(max_length = 255))]
    pub filename: Option<Text>,
    /// The sending number; defaults to the template's number, then the account's first active one.
    #[oai(validator(pattern = "^[0-9a-f]{24}$"))]
    pub waba_phone_id: Option<Text>,
    /// When to send, in the future: RFC 3339 with an offset or `Z`
    /// (`2026-12-24T09:00:00Z`), or a local time without one (`2026-12-24T09:00:00`)
    /// read in `scheduled_timezone`. The campaign is created as `scheduled` and sends
    /// itself at that time.
    #[oai(validator(
        max_length = 40,
        pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:\d{2})?$"
    ))]
    pub scheduled_at: Option<Text>,
    /// IANA time zone of a local `scheduled_at`, e.g. `Europe/Berlin`; default UTC.
    #[oai(validator(max_length = 64))]
    pub scheduled_timezone: Option<Text>,
    /// Hours the campaign may send in; any time when omitted.
    pub send_window: Option<SendWindowInput>,
}

/// The spec's example: the demo account's `welcome` template has one body variable.
impl poem_openapi::types::Example for CreateCampaignRequest {
    fn example() -> Self {
        let text = |s: &str| Text(s.to_owned());
        CreateCampaignRequest {
            name: text("Spring sale"),
            description: None,
            template_name: text("welcome"),
            contacts: vec![ContactInput {
                phone: text("+1 555 010 0001"),
                name: Some(text("Ada")),
            }],
            body_data: Some(HashMap::from([("1".to_owned(), text("Ada"))])),
            header_data: None,
            media_url: None,
            filename: None,
            waba_phone_id: None,
            scheduled_at: None,
            scheduled_timezone: None,
            send_window: None,
        }
    }
}

#[derive(Object, Debug)]
pub struct CreateCampaignResponse {
    pub status: Success,
    pub message: String,
    pub campaign_id: String,
    pub name: String,
    /// `draft`, or `scheduled` when `scheduled_at` was given.
    pub status_value: CampaignState,
    /// Distinct valid recipients.
    pub total_contacts: i64,
    /// Inputs that were not valid phone numbers, as sent.
    pub invalid_phones: Vec<String>,
    pub timestamp: Timestamp,
}

/// More recipients for a draft.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AddContactsRequest {
    #[oai(validator(min_items = 1, max_items = 10000))]
    pub contacts: Vec<ContactInput>,
}

#[derive(Object, Debug)]
pub struct AddContactsResponse {
    pub status: Success,
    pub message: String,
    pub campaign_id: String,
    /// Recipients new to this campaign.
    pub added: i64,
    /// Valid recipients that were already in the campaign (or repeated in this request).
    pub duplicates: i64,
    pub invalid_phones: Vec<String>,
    /// Recipients in the campaign now.
    pub total_contacts: i64,
    pub timestamp: Timestamp,
}

/// A campaign as stored.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct Campaign {
    pub campaign_id: String,
    pub name: String,
    pub description: Option<String>,
    pub campaign_status: CampaignState,
    pub template_id: String,
    pub template_name: String,
    pub waba_phone_id: String,
    pub body_data: HashMap<String, String>,
    pub header_data: HashMap<String, String>,
    pub media_url: Option<String>,
    pub filename: Option<String>,
    /// When a scheduled campaign sends itself, in UTC.
    pub scheduled_at: Option<Timestamp>,
    /// The time zone `scheduled_at` was given in.
    pub scheduled_timezone: Option<String>,
    pub send_window: Option<SendWindowView>,
    /// A queued or running campaign outside its sending window: nothing is sent until
    /// `next_window_at`.
    pub waiting_for_window: bool,
    pub next_window_at: Option<Timestamp>,
    /// Id of the latest dispatch job: from `send_campaign`, the scheduler or a resume.
    pub task_id: Option<String>,
    pub total_contacts: i64,
    pub credits_reserved: i64,
    pub credits_refunded: i64,
    /// Why a `failed` campaign stopped.
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    /// Why a `failed` campaign stopped: a precheck that failed at its scheduled time
    /// (`Campaign cannot be sent: …`) or a campaign-fatal provider answer.
    pub failure_reason: Option<String>,
    pub created_at: Timestamp,
    pub queued_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// When it was last paused (while `paused`).
    pub paused_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
}

#[derive(Object, Debug)]
pub struct GetCampaignResponse {
    pub status: Success,
    #[oai(flatten)]
    pub campaign: Campaign,
    pub timestamp: Timestamp,
}

#[derive(Object, Debug)]
pub struct ListCampaignsResponse {
    pub status: Success,
    pub items: Vec<Campaign>,
    /// Campaigns matching the filter, over all pages.
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub timestamp: Timestamp,
}

#[derive(Object, Debug)]
pub struct SendAcceptedResponse {
    pub status: Accepted,
    pub message: String,
    pub campaign_id: String,
    /// Id of the dispatch job in Redis (`scripts/task <task_id>`).
    pub task_id: String,
    pub timestamp: Timestamp,
}

/// Funnel counts: a read message also counts as delivered and sent.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct CampaignStatsResponse {
    pub status: Success,
    pub campaign_id: String,
    pub name: String,
    pub campaign_status: CampaignState,
    pub total_contacts: i64,
    pub sent_count: i64,
    pub delivered_count: i64,
    pub read_count: i64,
    pub clicked_count: i64,
    pub failed_count: i64,
    pub replied_count: i64,
    /// Recipients never sent because the campaign was cancelled.
    pub cancelled_count: i64,
    /// `total_contacts - failed_count - cancelled_count`.
    pub success_count: i64,
    pub created_at: Timestamp,
    pub scheduled_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// Why a `failed` campaign stopped (see `get_campaign`).
    pub failure_reason: Option<String>,
    /// Outside its sending window (see `get_campaign`).
    pub waiting_for_window: bool,
    pub next_window_at: Option<Timestamp>,
}
