//! A campaign's messages in id order from a cursor, with their contacts' names.
//!
//! Each query is one range of an index: `(campaign_id, id)` without a status filter,
//! `(campaign_id, status, id)` per status with one (the ranges are merged here), so a
//! page far into a million rows costs what the first one does. Ids start with their
//! creation second and then random bytes: a row added during a walk sorts after those
//! already there unless it was made in the same second (then either way). Rows that
//! existed when the walk began are each seen once, whatever is added meanwhile.

use std::collections::{BTreeSet, HashMap};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use waplify_shared::db::entities::{contact, message};
use waplify_shared::ids::{CampaignId, ContactId, MessageId};
use waplify_shared::status::MessageStatus;

use super::views::MessageRow;

/// Which messages a list or export includes.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Any of these statuses; all when empty.
    pub statuses: BTreeSet<MessageStatus>,
    pub error_code: Option<i32>,
}

/// Up to `limit` rows after `after`, and whether more follow.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    filter: &Filter,
    after: Option<&MessageId>,
    limit: u64,
) -> Result<(Vec<MessageRow>, bool), DbErr> {
    let mut found = Vec::new();
    if filter.statuses.is_empty() {
        found = range(db, campaign_id, filter, None, after, limit + 1).await?;
    } else {
        for status in &filter.statuses {
            found.extend(range(db, campaign_id, filter, Some(*status), after, limit + 1).await?);
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let more = found.len() as u64 > limit;
    found.truncate(limit as usize);
    Ok((with_names(db, found).await?, more))
}

/// One index range: the campaign's messages (of one status) after `after`, in id order.
async fn range<C: ConnectionTrait>(
    db: &C,
    campaign_id: &CampaignId,
    filter: &Filter,
    status: Option<MessageStatus>,
    after: Option<&MessageId>,
    limit: u64,
) -> Result<Vec<message::Model>, DbErr> {
    // Test messages are not recipients; they are few, so filtering them costs nothing.
    let mut q = message::Entity::find()
        .filter(message::Column::CampaignId.eq(campaign_id.clone()))
        .filter(message::is_recipient());
    if let Some(status) = status {
        q = q.filter(message::Column::Status.eq(status));
    }
    if let Some(code) = filter.error_code {
        q = q.filter(message::Column::ErrorCode.eq(code));
    }
    if let Some(after) = after {
        q = q.filter(message::Column::Id.gt(after.clone()));
    }
    q.order_by_asc(message::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The rows with their contacts' names, in one query for the page.
async fn with_names<C: ConnectionTrait>(
    db: &C,
    messages: Vec<message::Model>,
) -> Result<Vec<MessageRow>, DbErr> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: BTreeSet<ContactId> = messages.iter().map(|m| m.contact_id.clone()).collect();
    let names: HashMap<ContactId, Option<String>> = contact::Entity::find()
        .select_only()
        .columns([contact::Column::Id, contact::Column::Name])
        .filter(contact::Column::Id.is_in(ids))
        .into_tuple::<(ContactId, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(messages
        .into_iter()
        .map(|m| {
            let name = names.get(&m.contact_id).cloned().flatten();
            MessageRow::new(m, name)
        })
        .collect())
}
