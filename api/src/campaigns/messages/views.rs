//! Bodies of the recipient operations, as the spec shows them.

use poem_openapi::{Enum, Object};

use waplify_shared::db::entities::{message, message_event, provider_call};
use waplify_shared::status::{HistorySource, MessageStatus, ProviderOutcome};

use crate::http::envelope::Success;
use crate::http::time::Timestamp;

/// Where one recipient's message is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[oai(rename_all = "lowercase")]
pub enum MessageState {
    Pending,
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
    /// Never sent: its campaign was cancelled first.
    Cancelled,
}

impl From<MessageStatus> for MessageState {
    fn from(s: MessageStatus) -> Self {
        match s {
            MessageStatus::Pending => MessageState::Pending,
            MessageStatus::Sending => MessageState::Sending,
            MessageStatus::Sent => MessageState::Sent,
            MessageStatus::Delivered => MessageState::Delivered,
            MessageStatus::Read => MessageState::Read,
            MessageStatus::Failed => MessageState::Failed,
            MessageStatus::Cancelled => MessageState::Cancelled,
        }
    }
}

impl From<MessageState> for MessageStatus {
    fn from(s: MessageState) -> Self {
        match s {
            MessageState::Pending => MessageStatus::Pending,
            MessageState::Sending => MessageStatus::Sending,
            MessageState::Sent => MessageStatus::Sent,
            MessageState::Delivered => MessageStatus::Delivered,
            MessageState::Read => MessageStatus::Read,
            MessageState::Failed => MessageStatus::Failed,
            MessageState::Cancelled => MessageStatus::Cancelled,
        }
    }
}

/// Which part of the system made a step.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum StepSource {
    /// A send lane: claim, the provider's answer, a stopped campaign's leftovers.
    Worker,
    /// A WhatsApp status callback.
    Callback,
    /// The reconciler: an expired claim handed back, a cancelled campaign's stragglers.
    Reconciler,
    /// A request through the API (cancel, retry of failed recipients).
    Operator,
}

impl From<HistorySource> for StepSource {
    fn from(s: HistorySource) -> Self {
        match s {
            HistorySource::Worker => StepSource::Worker,
            HistorySource::Callback => StepSource::Callback,
            HistorySource::Reconciler => StepSource::Reconciler,
            HistorySource::Operator => StepSource::Operator,
        }
    }
}

/// What one provider call came to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum CallOutcome {
    /// WhatsApp accepted the message.
    Sent,
    /// A transient error: the recipient was tried again later.
    Retry,
    /// No known outcome (a timeout, an unreadable 2xx): held for a status callback.
    Unknown,
    /// This recipient cannot be sent to.
    Failed,
    /// No recipient of the campaign can be sent to; the campaign stopped.
    Fatal,
}

impl From<ProviderOutcome> for CallOutcome {
    fn from(o: ProviderOutcome) -> Self {
        match o {
            ProviderOutcome::Sent => CallOutcome::Sent,
            ProviderOutcome::Retry => CallOutcome::Retry,
            ProviderOutcome::Unknown => CallOutcome::Unknown,
            ProviderOutcome::Failed => CallOutcome::Failed,
            ProviderOutcome::Fatal => CallOutcome::Fatal,
        }
    }
}

/// One recipient of a campaign and where its message is.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(skip_serializing_if_is_none)]
pub struct MessageRow {
    /// 24 lowercase hex characters.
    pub message_id: String,
    /// E.164 digits, without `+`.
    pub phone: String,
    /// The contact's display name, if one was given.
    pub name: Option<String>,
    pub status: MessageState,
    /// WhatsApp's id of the message, once it accepted it.
    pub wamid: Option<String>,
    /// Provider calls made so far.
    pub attempts: i32,
    /// WhatsApp's error code of the last failure or retry.
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    pub sent_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub read_at: Option<Timestamp>,
    pub failed_at: Option<Timestamp>,
    /// First reply that quoted the message.
    pub replied_at: Option<Timestamp>,
    /// First button tap on the message.
    pub clicked_at: Option<Timestamp>,
}

impl MessageRow {
    pub fn new(m: message::Model, name: Option<String>) -> MessageRow {
        MessageRow {
            message_id: m.id.into_string(),
            phone: m.phone,
            name,
            status: m.status.into(),
            wamid: m.wamid,
            attempts: m.attempts,
            error_code: m.error_code,
            error_message: m.error_message,
            sent_at: m.sent_at.map(Timestamp),
            delivered_at: m.delivered_at.map(Timestamp),
            read_at: m.read_at.map(Timestamp),
            failed_at: m.failed_at.map(Timestamp),
            replied_at: m.replied_at.map(Timestamp),
            clicked_at: m.clicked_at.map(Timestamp),
        }
    }
}

/// A page of a campaign's recipients, in message id order.
#[derive(Object, Debug)]
pub struct ListMessagesResponse {
    pub status: Success,
    pub items: Vec<MessageRow>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    pub limit: u64,
    pub timestamp: Timestamp,
}

/// One step of a message's history.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct HistoryStep {
    /// `null` for the first step.
    pub from: Option<MessageState>,
    pub to: MessageState,
    pub at: Timestamp,
    pub source: StepSource,
    pub detail: Option<String>,
}

impl From<message_event::Model> for HistoryStep {
    fn from(e: message_event::Model) -> Self {
        HistoryStep {
            from: e.from_status.map(Into::into),
            to: e.to_status.into(),
            at: Timestamp(e.at),
            source: e.source.into(),
            detail: e.detail,
        }
    }
}

/// One call to the WhatsApp Cloud API for the message.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ProviderCall {
    /// 1 for the first call.
    pub attempt: i32,
    pub outcome: CallOutcome,
    /// `null` when no HTTP answer came (a timeout, a refused connection).
    pub http_status: Option<i32>,
    pub error_code: Option<i32>,
    /// WhatsApp's error title.
    pub error_message: Option<String>,
    pub latency_ms: i32,
    pub at: Timestamp,
}

impl From<provider_call::Model> for ProviderCall {
    fn from(c: provider_call::Model) -> Self {
        ProviderCall {
            attempt: c.attempt,
            outcome: c.outcome.into(),
            http_status: c.http_status,
            error_code: c.error_code,
            error_message: c.error_message,
            latency_ms: c.latency_ms,
            at: Timestamp(c.at),
        }
    }
}

/// One recipient with everything that happened to its message.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct MessageDetail {
    #[oai(flatten)]
    pub row: MessageRow,
    /// A test message (`send_test_message`): not a recipient, so not in the list, the
    /// export or the campaign's stats.
    pub test: bool,
    /// Every status step, oldest first.
    pub history: Vec<HistoryStep>,
    /// Every provider call, oldest first.
    pub provider_calls: Vec<ProviderCall>,
}

#[derive(Object, Debug)]
pub struct GetMessageResponse {
    pub status: Success,
    pub message: MessageDetail,
    pub timestamp: Timestamp,
}
