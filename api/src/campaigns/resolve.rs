//! Resolving what a new campaign names: its template (an APPROVED one of that name),
//! the variables the template needs, and the sending number.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use waplify_shared::db::entities::{template, whatsapp_number};
use waplify_shared::ids::{AccountId, NumberId};
use waplify_shared::status::{NumberStatus, TemplateStatus};

use super::error::CampaignError;
use crate::http::text::Text;

/// The account's template of that name, an APPROVED one if there is one.
pub async fn find_template<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    name: &str,
) -> Result<template::Model, CampaignError> {
    let candidates = template::Entity::find()
        .filter(template::Column::AccountId.eq(account.clone()))
        .filter(template::Column::Name.eq(name))
        .order_by_asc(template::Column::CreatedAt)
        .all(db)
        .await?;
    if let Some(t) = candidates
        .iter()
        .find(|t| t.status == TemplateStatus::Approved)
    {
        return Ok(t.clone());
    }
    match candidates.into_iter().next() {
        None => Err(CampaignError::Missing(format!(
            "Template '{name}' not found or does not belong to your account"
        ))),
        Some(t) => Err(CampaignError::Invalid(format!(
            "Template '{name}' is not approved. Status: {}",
            t.status
        ))),
    }
}

/// Checks template variables: every index 1..=count present and non-blank, no others.
pub fn variables(
    kind: &str,
    given: Option<HashMap<String, Text>>,
    count: i32,
) -> Result<BTreeMap<String, String>, CampaignError> {
    let given = given.unwrap_or_default();
    let field = format!("{kind}_data");
    let missing: Vec<String> = (1..=count.max(0))
        .map(|i| i.to_string())
        .filter(|i| given.get(i).is_none_or(|v| v.as_str().trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(CampaignError::Invalid(format!(
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
        return Err(CampaignError::Invalid(format!(
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
pub async fn resolve_number<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    requested: Option<Text>,
    template: &template::Model,
) -> Result<NumberId, CampaignError> {
    let owned = whatsapp_number::Entity::find()
        .filter(whatsapp_number::Column::AccountId.eq(account.clone()));
    if let Some(raw) = requested {
        let id =
            NumberId::parse(raw.as_str()).map_err(|e| CampaignError::Invalid(e.to_string()))?;
        return owned
            .filter(whatsapp_number::Column::Id.eq(id.clone()))
            .one(db)
            .await?
            .map(|n| n.id)
            .ok_or_else(|| {
                CampaignError::Missing(format!(
                    "WhatsApp number '{id}' not found or does not belong to your account"
                ))
            });
    }
    if let Some(id) = &template.number_id {
        return Ok(id.clone());
    }
    owned
        .filter(whatsapp_number::Column::Status.eq(NumberStatus::Active))
        .order_by_asc(whatsapp_number::Column::CreatedAt)
        .one(db)
        .await?
        .map(|n| n.id)
        .ok_or_else(|| {
            CampaignError::Invalid(
                "No active WhatsApp number: add one to this account or pass waba_phone_id".into(),
            )
        })
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
        assert_eq!(e.to_string(), "Missing body variables in 'body_data': 2, 3");
        let e = variables("body", vars(&[("1", "a"), ("2", " ")]), 2).unwrap_err();
        assert_eq!(e.to_string(), "Missing body variables in 'body_data': 2");
        let e = variables("header", vars(&[("1", "a"), ("01", "b")]), 1).unwrap_err();
        assert_eq!(
            e.to_string(),
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
