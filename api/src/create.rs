//! Creating a campaign: resolve the template and number, check variables and media,
//! then write the campaign, its contacts and one message per recipient in one
//! transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use waplify_shared::db::entities::{campaign, template, whatsapp_number};
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::{AccountId, CampaignId, NumberId};
use waplify_shared::status::{CampaignStatus, HeaderFormat, NumberStatus, TemplateStatus};

use crate::errors::ApiError;
use crate::recipients;
use crate::text::Text;
use crate::views::{CampaignState, CreateCampaignRequest, CreateCampaignResponse, Success};

pub async fn create(
    db: &Db,
    account: &AccountId,
    req: CreateCampaignRequest,
) -> Result<CreateCampaignResponse, ApiError> {
    let now = Utc::now();
    let name = req.name.into_string();
    let template_name = req.template_name.into_string();
    let template = find_template(db, account, &template_name).await?;
    let body_data = variables("body", req.body_data, template.body_vars)?;
    let header_data = variables("header", req.header_data, template.header_vars)?;
    let media_url = req
        .media_url
        .map(|m| m.into_string().trim().to_owned())
        .filter(|m| !m.is_empty());
    let header: HeaderFormat = template.header_format.parse().map_err(ApiError::internal)?;
    if header.needs_media() && media_url.is_none() {
        return Err(ApiError::bad_request(
            "media_url is required for this template",
        ));
    }
    let number_id = resolve_number(db, account, req.waba_phone_id, &template).await?;

    let scheduled_at = match req.scheduled_at {
        Some(at) if at.with_timezone(&Utc) <= now => {
            return Err(ApiError::bad_request("scheduled_at must be in the future"));
        }
        other => other.map(|at| at.with_timezone(&Utc)),
    };
    let timezone = req
        .scheduled_timezone
        .map(|t| t.into_string().trim().to_owned())
        .filter(|t| !t.is_empty());
    if let Some(tz) = &timezone
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        return Err(ApiError::bad_request(format!(
            "scheduled_timezone '{tz}' is not an IANA time zone name"
        )));
    }

    let recipients = recipients::normalise(req.contacts);
    if recipients.valid.is_empty() {
        return Err(ApiError::bad_request(
            "No valid contacts could be resolved from the provided phone numbers",
        ));
    }

    let status = if scheduled_at.is_some() {
        CampaignStatus::Scheduled
    } else {
        CampaignStatus::Draft
    };
    let id = CampaignId::generate();
    let txn = begin_write(db).await?;
    campaign::Entity::insert(campaign::ActiveModel {
        id: Set(id.to_string()),
        account_id: Set(account.to_string()),
        template_id: Set(template.id.clone()),
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
        status: Set(status.to_string()),
        scheduled_at: Set(scheduled_at),
        scheduled_timezone: Set(timezone),
        task_id: Set(None),
        total_contacts: Set(recipients.valid.len() as i64),
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
    })
    .exec_without_returning(&txn)
    .await?;
    let added =
        recipients::attach(&txn, account.as_str(), id.as_str(), &recipients.valid, now).await?;
    if added != recipients.valid.len() as u64 {
        return Err(ApiError::internal(format!(
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
        timestamp: Utc::now(),
    })
}

/// The account's template of that name, an APPROVED one if there is one.
async fn find_template<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    name: &str,
) -> Result<template::Model, ApiError> {
    let candidates = template::Entity::find()
        .filter(template::Column::AccountId.eq(account.as_str()))
        .filter(template::Column::Name.eq(name))
        .order_by_asc(template::Column::CreatedAt)
        .all(db)
        .await?;
    let approved = TemplateStatus::Approved.as_str();
    if let Some(t) = candidates.iter().find(|t| t.status == approved) {
        return Ok(t.clone());
    }
    match candidates.into_iter().next() {
        None => Err(ApiError::not_found(format!(
            "Template '{name}' not found or does not belong to your account"
        ))),
        Some(t) => Err(ApiError::bad_request(format!(
            "Template '{name}' is not approved. Status: {}",
            t.status
        ))),
    }
}

/// Checks template variables: every index 1..=count present and non-blank, no others.
fn variables(
    kind: &str,
    given: Option<HashMap<String, Text>>,
    count: i32,
) -> Result<BTreeMap<String, String>, ApiError> {
    let given = given.unwrap_or_default();
    let field = format!("{kind}_data");
    let missing: Vec<String> = (1..=count.max(0))
        .map(|i| i.to_string())
        .filter(|i| given.get(i).is_none_or(|v| v.as_str().trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Missing {kind} variables in '{field}': {}",
            missing.join(", ")
        )));
    }
    let mut unknown: Vec<&String> = given
        .keys()
        .filter(|k| {
            k.parse::<i32>()
                .ok()
                .filter(|i| (1..=count).contains(i))
                .map(|i| i.to_string())
                .as_ref()
                != Some(*k)
        })
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "Unknown {kind} variables in '{field}': {} (the template has {count})",
            names.join(", ")
        )));
    }
    Ok(given
        .into_iter()
        .map(|(k, v)| (k, v.into_string()))
        .collect())
}

/// The sending number: the one asked for, else the template's, else the account's
/// first active one.
async fn resolve_number<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    requested: Option<Text>,
    template: &template::Model,
) -> Result<String, ApiError> {
    let owned = whatsapp_number::Entity::find()
        .filter(whatsapp_number::Column::AccountId.eq(account.as_str()));
    if let Some(raw) = requested {
        let id = NumberId::parse(raw.as_str()).map_err(|e| ApiError::bad_request(e.to_string()))?;
        return owned
            .filter(whatsapp_number::Column::Id.eq(id.as_str()))
            .one(db)
            .await?
            .map(|n| n.id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "WhatsApp number '{id}' not found or does not belong to your account"
                ))
            });
    }
    if let Some(id) = &template.number_id {
        return Ok(id.clone());
    }
    owned
        .filter(whatsapp_number::Column::Status.eq(NumberStatus::Active.as_str()))
        .order_by_asc(whatsapp_number::Column::CreatedAt)
        .one(db)
        .await?
        .map(|n| n.id)
        .ok_or_else(|| {
            ApiError::bad_request(
                "No active WhatsApp number: add one to this account or pass waba_phone_id",
            )
        })
}

fn json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).expect("a string map serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Option<HashMap<String, Text>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Text(v.to_string())))
                .collect(),
        )
    }

    #[test]
    fn names_missing_and_unknown_variables() {
        let e = variables("body", vars(&[("1", "a")]), 3).unwrap_err();
        assert_eq!(e.message, "Missing body variables in 'body_data': 2, 3");
        let e = variables("body", vars(&[("1", "a"), ("2", " ")]), 2).unwrap_err();
        assert_eq!(e.message, "Missing body variables in 'body_data': 2");
        let e = variables("header", vars(&[("1", "a"), ("01", "b")]), 1).unwrap_err();
        assert_eq!(
            e.message,
            "Unknown header variables in 'header_data': 01 (the template has 1)"
        );
        assert_eq!(variables("body", None, 0).unwrap().len(), 0);
        assert_eq!(
            variables("body", vars(&[("2", "b"), ("1", "a")]), 2)
                .unwrap()
                .len(),
            2
        );
    }
}
