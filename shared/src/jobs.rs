//! Job types and the queues they travel on. Only this crate names queues, so the API
//! that pushes and the worker that pulls cannot disagree.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::ids::{CallbackId, CampaignId, DeliveryId, MessageId};

/// The queues, each under the configured prefix (`waplify:send`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueKind {
    Dispatch,
    Send,
    Retry,
    Webhook,
    Callback,
    /// Test messages (`send_test_message`), one job per message.
    Test,
}

impl QueueKind {
    pub const ALL: [QueueKind; 6] = [
        QueueKind::Dispatch,
        QueueKind::Send,
        QueueKind::Retry,
        QueueKind::Webhook,
        QueueKind::Callback,
        QueueKind::Test,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            QueueKind::Dispatch => "dispatch",
            QueueKind::Send => "send",
            QueueKind::Retry => "retry",
            QueueKind::Webhook => "webhook",
            QueueKind::Callback => "callback",
            QueueKind::Test => "test",
        }
    }

    /// The apalis queue name, which prefixes every key of the queue.
    pub fn name(self, prefix: &str) -> String {
        format!("{prefix}:{}", self.suffix())
    }
}

/// A job payload bound to its queue.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    const QUEUE: QueueKind;

    /// The campaign the job works on, for logs.
    fn campaign_id(&self) -> Option<&str> {
        None
    }

    /// The message the job works on, for logs.
    fn message_id(&self) -> Option<&str> {
        None
    }
}

/// Starts a queued campaign: `queued -> running`, then opens its send lanes.
/// Its task id is the `task_id` the send endpoint returned.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DispatchCampaign {
    pub campaign_id: CampaignId,
}

impl Job for DispatchCampaign {
    const QUEUE: QueueKind = QueueKind::Dispatch;

    fn campaign_id(&self) -> Option<&str> {
        Some(self.campaign_id.as_str())
    }
}

/// One step of a send lane: claim the next batch of due recipients of a campaign
/// in SQL, send them, record the outcomes, then push the lane's next step.
/// The batch is chosen by the claim, not carried in the job, so a job that runs
/// twice claims nothing twice.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendBatch {
    pub campaign_id: CampaignId,
    /// The campaign's first step: one message alone, so a campaign-fatal error (revoked
    /// token, missing template) costs one provider call. Its success opens the lanes.
    #[serde(default)]
    pub probe: bool,
    /// The generation of lanes this one belongs to (`campaigns.lane_epoch` when it was
    /// opened). Opening lanes again (a dispatch, a resume, the reconciler) starts a new
    /// generation, and older lanes end at their next step: lanes never pile up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
}

impl Job for SendBatch {
    const QUEUE: QueueKind = QueueKind::Send;

    fn campaign_id(&self) -> Option<&str> {
        Some(self.campaign_id.as_str())
    }
}

/// The delayed retry of one recipient after a transient provider error.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RetryMessage {
    pub campaign_id: CampaignId,
    pub message_id: MessageId,
}

impl Job for RetryMessage {
    const QUEUE: QueueKind = QueueKind::Retry;

    fn campaign_id(&self) -> Option<&str> {
        Some(self.campaign_id.as_str())
    }

    fn message_id(&self) -> Option<&str> {
        Some(self.message_id.as_str())
    }
}

/// One attempt at sending a test message (`send_test_message`): claim it in SQL, one
/// provider call, record the answer. A transient failure pushes the next attempt as
/// a new delayed job; the reconciler pushes one again if Redis lost it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendTest {
    pub campaign_id: CampaignId,
    pub message_id: MessageId,
}

impl Job for SendTest {
    const QUEUE: QueueKind = QueueKind::Test;

    fn campaign_id(&self) -> Option<&str> {
        Some(self.campaign_id.as_str())
    }

    fn message_id(&self) -> Option<&str> {
        Some(self.message_id.as_str())
    }
}

/// One attempt at delivering a webhook. `job_id` is the token the delivery row holds
/// while this job owns its next attempt: a stale or duplicated job finds another
/// token (or none) and does nothing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliverWebhook {
    pub delivery_id: DeliveryId,
    pub job_id: String,
}

impl Job for DeliverWebhook {
    const QUEUE: QueueKind = QueueKind::Webhook;
}

/// Applies one stored WhatsApp callback (statuses, replies, button taps).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApplyCallback {
    pub callback_id: CallbackId,
}

impl Job for ApplyCallback {
    const QUEUE: QueueKind = QueueKind::Callback;
}
