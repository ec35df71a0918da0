//! Accounts and their credits (their keys are in `keys`).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde::Serialize;

use super::keys::{KeyInfo, insert_key};
use super::{AdminError, existing_account, refuse};
use crate::apikey::ApiKey;
use crate::db::entities::{account, api_key, template, whatsapp_number};
use crate::db::{Db, begin_write};
use crate::ids::{AccountId, NumberId, TemplateId};
use crate::ledger;
use crate::status::{HeaderFormat, NumberStatus, TemplateStatus};

#[derive(Debug, Serialize)]
pub struct AccountCreated {
    pub account_id: AccountId,
    /// Shown only here; only its hash is stored.
    pub api_key: String,
}

#[derive(Debug, Serialize)]
pub struct CreditsAdded {
    pub account_id: AccountId,
    pub added: i64,
    pub balance: i64,
}

#[derive(Debug, Serialize)]
pub struct AccountShown {
    pub account_id: AccountId,
    pub name: String,
    pub balance: i64,
    pub created_at: DateTime<Utc>,
    pub keys: Vec<KeyInfo>,
    pub numbers: Vec<NumberInfo>,
    pub templates: Vec<TemplateInfo>,
}

#[derive(Debug, Serialize)]
pub struct NumberInfo {
    pub waba_phone_id: NumberId,
    pub phone_number_id: String,
    pub display_phone: Option<String>,
    pub status: NumberStatus,
    pub mps: i32,
}

#[derive(Debug, Serialize)]
pub struct TemplateInfo {
    pub template_id: TemplateId,
    pub name: String,
    pub language: String,
    pub status: TemplateStatus,
    pub category: String,
    pub header: HeaderFormat,
    pub body_vars: i32,
    pub header_vars: i32,
    pub waba_phone_id: Option<NumberId>,
}

pub async fn account_create(
    db: &Db,
    name: &str,
    credits: i64,
) -> Result<AccountCreated, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 255 {
        return refuse("--name must be 1 to 255 characters");
    }
    if credits < 0 {
        return refuse("--credits must not be negative");
    }
    let now = Utc::now();
    let id = AccountId::generate();
    let key = ApiKey::generate();
    let txn = begin_write(db).await?;
    account::Entity::insert(account::ActiveModel {
        id: Set(id.clone()),
        name: Set(name.to_owned()),
        balance: Set(0),
        created_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    insert_key(&txn, &id, &key, None).await?;
    if credits > 0 {
        top_up(&txn, &id, credits, "initial credits").await?;
    }
    txn.commit().await?;
    Ok(AccountCreated {
        account_id: id,
        api_key: key.expose().to_owned(),
    })
}

async fn top_up<C: ConnectionTrait>(
    db: &C,
    account: &AccountId,
    amount: i64,
    note: &str,
) -> Result<i64, AdminError> {
    let entry = ledger::Entry {
        account_id: account,
        campaign_id: None,
        kind: ledger::Kind::TopUp,
        amount,
        note: Some(note.to_owned()),
    };
    ledger::apply(db, entry, Utc::now())
        .await?
        .ok_or_else(|| AdminError(format!("account {account} not found")))
}

pub async fn credits_add(
    db: &Db,
    account_raw: &str,
    amount: i64,
) -> Result<CreditsAdded, AdminError> {
    if amount <= 0 {
        return refuse("--amount must be a positive number of credits");
    }
    let account = existing_account(db, account_raw).await?;
    let txn = db.begin().await?;
    let balance = top_up(&txn, &account.id, amount, "credits add").await?;
    txn.commit().await?;
    Ok(CreditsAdded {
        account_id: account.id,
        added: amount,
        balance,
    })
}

pub async fn account_show(db: &Db, account_raw: &str) -> Result<AccountShown, AdminError> {
    let account = existing_account(db, account_raw).await?;
    let keys = api_key::Entity::find()
        .filter(api_key::Column::AccountId.eq(account.id.clone()))
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await?;
    let numbers = whatsapp_number::Entity::find()
        .filter(whatsapp_number::Column::AccountId.eq(account.id.clone()))
        .order_by_asc(whatsapp_number::Column::CreatedAt)
        .all(db)
        .await?;
    let templates = template::Entity::find()
        .filter(template::Column::AccountId.eq(account.id.clone()))
        .order_by_asc(template::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(AccountShown {
        account_id: account.id,
        name: account.name,
        balance: account.balance,
        created_at: account.created_at,
        keys: keys
            .into_iter()
            .map(|k| KeyInfo::of(k, Utc::now()))
            .collect(),
        numbers: numbers.into_iter().map(NumberInfo::from).collect(),
        templates: templates.into_iter().map(TemplateInfo::from).collect(),
    })
}

impl From<whatsapp_number::Model> for NumberInfo {
    fn from(n: whatsapp_number::Model) -> NumberInfo {
        NumberInfo {
            waba_phone_id: n.id,
            phone_number_id: n.phone_number_id,
            display_phone: n.display_phone,
            status: n.status,
            mps: n.mps,
        }
    }
}

impl From<template::Model> for TemplateInfo {
    fn from(t: template::Model) -> TemplateInfo {
        TemplateInfo {
            template_id: t.id,
            name: t.name,
            language: t.language,
            status: t.status,
            category: t.category,
            header: t.header_format,
            body_vars: t.body_vars,
            header_vars: t.header_vars,
            waba_phone_id: t.number_id,
        }
    }
}
