//! Which failed recipients of a campaign a retry sends again (`retry_failed_messages`).
//!
//! Never one whose outcome is unknown: its last call timed out or was cut short and no
//! status callback settled it, so WhatsApp may have delivered it, and a retry could
//! send it twice. By default, only those whose last error is not permanent for them:
//! never accepted by WhatsApp, failed with a transient code they ran out of attempts
//! on (or a 429 / 5xx whatever the code, or no code at all: a network error), or with
//! a campaign-fatal code whose cause may have been fixed since (a revoked token).
//! Failures WhatsApp reported after accepting the message (`131049`, `131026` in a
//! status callback) and recipient-permanent codes are picked only by naming their
//! codes.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use super::codes::{UNKNOWN_OUTCOME, retried_by_default};
use crate::db::entities::message;
use crate::ids::{CampaignId, MessageId};
use crate::status::{MessageStatus, ProviderOutcome};

/// How a retry picks its recipients. Stored on the campaign (`retry_pick`, as JSON:
/// `"default"` or `{"codes":[…]}`) while its recipients are moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// Those whose last error is not permanent for them (the module's rule).
    Default,
    /// Those whose last error has one of these codes.
    Codes(Vec<i32>),
}

impl Pick {
    /// The form stored in `campaigns.retry_pick`.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a pick serializes")
    }

    /// A stored pick; `None` for one this version cannot read.
    pub fn from_stored(s: &str) -> Option<Pick> {
        serde_json::from_str(s).ok()
    }
}

/// How many failed messages of the campaign `pick` chooses.
pub async fn count<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    pick: &Pick,
) -> Result<u64, DbErr> {
    let mut q = chosen_query(campaign_id, pick);
    q.clear_selects()
        .expr(Expr::col(message::Column::Id).count());
    let n = match db.query_one(&q).await? {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The ids of the first `limit` failed messages `pick` chooses after `after`, in id
/// order (the order their rows are locked in).
pub async fn chosen<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    pick: &Pick,
    after: Option<&MessageId>,
    limit: u64,
) -> Result<Vec<MessageId>, DbErr> {
    let mut q = chosen_query(campaign_id, pick);
    if let Some(after) = after {
        q.and_where(message::Column::Id.gt(after.clone()));
    }
    q.order_by(message::Column::Id, Order::Asc).limit(limit);
    db.query_all(&q)
        .await?
        .into_iter()
        .map(|row| row.try_get_by_index::<MessageId>(0))
        .collect()
}

/// The campaign's failed recipients `pick` chooses, along the index on (campaign,
/// status, id).
fn chosen_query(campaign_id: &CampaignId, pick: &Pick) -> SelectStatement {
    let mut q = Query::select();
    q.column(message::Column::Id)
        .from(message::Entity)
        .and_where(message::Column::CampaignId.eq(campaign_id.clone()))
        .and_where(message::Column::Status.eq(MessageStatus::Failed))
        .and_where(message::is_recipient())
        .and_where(outcome_known());
    match pick {
        Pick::Codes(codes) => {
            q.and_where(message::Column::ErrorCode.is_in(codes.iter().copied()));
        }
        Pick::Default => {
            q.and_where(message::Column::Wamid.is_null())
                .and_where(not_permanent());
        }
    }
    q
}

/// Neither given up with its outcome unknown, nor failed (a campaign stopping) while
/// its last call's outcome was unknown.
fn outcome_known() -> SimpleExpr {
    let not_given_up = message::Column::ErrorMessage
        .is_null()
        .or(message::Column::ErrorMessage.not_like(format!("{UNKNOWN_OUTCOME}%")));
    // The message's latest call, by the index on (message_id, id).
    let last_call = Expr::cust(format!(
        "COALESCE((SELECT pc.outcome FROM provider_calls pc \
         WHERE pc.message_id = messages.id ORDER BY pc.id DESC LIMIT 1), '') <> '{}'",
        ProviderOutcome::Unknown.as_str()
    ));
    not_given_up.and(last_call)
}

/// A last error that may go away: no code, a transient or campaign-fatal code, or a
/// final call answered 429 / 5xx. Only the message's latest call counts: an earlier
/// 503 does not make a later permanent failure retryable.
fn not_permanent() -> SimpleExpr {
    let last_throttled_or_down = Expr::cust(format!(
        "COALESCE((SELECT CASE WHEN pc.outcome = '{}' AND (pc.http_status = 429 \
         OR pc.http_status >= 500) THEN 1 ELSE 0 END FROM provider_calls pc \
         WHERE pc.message_id = messages.id ORDER BY pc.id DESC LIMIT 1), 0) = 1",
        ProviderOutcome::Failed.as_str()
    ));
    message::Column::ErrorCode
        .is_null()
        .or(message::Column::ErrorCode.is_in(retried_by_default()))
        .or(last_throttled_or_down)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pick_reads_back_as_stored() {
        for pick in [Pick::Default, Pick::Codes(vec![131049, 131000])] {
            assert_eq!(Pick::from_stored(&pick.to_stored()), Some(pick));
        }
        assert_eq!(Pick::Default.to_stored(), r#""default""#);
        assert_eq!(Pick::Codes(vec![1]).to_stored(), r#"{"codes":[1]}"#);
        assert_eq!(Pick::from_stored("garbage"), None);
    }
}
