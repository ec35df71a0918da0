//! Campaign and message state machines. Every transition in SQL is a guarded update
//! `WHERE status IN (predecessors)`; these tables are the single place that says which.

use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} '{}'", stringify!($name), other)),
                }
            }
        }
    };
}

string_enum!(
    /// Where a campaign is in its life.
    CampaignStatus {
        Draft => "draft",
        Scheduled => "scheduled",
        Queued => "queued",
        Running => "running",
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
            Draft => &[],
            Scheduled => &[],
            Queued => &[Draft, Scheduled],
            Running => &[Queued],
            Completed => &[Running],
            Cancelled => &[Draft, Scheduled],
            Failed => &[Queued, Running],
        }
    }
}

impl MessageStatus {
    /// The states a message may move to `self` from.
    ///
    /// `Sending -> Pending` is the one step back: a transient provider error (or an
    /// expired claim) hands the message back for a scheduled retry. Provider callbacks
    /// only ever move forward along `sent -> delivered -> read`; a callback proves
    /// WhatsApp accepted the message, so it also settles one still `pending` or
    /// `sending` after a crash, and then it is not sent again.
    pub fn predecessors(self) -> &'static [MessageStatus] {
        use MessageStatus::*;
        match self {
            Pending => &[Sending],
            Sending => &[Pending],
            Sent => &[Pending, Sending],
            Delivered => &[Pending, Sending, Sent],
            Read => &[Pending, Sending, Sent, Delivered],
            Failed => &[Pending, Sending, Sent],
        }
    }

    /// Position along `pending -> sending -> sent -> delivered -> read`; `None` for
    /// `failed`, which ends the line.
    pub fn rank(self) -> Option<u8> {
        use MessageStatus::*;
        match self {
            Pending => Some(0),
            Sending => Some(1),
            Sent => Some(2),
            Delivered => Some(3),
            Read => Some(4),
            Failed => None,
        }
    }
}

/// The string forms of a set of statuses, for `IN (...)` filters.
pub fn names<T: Copy + fmt::Display>(statuses: &[T]) -> Vec<String> {
    statuses.iter().map(|s| s.to_string()).collect()
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
        assert!("paused".parse::<CampaignStatus>().is_err());
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
    fn only_drafts_and_scheduled_queue() {
        assert_eq!(
            CampaignStatus::Queued.predecessors(),
            &[CampaignStatus::Draft, CampaignStatus::Scheduled]
        );
    }
}
