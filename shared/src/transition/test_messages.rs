//! What a test message's move adds: a test message is paid for on its own when it is
//! accepted (`credits_charged`), so when it fails, the same transaction gives that
//! charge back through the ledger, once (`refunded_at`), whichever path failed it (the
//! provider's answer, a status callback, giving up after the hold).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use crate::db::entities::{campaign, message};
use crate::ids::{AccountId, CampaignId, MessageId};
use crate::ledger;
use crate::status::MessageStatus;

/// Refunds these failed test messages not refunded yet. Returns the credits given back.
pub(super) async fn refund_failed<C: ConnectionTrait>(
    db: &C,
    ids: &[MessageId],
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut mark = Query::update();
    mark.table(message::Entity)
        .value(message::Column::RefundedAt, now)
        .and_where(message::Column::Id.is_in(ids.iter().cloned()))
        .and_where(message::is_test())
        .and_where(message::Column::Status.eq(MessageStatus::Failed))
        .and_where(message::Column::RefundedAt.is_null())
        .and_where(Expr::col(message::Column::CreditsCharged).gt(0))
        .returning(Query::returning().columns([
            message::Column::Id,
            message::Column::CampaignId,
            message::Column::CreditsCharged,
        ]));
    let mut total = 0;
    for row in db.query_all(&mark).await? {
        let id: MessageId = row.try_get_by_index(0)?;
        let campaign_id: CampaignId = row.try_get_by_index(1)?;
        let amount: i64 = row.try_get_by_index(2)?;
        let account: Option<AccountId> = campaign::Entity::find_by_id(campaign_id.clone())
            .select_only()
            .column(campaign::Column::AccountId)
            .into_tuple()
            .one(db)
            .await?;
        let Some(account_id) = account else {
            continue;
        };
        let entry = ledger::Entry {
            account_id: &account_id,
            campaign_id: Some(&campaign_id),
            kind: ledger::Kind::Refund,
            amount,
            note: Some(format!("test message {id} failed")),
        };
        ledger::apply(db, entry, now).await?;
        total += amount;
    }
    Ok(total)
}
