//! Bodies of the lifecycle operations: changing a draft or scheduled campaign, and
//! its sending window.

use poem_openapi::Object;
use poem_openapi::types::MaybeUndefined;

use waplify_shared::window::{SendWindow, WindowForm};

use crate::http::text::Text;

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
    pub timestamp: chrono::DateTime<chrono::Utc>,
}
