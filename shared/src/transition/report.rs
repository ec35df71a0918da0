//! A WhatsApp status as the worker reads it, what applying one did, and the steps a
//! status moves a message through.

use chrono::{DateTime, Utc};

use crate::ids::{CampaignId, MessageId};
use crate::status::MessageStatus;

/// A status callback, parsed.
#[derive(Clone, Debug)]
pub struct Report {
    pub wamid: String,
    pub to: MessageStatus,
    pub at: DateTime<Utc>,
    /// Our message id, from `biz_opaque_callback_data`.
    pub message_id: Option<MessageId>,
    /// The send round of that field (`ids::send_ref`): 0 for a first send.
    pub round: i32,
    /// The number the notification is for (`metadata.phone_number_id`).
    pub number: Option<String>,
    /// Who the message went to (`recipient_id`).
    pub recipient: Option<String>,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
}

/// What applying a report did.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// Moved `from -> to`; `campaign_id` may now be complete.
    Moved {
        campaign_id: CampaignId,
        from: MessageStatus,
    },
    /// Already there or past it.
    Unchanged,
    /// No message of ours has this wamid or id.
    Unknown,
    /// It names a message of ours, but came for another number (or, by our id, for
    /// another recipient): ignored.
    Foreign,
}

/// The statuses a message passes through from `from` to `to`, or `None` when the
/// report is not ahead of it. `failed` is reached directly from any status before
/// `delivered`; nothing leaves `failed`.
pub fn steps(from: MessageStatus, to: MessageStatus) -> Option<Vec<MessageStatus>> {
    use MessageStatus::*;
    if !to.predecessors().contains(&from) {
        return None;
    }
    if to == Failed {
        return Some(vec![Failed]);
    }
    let start = from.rank()?.max(Sending.rank()?);
    let end = to.rank()?;
    Some(
        [Sent, Delivered, Read]
            .into_iter()
            .filter(|s| s.rank().is_some_and(|r| r > start && r <= end))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn jumps_fill_the_gap_and_nothing_goes_back() {
        assert_eq!(steps(Sent, Read), Some(vec![Delivered, Read]));
        assert_eq!(steps(Sending, Delivered), Some(vec![Sent, Delivered]));
        assert_eq!(steps(Pending, Read), Some(vec![Sent, Delivered, Read]));
        assert_eq!(steps(Sent, Sent), None);
        assert_eq!(steps(Read, Delivered), None);
        assert_eq!(steps(Delivered, Sent), None);
        assert_eq!(steps(Sent, Failed), Some(vec![Failed]));
        assert_eq!(steps(Delivered, Failed), None);
        assert_eq!(steps(Failed, Read), None);
        assert_eq!(steps(Failed, Failed), None);
    }
}
