//! Request and response bodies of the webhook endpoints API.

use poem_openapi::{Enum, Object};

use waplify_shared::webhooks::{DeliveryState as Stored, EventKind};

use crate::http::envelope::{Accepted, Success};
use crate::http::text::Text;
use crate::http::time::Timestamp;

/// An event an endpoint can subscribe to: a message's status, or a campaign's.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    #[oai(rename = "message.sent")]
    MessageSent,
    #[oai(rename = "message.delivered")]
    MessageDelivered,
    #[oai(rename = "message.read")]
    MessageRead,
    #[oai(rename = "message.failed")]
    MessageFailed,
    #[oai(rename = "campaign.started")]
    CampaignStarted,
    #[oai(rename = "campaign.paused")]
    CampaignPaused,
    #[oai(rename = "campaign.resumed")]
    CampaignResumed,
    #[oai(rename = "campaign.completed")]
    CampaignCompleted,
    #[oai(rename = "campaign.cancelled")]
    CampaignCancelled,
    #[oai(rename = "campaign.failed")]
    CampaignFailed,
}

impl From<WebhookEvent> for EventKind {
    fn from(e: WebhookEvent) -> EventKind {
        use WebhookEvent as W;
        match e {
            W::MessageSent => EventKind::MessageSent,
            W::MessageDelivered => EventKind::MessageDelivered,
            W::MessageRead => EventKind::MessageRead,
            W::MessageFailed => EventKind::MessageFailed,
            W::CampaignStarted => EventKind::CampaignStarted,
            W::CampaignPaused => EventKind::CampaignPaused,
            W::CampaignResumed => EventKind::CampaignResumed,
            W::CampaignCompleted => EventKind::CampaignCompleted,
            W::CampaignCancelled => EventKind::CampaignCancelled,
            W::CampaignFailed => EventKind::CampaignFailed,
        }
    }
}

impl WebhookEvent {
    /// The subscribable event of a stored kind; `None` for `webhook.test`.
    pub fn of(e: EventKind) -> Option<WebhookEvent> {
        use WebhookEvent as W;
        Some(match e {
            EventKind::MessageSent => W::MessageSent,
            EventKind::MessageDelivered => W::MessageDelivered,
            EventKind::MessageRead => W::MessageRead,
            EventKind::MessageFailed => W::MessageFailed,
            EventKind::CampaignStarted => W::CampaignStarted,
            EventKind::CampaignPaused => W::CampaignPaused,
            EventKind::CampaignResumed => W::CampaignResumed,
            EventKind::CampaignCompleted => W::CampaignCompleted,
            EventKind::CampaignCancelled => W::CampaignCancelled,
            EventKind::CampaignFailed => W::CampaignFailed,
            EventKind::WebhookTest => return None,
        })
    }
}

/// A new webhook endpoint.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    #[oai(validator(min_length = 1, max_length = 255))]
    pub name: Text,
    /// Public http(s) URL: a domain name or dotted IPv4 address, optional user info and
    /// port, ASCII path (percent-encoded). A host that is or resolves to a loopback,
    /// private or link-local address is refused with 403.
    #[oai(validator(
        max_length = 2048,
        pattern = r#"^https?://(?:[A-Za-z0-9._~!$&'()*+,;=%-]+(?::[A-Za-z0-9._~!$&'()*+,;=%-]*)?@)?(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}|(?:[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*\.)*[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*\.?)(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:[/?#][!-~]*)?$"#
    ))]
    pub url: Text,
    /// Signs every request (`X-Webhook-Signature`, `webhook-signature`). Without one,
    /// requests are unsigned. It may not start with `enc:` (the mark of an encrypted
    /// value).
    #[oai(validator(min_length = 8, max_length = 256))]
    pub secret: Option<Text>,
    /// Events to receive; all message events when omitted. Campaign events
    /// (`campaign.started`, `campaign.paused`, …) are sent only to endpoints that name them.
    #[oai(validator(min_items = 1, max_items = 10, unique_items))]
    pub events: Option<Vec<WebhookEvent>>,
    /// Retries after a failed attempt (429, 5xx, timeout, connection error), 0 to 10.
    /// Default 3.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub retry_count: Option<i32>,
    /// Seconds to wait for an answer, 1 to 30. Default 5.
    #[oai(validator(minimum(value = "1"), maximum(value = "30")))]
    pub timeout_seconds: Option<i32>,
}

/// A webhook endpoint as stored. The secret is never shown again.
#[derive(Object, Debug)]
pub struct Webhook {
    pub webhook_id: String,
    pub name: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub retry_count: i32,
    pub timeout_seconds: i32,
    /// Whether requests are signed.
    pub has_secret: bool,
    pub created_at: Timestamp,
}

#[derive(Object, Debug)]
pub struct CreateWebhookResponse {
    pub status: Success,
    pub message: String,
    #[oai(flatten)]
    pub webhook: Webhook,
    pub timestamp: Timestamp,
}

#[derive(Object, Debug)]
pub struct GetWebhookResponse {
    pub status: Success,
    #[oai(flatten)]
    pub webhook: Webhook,
    pub timestamp: Timestamp,
}

#[derive(Object, Debug)]
pub struct ListWebhooksResponse {
    pub status: Success,
    pub items: Vec<Webhook>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub timestamp: Timestamp,
}

#[derive(Object, Debug)]
pub struct DeleteWebhookResponse {
    pub status: Success,
    pub message: String,
    pub webhook_id: String,
    /// Pending deliveries that will not be attempted any more.
    pub cancelled_deliveries: u64,
    pub timestamp: Timestamp,
}

#[derive(Object, Debug)]
pub struct TestWebhookResponse {
    pub status: Accepted,
    pub message: String,
    pub webhook_id: String,
    /// Follow it with `list_webhook_deliveries`.
    pub delivery_id: String,
    pub timestamp: Timestamp,
}

/// Where a delivery is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// An attempt got a 2xx.
    Delivered,
    /// Refused with a non-retryable status, or out of retries.
    Failed,
    /// The endpoint was deleted first.
    Cancelled,
}

impl From<Stored> for DeliveryState {
    fn from(s: Stored) -> DeliveryState {
        match s {
            Stored::Pending => DeliveryState::Pending,
            Stored::Delivered => DeliveryState::Delivered,
            Stored::Failed => DeliveryState::Failed,
            Stored::Cancelled => DeliveryState::Cancelled,
        }
    }
}

impl From<DeliveryState> for Stored {
    fn from(s: DeliveryState) -> Stored {
        match s {
            DeliveryState::Pending => Stored::Pending,
            DeliveryState::Delivered => Stored::Delivered,
            DeliveryState::Failed => Stored::Failed,
            DeliveryState::Cancelled => Stored::Cancelled,
        }
    }
}

/// One HTTP attempt.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub at: Timestamp,
    /// The endpoint's answer, if one came.
    pub http_status: Option<i32>,
    /// Timeout, connection or refusal details.
    pub error: Option<String>,
    pub duration_ms: i32,
    /// The first bytes of the endpoint's answer.
    pub response_excerpt: Option<String>,
}

/// One event for one endpoint.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header, the same on every attempt.
    pub delivery_id: String,
    /// `message.sent`, …, or `webhook.test`.
    pub event: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub message_id: Option<String>,
    pub campaign_id: Option<String>,
    pub created_at: Timestamp,
    /// When the next attempt is due, while `pending`.
    pub next_attempt_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    /// Every attempt, first to last.
    pub attempt_log: Vec<DeliveryAttempt>,
}

#[derive(Object, Debug)]
pub struct ListDeliveriesResponse {
    pub status: Success,
    pub webhook_id: String,
    pub items: Vec<WebhookDelivery>,
    pub total: u64,
    pub page: u64,
    pub limit: u64,
    pub timestamp: Timestamp,
}
