//! One group of a claim's results moved out of `sending`, fenced by the claim token.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{ConnectionTrait, DbErr};

use waplify_shared::db::entities::message;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::status::{HistorySource, MessageStatus};
use waplify_shared::transition::{self, Detail, MessageMove, Target};

/// What becomes of a result that arrives after its lease expired, while its message
/// waits in `pending` under the same claim token (see `runtime::leases`).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Late {
    /// It lands: WhatsApp's answer is known, so the message is not sent again.
    Land,
    /// The message stays where the expiry put it: `pending`, held.
    Stay,
}

/// Moves a group of claimed messages out of `sending`, with one history detail each.
pub(super) struct MoveOut<'a> {
    pub campaign_id: &'a CampaignId,
    pub claim: &'a str,
    pub to: MessageStatus,
    pub details: HashMap<MessageId, String>,
}

impl MoveOut<'_> {
    pub async fn apply<C: ConnectionTrait>(
        self,
        db: &C,
        sets: Vec<(message::Column, SimpleExpr)>,
        now: DateTime<Utc>,
        late: Late,
    ) -> Result<Vec<MessageId>, DbErr> {
        let mut moved = self
            .from(
                db,
                MessageStatus::Sending,
                self.details.clone(),
                sets.clone(),
                now,
            )
            .await?;
        if late == Late::Land && moved.len() < self.details.len() {
            let on_time: HashSet<&MessageId> = moved.iter().collect();
            let rest: HashMap<MessageId, String> = self
                .details
                .iter()
                .filter(|(id, _)| !on_time.contains(id))
                .map(|(id, d)| (id.clone(), d.clone()))
                .collect();
            let late = self
                .from(db, MessageStatus::Pending, rest, sets, now)
                .await?;
            moved.extend(late);
        }
        Ok(moved)
    }

    /// The fenced move of these messages from one status.
    async fn from<C: ConnectionTrait>(
        &self,
        db: &C,
        from: MessageStatus,
        details: HashMap<MessageId, String>,
        sets: Vec<(message::Column, SimpleExpr)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>, DbErr> {
        if details.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<MessageId> = details.keys().cloned().collect();
        let moved = transition::messages(
            db,
            MessageMove {
                campaign_id: self.campaign_id,
                target: Target::Ids(&ids),
                from,
                to: self.to,
                claim: Some(self.claim),
                sets,
                when: Vec::new(),
                detail: Detail::PerId(details),
                source: HistorySource::Worker,
            },
            now,
        )
        .await?;
        Ok(moved.into_iter().map(|m| m.id).collect())
    }
}
