//! Creating a campaign: resolve the template and number, check variables and media,
//! then write the campaign, its contacts and one message per recipient in one
//! transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait};

use waplify_shared::clock::Clock;
use waplify_shared::db::entities::campaign;
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::{AccountId, CampaignId};
use waplify_shared::status::CampaignStatus;

use super::error::CampaignError;
use super::resolve::{find_template, resolve_number, variables};
use super::views::{CampaignState, CreateCampaignRequest, CreateCampaignResponse};
use super::{recipients, schedule};
use crate::http::envelope::Success;
use crate::http::text::Text;
use crate::http::time::Timestamp;

pub async fn create(
    db: &Db,
    clock: &Clock,
    account: &AccountId,
    req: CreateCampaignRequest,
) -> Result<CreateCampaignResponse, CampaignError> {
    let now = Utc::now();
    let template = find_template(db, account, req.template_name.as_str()).await?;
    let body_data = variables("body", req.body_data, template.body_vars)?;
    let header_data = variables("header", req.header_data, template.header_vars)?;
    let media_url = req
        .media_url
        .map(|m| m.into_string().trim().to_owned())
        .filter(|m| !m.is_empty());
    if template.header_format.needs_media() && media_url.is_none() {
        return Err(CampaignError::Invalid(
            "media_url is required for this template".into(),
        ));
    }
    let number_id = resolve_number(db, account, req.waba_phone_id, &template).await?;
    let (scheduled_at, timezone) =
        schedule::requested(req.scheduled_at, req.scheduled_timezone, clock.now())?;
    let send_window = req
        .send_window
        .map(|w| w.parse().map_err(CampaignError::Invalid))
        .transpose()?;
    let recipients = recipients::normalise(req.contacts);
    if recipients.valid.is_empty() {
        return Err(CampaignError::Invalid(
            "No valid contacts could be resolved from the provided phone numbers".into(),
        ));
    }
    let status = if scheduled_at.is_some() {
        CampaignStatus::Scheduled
    } else {
        CampaignStatus::Draft
    };
    let id = CampaignId::generate();
    let name = req.name.into_string();
    let row = campaign::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account.clone()),
        template_id: Set(template.id),
        number_id: Set(number_id),
        name: Set(name.clone()),
        description: Set(req.description.map(Text::into_string)),
        body_data: Set(json(&body_data)),
        header_data: Set(json(&header_data)),
        media_url: Set(media_url),
        filename: Set(req
            .filename
            .map(Text::into_string)
            .filter(|f| !f.trim().is_empty())),
        status: Set(status),
        scheduled_at: Set(scheduled_at),
        scheduled_timezone: Set(timezone),
        send_window: Set(send_window),
        total_contacts: Set(recipients.valid.len() as i64),
        ..blank(now)
    };
    let txn = begin_write(db).await?;
    campaign::Entity::insert(row)
        .exec_without_returning(&txn)
        .await?;
    let added = recipients::attach(&txn, account, &id, &recipients.valid, now).await?;
    if added != recipients.valid.len() as u64 {
        return Err(CampaignError::Unexpected(format!(
            "expected {} messages, inserted {added}",
            recipients.valid.len()
        )));
    }
    txn.commit().await?;
    Ok(CreateCampaignResponse {
        status: Success::Success,
        message: "Campaign created successfully".into(),
        campaign_id: id.into_string(),
        name,
        status_value: CampaignState::from(status),
        total_contacts: recipients.valid.len() as i64,
        invalid_phones: recipients.invalid,
        timestamp: Timestamp::now(),
    })
}

/// The columns every new campaign starts with.
fn blank(now: DateTime<Utc>) -> campaign::ActiveModel {
    campaign::ActiveModel {
        task_id: Set(None),
        credits_reserved: Set(0),
        credits_refunded: Set(0),
        error_code: Set(None),
        error_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        queued_at: Set(None),
        started_at: Set(None),
        completed_at: Set(None),
        settled_at: Set(None),
        paused_at: Set(None),
        cancelled_at: Set(None),
        ..Default::default()
    }
}

fn json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).expect("a string map serialises")
}
