//! Customer webhooks: which events exist, where they may be sent, and how a status
//! transition turns into deliveries.

pub mod fanout;
pub mod target;

use crate::status::MessageStatus;

/// A message event a customer can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    MessageSent,
    MessageDelivered,
    MessageRead,
    MessageFailed,
}

/// The event `test_webhook` sends; endpoints receive it whatever their filter.
pub const TEST_EVENT: &str = "webhook.test";

/// The `User-Agent` of every webhook request.
pub const USER_AGENT: &str = "Waplify-Webhook/1.0";

impl EventKind {
    pub const ALL: [EventKind; 4] = [
        EventKind::MessageSent,
        EventKind::MessageDelivered,
        EventKind::MessageRead,
        EventKind::MessageFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageSent => "message.sent",
            EventKind::MessageDelivered => "message.delivered",
            EventKind::MessageRead => "message.read",
            EventKind::MessageFailed => "message.failed",
        }
    }

    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The event announcing that a message reached `status`, if any.
    pub fn for_status(status: MessageStatus) -> Option<EventKind> {
        match status {
            MessageStatus::Sent => Some(EventKind::MessageSent),
            MessageStatus::Delivered => Some(EventKind::MessageDelivered),
            MessageStatus::Read => Some(EventKind::MessageRead),
            MessageStatus::Failed => Some(EventKind::MessageFailed),
            MessageStatus::Pending | MessageStatus::Sending => None,
        }
    }
}

/// An endpoint's event filter as stored: names joined by commas.
pub fn join_events(events: &[EventKind]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn split_events(stored: &str) -> Vec<EventKind> {
    stored.split(',').filter_map(EventKind::parse).collect()
}

/// States of a delivery.
pub mod state {
    pub const PENDING: &str = "pending";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
}
