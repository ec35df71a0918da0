//! Campaign and message state machines. Every transition in SQL is a guarded update
//! `WHERE status IN (predecessors)`; these tables are the single place that says which.

use crate::string_enum::string_enum;

string_enum!(
    /// Where a campaign is in its life.
    CampaignStatus {
        Draft => "draft",
        Scheduled => "scheduled",
        Queued => "queued",
        Running => "running",
        /// Stopped by hand: nothing is claimed until it is resumed.
        Paused => "paused",
        Completed => "completed",
        Cancelled => "cancelled",
        Failed => "failed",
    }
);

string_enum!(
    /// Where one recipient's message is.
    MessageStatus {
        Pending => "pending",
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
        /// Never sent: its campaign was cancelled first.
        Cancelled => "cancelled",
    }
);

string_enum!(
    /// Who wrote a `message_events` row: the part of the system that made the step.
    HistorySource {
        /// A send lane: claim, the provider's answer, a stopped campaign's leftovers.
        Worker => "worker",
        /// A WhatsApp status callback.
        Callback => "callback",
        /// The reconciler: an expired claim handed back, a cancelled campaign's stragglers.
        Reconciler => "reconciler",
        /// A customer's request through the API (cancel, retry of failed recipients).
        Operator => "operator",
    }
);

string_enum!(
    /// Meta's review state of a template.
    TemplateStatus {
        Approved => "APPROVED",
        Pending => "PENDING",
        Rejected => "REJECTED",
        Paused => "PAUSED",
        Disabled => "DISABLED",
    }
);

string_enum!(
    /// The header of a template; the last three need a media URL.
    HeaderFormat {
        None => "NONE",
        Text => "TEXT",
        Image => "IMAGE",
        Video => "VIDEO",
        Document => "DOCUMENT",
    }
);

string_enum!(
    /// Whether a WhatsApp number may send.
    NumberStatus {
        Active => "active",
        Inactive => "inactive",
    }
);

string_enum!(
    /// What one provider call came to (`provider_calls.outcome`).
    ProviderOutcome {
        /// WhatsApp accepted the message.
        Sent => "sent",
        /// A transient error: the recipient is tried again later.
        Retry => "retry",
        /// No known outcome (a timeout, an unreadable 2xx): held for a status callback.
        Unknown => "unknown",
        /// This recipient cannot be sent to.
        Failed => "failed",
        /// No recipient of the campaign can be sent to; the campaign stops.
        Fatal => "fatal",
    }
);

string_enum!(
    /// Where a delivery is (`webhook_deliveries.state`).
    DeliveryState {
        /// Waiting for its first or next attempt.
        Pending => "pending",
        /// An attempt got a 2xx.
        Delivered => "delivered",
        /// Refused with a non-retryable status, or out of retries.
        Failed => "failed",
        /// The endpoint was deleted first.
        Cancelled => "cancelled",
    }
);

impl HeaderFormat {
    pub fn needs_media(self) -> bool {
        matches!(
            self,
            HeaderFormat::Image | HeaderFormat::Video | HeaderFormat::Document
        )
    }
}

impl CampaignStatus {
    /// The states a campaign may move to `self` from.
    pub fn predecessors(self) -> &'static [CampaignStatus] {
        use CampaignStatus::*;
        match self {
            // `update_campaign` moves between these two by setting or clearing the time.
            Draft => &[Scheduled],
            Scheduled => &[Draft],
            // From `paused`: resumed before it ever started. From `completed` and
            // `failed`: its failed recipients sent again (`retry_failed_messages`).
            Queued => &[Draft, Scheduled, Paused, Completed, Failed],
            Running => &[Queued, Paused],
            Paused => &[Queued, Running],
            Completed => &[Running],
            Cancelled => &[Draft, Scheduled, Queued, Running, Paused],
            // From `paused`: a campaign-fatal answer to a call still in flight.
            Failed => &[Scheduled, Queued, Running, Paused],
        }
    }
}

impl MessageStatus {
    /// The states a message may move to `self` from.
    ///
    /// `Sending -> Pending` is a step back: a transient provider error (or an expired
    /// claim) hands the message back for a scheduled retry. `Failed -> Pending` is the
    /// other, and only by request: a finished campaign's failed recipients sent again
    /// (`sending::retry`). Provider callbacks
    /// only ever move forward along `sent -> delivered -> read`; a callback proves
    /// WhatsApp accepted the message, so it also settles one still `pending` or
    /// `sending` after a crash, and then it is not sent again.
    pub fn predecessors(self) -> &'static [MessageStatus] {
        use MessageStatus::*;
        match self {
            Pending => &[Sending, Failed],
            Sending => &[Pending],
            Sent => &[Pending, Sending],
            Delivered => &[Pending, Sending, Sent],
            Read => &[Pending, Sending, Sent, Delivered],
            Failed => &[Pending, Sending, Sent],
            Cancelled => &[Pending],
        }
    }

    /// Position along `pending -> sending -> sent -> delivered -> read`; `None` for
    /// `failed` and `cancelled`, which end the line.
    pub fn rank(self) -> Option<u8> {
        use MessageStatus::*;
        match self {
            Pending => Some(0),
            Sending => Some(1),
            Sent => Some(2),
            Delivered => Some(3),
            Read => Some(4),
            Failed | Cancelled => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_status() {
        for s in CampaignStatus::ALL {
            assert_eq!(s.as_str().parse::<CampaignStatus>().unwrap(), *s);
        }
        for s in MessageStatus::ALL {
            assert_eq!(s.as_str().parse::<MessageStatus>().unwrap(), *s);
        }
        assert!("pausd".parse::<CampaignStatus>().is_err());
        assert_eq!(
            "pending".parse::<DeliveryState>().unwrap(),
            DeliveryState::Pending
        );
        assert!("pendng".parse::<DeliveryState>().is_err());
    }

    #[test]
    fn callbacks_never_move_a_message_backwards() {
        use MessageStatus::*;
        assert!(!Sent.predecessors().contains(&Delivered));
        assert!(!Delivered.predecessors().contains(&Read));
        assert!(!Pending.predecessors().contains(&Sent));
        assert!(Failed.predecessors().contains(&Sent));
    }

    #[test]
    fn a_finished_campaign_only_queues_again_and_a_cancelled_one_never_moves() {
        use CampaignStatus::*;
        assert_eq!(
            Queued.predecessors(),
            &[Draft, Scheduled, Paused, Completed, Failed]
        );
        for to in CampaignStatus::ALL {
            assert!(
                !to.predecessors().contains(&Cancelled),
                "cancelled -> {to:?}"
            );
            for ended in [Completed, Failed] {
                let allowed = *to == Queued;
                assert_eq!(
                    to.predecessors().contains(&ended),
                    allowed,
                    "{ended:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn a_failed_message_only_goes_back_to_pending() {
        use MessageStatus::*;
        for to in MessageStatus::ALL {
            assert_eq!(
                to.predecessors().contains(&Failed),
                *to == Pending,
                "{to:?}"
            );
        }
    }
}
