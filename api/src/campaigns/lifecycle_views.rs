//! Bodies of the lifecycle operations: changing a draft or scheduled campaign, and
//! its sending window; retrying its failed recipients, and that operation's errors.

use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object};

use waplify_shared::window::{SendWindow, WindowForm};

use crate::http::envelope::Accepted;
use crate::http::errors::{ErrorBody, documented_errors};
use crate::http::text::Text;
use crate::http::time::Timestamp;

/// When a campaign may send: local hours on some weekdays. Outside it a running
/// campaign waits; it starts again by itself when the window opens. An `end` not
/// after `start` runs past midnight (`22:00`–`06:00`).
#[derive(Object, Debug, Clone)]
#[oai(deny_unknown_fields)]
pub struct SendWindowInput {
    /// Opening time, `HH:MM` (24-hour).
    #[oai(validator(pattern = r"^\d{2}:\d{2}$"))]
    pub start: Text,
    /// Closing time, `HH:MM`.
    #[oai(validator(pattern = r"^\d{2}:\d{2}$"))]
    pub end: Text,
    /// IANA time zone of `start` and `end`; default `UTC`.
    #[oai(validator(max_length = 64))]
    pub timezone: Option<Text>,
    /// Days it opens on: `mon` … `sun`; default every day.
    #[oai(validator(max_items = 7))]
    pub days: Option<Vec<Text>>,
}

impl SendWindowInput {
    /// The window, or the reason it is refused.
    pub fn parse(self) -> Result<SendWindow, String> {
        let form = WindowForm {
            start: self.start.into_string(),
            end: self.end.into_string(),
            timezone: self
                .timezone
                .map(Text::into_string)
                .unwrap_or_else(|| "UTC".into()),
            days: match self.days {
                Some(days) => days.into_iter().map(Text::into_string).collect(),
                None => ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                    .map(str::to_owned)
                    .to_vec(),
            },
        };
        SendWindow::parse(&form).map_err(|e| e.0)
    }
}

/// A campaign's sending window as stored.
#[derive(Object, Debug, Clone)]
pub struct SendWindowView {
    pub start: String,
    pub end: String,
    pub timezone: String,
    pub days: Vec<String>,
}

impl From<&SendWindow> for SendWindowView {
    fn from(w: &SendWindow) -> SendWindowView {
        let f = w.form();
        SendWindowView {
            start: f.start,
            end: f.end,
            timezone: f.timezone,
            days: f.days,
        }
    }
}

/// Changes to a draft or scheduled campaign. Absent fields stay as they are; `null`
/// clears `description`, `scheduled_at` (back to `draft`) and `send_window`.
#[derive(Object, Debug, Default)]
#[oai(deny_unknown_fields)]
pub struct UpdateCampaignRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: Option<Text>,
    #[oai(validator(max_length = 1000))]
    pub description: MaybeUndefined<Text>,
    /// When to send, in the future: with an offset or `Z`, or a local time read in
    /// `scheduled_timezone`. Setting it makes the campaign `scheduled`.
    #[oai(validator(
        max_length = 40,
        pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:\d{2})?$"
    ))]
    pub scheduled_at: MaybeUndefined<Text>,
    /// IANA time zone of a local `scheduled_at`; default the campaign's, then `UTC`.
    #[oai(validator(max_length = 64))]
    pub scheduled_timezone: Option<Text>,
    pub send_window: MaybeUndefined<SendWindowInput>,
}

/// Which failed recipients to send again. Without a body (or without `error_codes`):
/// those whose last error is not permanent for them (see `retry_failed_messages`).
#[derive(Object, Debug, Default)]
#[oai(deny_unknown_fields)]
pub struct RetryFailedRequest {
    /// Only the failed recipients whose last error has one of these codes (WhatsApp
    /// error codes, e.g. `131049`), whether or not WhatsApp had accepted them first.
    #[oai(validator(min_items = 1, max_items = 100, minimum(value = "1")))]
    pub error_codes: Option<Vec<i32>>,
}

/// The failed recipients are queued again.
#[derive(Object, Debug)]
pub struct RetryFailedResponse {
    pub status: Accepted,
    pub message: String,
    pub campaign_id: String,
    /// Recipients chosen and charged for, which the worker moves back to `pending`.
    pub count: u64,
    /// Id of the new dispatch job in Redis (`scripts/task <task_id>`).
    pub task_id: String,
    pub timestamp: Timestamp,
}

documented_errors!(
    /// Errors of retrying a campaign's failed recipients.
    RetryErrors {
        400 BadRequest "Malformed campaign_id, invalid body (`error_codes` empty, over 100 or not positive), a failed precheck (`Campaign cannot be sent: …`), or an invalid `Idempotency-Key`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account: `Campaign not found`.",
        409 Conflict "`conflict`: the campaign is not `completed` or `failed` (another retry came first), is still finishing its last calls, or has no failed recipient the pick chooses (`No failed recipients to retry…`); or a request with this `Idempotency-Key` is still in progress (`idempotency_key_in_use`).",
        413 PayloadTooLarge "Request body over the size limit.",
        422 Unprocessable "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request.",
        500 Internal "Unexpected server error.",
    }
);

/// A test message: the campaign's template, variables and media, to one number.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct TestMessageRequest {
    /// Phone number with country code; `+`, spaces and dashes are ignored.
    #[oai(validator(max_length = 64))]
    pub phone: Text,
    /// Body variables to use instead of the campaign's, by position:
    /// `{"1": "Grace"}`; the others stay the campaign's.
    pub body_data: Option<std::collections::HashMap<String, Text>>,
}

/// A test message queued.
#[derive(Object, Debug)]
pub struct TestMessageAccepted {
    pub status: crate::http::envelope::Accepted,
    pub message: String,
    pub campaign_id: String,
    /// The test message: `get_campaign_message` shows its outcome and history.
    pub message_id: String,
    /// The number it goes to, as E.164 digits.
    pub phone: String,
    pub timestamp: Timestamp,
}
