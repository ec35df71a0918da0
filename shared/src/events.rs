//! The events a webhook endpoint can receive, and an endpoint's filter of them.

use std::fmt;
use std::str::FromStr;

use crate::status::{CampaignStatus, MessageStatus};
use crate::string_enum::{UnknownValue, string_enum};

string_enum!(
    /// An event a webhook delivery carries (`webhook_deliveries.event`).
    EventKind {
        MessageSent => "message.sent",
        MessageDelivered => "message.delivered",
        MessageRead => "message.read",
        MessageFailed => "message.failed",
        CampaignStarted => "campaign.started",
        CampaignPaused => "campaign.paused",
        CampaignResumed => "campaign.resumed",
        CampaignCompleted => "campaign.completed",
        CampaignCancelled => "campaign.cancelled",
        CampaignFailed => "campaign.failed",
        /// Sent by `test_webhook`; endpoints receive it whatever their filter.
        WebhookTest => "webhook.test",
    }
);

impl EventKind {
    /// The message events: what a new endpoint receives unless it chooses.
    pub const MESSAGE_EVENTS: [EventKind; 4] = [
        EventKind::MessageSent,
        EventKind::MessageDelivered,
        EventKind::MessageRead,
        EventKind::MessageFailed,
    ];

    /// The campaign events, chosen in an endpoint's filter.
    pub const CAMPAIGN_EVENTS: [EventKind; 6] = [
        EventKind::CampaignStarted,
        EventKind::CampaignPaused,
        EventKind::CampaignResumed,
        EventKind::CampaignCompleted,
        EventKind::CampaignCancelled,
        EventKind::CampaignFailed,
    ];

    /// Whether an endpoint may name this event in its filter.
    pub fn subscribable(self) -> bool {
        self != EventKind::WebhookTest
    }

    /// The event announcing a campaign's move from `from` to `to`, if any. Being
    /// queued is not announced; starting is.
    pub fn for_campaign(from: CampaignStatus, to: CampaignStatus) -> Option<EventKind> {
        use CampaignStatus::*;
        match (from, to) {
            (Paused, Running | Queued) => Some(EventKind::CampaignResumed),
            (_, Running) => Some(EventKind::CampaignStarted),
            (_, Paused) => Some(EventKind::CampaignPaused),
            (_, Completed) => Some(EventKind::CampaignCompleted),
            (_, Cancelled) => Some(EventKind::CampaignCancelled),
            (_, Failed) => Some(EventKind::CampaignFailed),
            (_, Draft | Scheduled | Queued) => None,
        }
    }

    /// The event announcing that a message reached `status`, if any.
    pub fn for_status(status: MessageStatus) -> Option<EventKind> {
        match status {
            MessageStatus::Sent => Some(EventKind::MessageSent),
            MessageStatus::Delivered => Some(EventKind::MessageDelivered),
            MessageStatus::Read => Some(EventKind::MessageRead),
            MessageStatus::Failed => Some(EventKind::MessageFailed),
            MessageStatus::Pending | MessageStatus::Sending | MessageStatus::Cancelled => None,
        }
    }
}

/// An endpoint's event filter (`webhook_endpoints.events`), stored as the event names
/// joined by commas. A stored name that is no event fails the read.
#[derive(Clone, Debug, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct EventFilter(pub Vec<EventKind>);

impl EventFilter {
    /// Every message event: the default of a new endpoint.
    pub fn all() -> EventFilter {
        EventFilter(EventKind::MESSAGE_EVENTS.to_vec())
    }

    pub fn contains(&self, event: EventKind) -> bool {
        self.0.contains(&event)
    }
}

impl fmt::Display for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, event) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(event.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for EventFilter {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.split(',')
            .filter(|name| !name.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(EventFilter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_and_refuse_unknown_names() {
        let f = EventFilter(vec![EventKind::MessageSent, EventKind::MessageFailed]);
        assert_eq!(f.to_string(), "message.sent,message.failed");
        assert_eq!(f.to_string().parse::<EventFilter>().unwrap(), f);
        assert!(
            "message.sent,message.bounced"
                .parse::<EventFilter>()
                .is_err()
        );
    }
}
