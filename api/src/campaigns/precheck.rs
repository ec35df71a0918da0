//! The four checks a draft must pass before it is sent. Each failure is a
//! [`CampaignError::Precheck`]: a 400 whose message starts `Campaign cannot be sent: `.

use sea_orm::{ConnectionTrait, EntityTrait};

use waplify_shared::db::entities::{account, campaign, template, whatsapp_number};
use waplify_shared::status::{NumberStatus, TemplateStatus};

use super::error::CampaignError;

fn refuse(reason: impl Into<String>) -> CampaignError {
    CampaignError::Precheck(reason.into())
}

/// What the campaign will cost.
pub fn cost(total_contacts: i64, credits_per_message: i64) -> i64 {
    total_contacts.saturating_mul(credits_per_message)
}

pub fn insufficient(need: i64, have: i64) -> CampaignError {
    refuse(format!(
        "insufficient wallet credits (need {need}, have {have})"
    ))
}

/// Template approved, media present if the header needs it, number active, credits enough.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    campaign: &campaign::Model,
    credits_per_message: i64,
) -> Result<(), CampaignError> {
    let template = template::Entity::find_by_id(campaign.template_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| CampaignError::Unexpected("campaign without template".into()))?;
    if template.status != TemplateStatus::Approved {
        return Err(refuse("template is not APPROVED"));
    }
    if template.header_format.needs_media()
        && campaign.media_url.as_deref().is_none_or(str::is_empty)
    {
        return Err(refuse("media is missing"));
    }
    let number = whatsapp_number::Entity::find_by_id(campaign.number_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| CampaignError::Unexpected("campaign without number".into()))?;
    if number.status != NumberStatus::Active {
        return Err(refuse("WhatsApp account is inactive"));
    }
    let balance = account::Entity::find_by_id(campaign.account_id.clone())
        .one(db)
        .await?
        .map(|a| a.balance)
        .unwrap_or(0);
    let need = cost(campaign.total_contacts, credits_per_message);
    if balance < need {
        return Err(insufficient(need, balance));
    }
    Ok(())
}
