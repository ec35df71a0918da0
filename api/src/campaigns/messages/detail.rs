//! One recipient's message with its full history and every provider call. The message
//! must be of the campaign named in the path, and the campaign of the caller's account:
//! anything else is not found.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use waplify_shared::db::entities::{contact, message, message_event, provider_call};
use waplify_shared::ids::{AccountId, CampaignId, MessageId};

use super::views::{MessageDetail, MessageRow};
use crate::campaigns::error::CampaignError;
use crate::campaigns::lookup;

pub async fn detail<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    campaign_id: &CampaignId,
    message_id: &MessageId,
) -> Result<MessageDetail, CampaignError> {
    lookup::campaign(db, account, campaign_id).await?;
    let m = message::Entity::find_by_id(message_id.clone())
        .filter(message::Column::CampaignId.eq(campaign_id.clone()))
        .one(db)
        .await?
        .ok_or(CampaignError::MessageNotFound)?;
    let name = contact::Entity::find_by_id(m.contact_id.clone())
        .one(db)
        .await?
        .and_then(|c| c.name);
    let history = message_event::Entity::find()
        .filter(message_event::Column::MessageId.eq(message_id.clone()))
        .order_by_asc(message_event::Column::Id)
        .all(db)
        .await?;
    let calls = provider_call::Entity::find()
        .filter(provider_call::Column::MessageId.eq(message_id.clone()))
        .order_by_asc(provider_call::Column::Id)
        .all(db)
        .await?;
    Ok(MessageDetail {
        test: m.test,
        row: MessageRow::new(m, name),
        history: history.into_iter().map(Into::into).collect(),
        provider_calls: calls.into_iter().map(Into::into).collect(),
    })
}
