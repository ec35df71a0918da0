//! The four checks a campaign must pass before it is sent: template approved, media
//! present if the header needs it, number active, credits enough. Each failure is a
//! reason that follows `Campaign cannot be sent: `.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use crate::db::entities::{account, campaign, template, whatsapp_number};
use crate::status::{NumberStatus, TemplateStatus};

/// What the campaign will cost.
pub fn cost(total_contacts: i64, credits_per_message: i64) -> i64 {
    total_contacts.saturating_mul(credits_per_message)
}

pub fn insufficient(need: i64, have: i64) -> String {
    format!("insufficient wallet credits (need {need}, have {have})")
}

/// `Ok(Err(reason))` when a check fails.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    campaign: &campaign::Model,
    credits_per_message: i64,
) -> Result<Result<(), String>, DbErr> {
    let need = cost(campaign.total_contacts, credits_per_message);
    check_for(db, campaign, need).await
}

/// The same checks for a send that costs `need` credits (one test message).
pub async fn check_for<C: ConnectionTrait>(
    db: &C,
    campaign: &campaign::Model,
    need: i64,
) -> Result<Result<(), String>, DbErr> {
    let template = template::Entity::find_by_id(campaign.template_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("template {}", campaign.template_id)))?;
    if template.status != TemplateStatus::Approved {
        return Ok(Err("template is not APPROVED".into()));
    }
    if template.header_format.needs_media()
        && campaign.media_url.as_deref().is_none_or(str::is_empty)
    {
        return Ok(Err("media is missing".into()));
    }
    let number = whatsapp_number::Entity::find_by_id(campaign.number_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("number {}", campaign.number_id)))?;
    if number.status != NumberStatus::Active {
        return Ok(Err("WhatsApp account is inactive".into()));
    }
    let balance = account::Entity::find_by_id(campaign.account_id.clone())
        .one(db)
        .await?
        .map(|a| a.balance)
        .unwrap_or(0);
    if balance < need {
        return Ok(Err(insufficient(need, balance)));
    }
    Ok(Ok(()))
}
