//! Message templates of an account, as Meta reviewed them.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use super::{AdminError, existing_account, parse_id, refuse};
use crate::db::Db;
use crate::db::entities::{template, whatsapp_number};
use crate::ids::{AccountId, NumberId, TemplateId};
use crate::status::{HeaderFormat, TemplateStatus};

pub struct NewTemplate<'a> {
    pub account: &'a str,
    pub name: &'a str,
    pub language: &'a str,
    pub status: &'a str,
    pub category: &'a str,
    pub header: &'a str,
    pub body_vars: i32,
    pub header_vars: i32,
    pub number: Option<&'a str>,
}

/// A template as added or changed.
#[derive(Debug, Serialize)]
pub struct TemplateSet {
    pub template_id: TemplateId,
    pub status: TemplateStatus,
}

fn template_status(raw: &str) -> Result<TemplateStatus, AdminError> {
    raw.to_uppercase().parse().map_err(|_| {
        AdminError("status must be APPROVED, PENDING, REJECTED, PAUSED or DISABLED".into())
    })
}

pub async fn template_add(db: &Db, t: NewTemplate<'_>) -> Result<TemplateSet, AdminError> {
    let account = existing_account(db, t.account).await?;
    let name = t.name.trim();
    if name.is_empty() || name.len() > 512 {
        return refuse("--name must be 1 to 512 characters");
    }
    let status = template_status(t.status).map_err(|e| AdminError(format!("--{e}")))?;
    let header: HeaderFormat =
        t.header.to_uppercase().parse().map_err(|_| {
            AdminError("--header must be NONE, TEXT, IMAGE, VIDEO or DOCUMENT".into())
        })?;
    if !(0..=100).contains(&t.body_vars) || !(0..=10).contains(&t.header_vars) {
        return refuse("--body-vars must be 0..=100 and --header-vars 0..=10");
    }
    if t.header_vars > 0 && header != HeaderFormat::Text {
        return refuse("--header-vars needs --header TEXT");
    }
    let number_id = match t.number {
        None => None,
        Some(raw) => Some(owned_number(db, &account.id, raw).await?),
    };
    let language = t.language.trim();
    let clash = template::Entity::find()
        .filter(template::Column::AccountId.eq(account.id.clone()))
        .filter(template::Column::Name.eq(name))
        .filter(template::Column::Language.eq(language))
        .one(db)
        .await?;
    if let Some(existing) = clash {
        return refuse(format!(
            "template '{name}' ({language}) already exists as {}",
            existing.id
        ));
    }
    let id = TemplateId::generate();
    template::Entity::insert(template::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account.id),
        number_id: Set(number_id),
        name: Set(name.to_owned()),
        language: Set(language.to_owned()),
        category: Set(t.category.trim().to_uppercase()),
        status: Set(status),
        header_format: Set(header),
        body_vars: Set(t.body_vars),
        header_vars: Set(t.header_vars),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(TemplateSet {
        template_id: id,
        status,
    })
}

/// The account's number with this id.
async fn owned_number(db: &Db, account: &AccountId, raw: &str) -> Result<NumberId, AdminError> {
    let id: NumberId = parse_id(raw)?;
    let owned = whatsapp_number::Entity::find_by_id(id.clone())
        .filter(whatsapp_number::Column::AccountId.eq(account.clone()))
        .one(db)
        .await?;
    match owned {
        Some(_) => Ok(id),
        None => refuse(format!("number {id} not found in account {account}")),
    }
}

pub async fn template_set_status(
    db: &Db,
    raw_id: &str,
    status: &str,
) -> Result<TemplateSet, AdminError> {
    let id: TemplateId = parse_id(raw_id)?;
    let status = template_status(status)?;
    let done = template::Entity::update_many()
        .col_expr(template::Column::Status, Expr::value(status))
        .filter(template::Column::Id.eq(id.clone()))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return refuse(format!("template {id} not found"));
    }
    Ok(TemplateSet {
        template_id: id,
        status,
    })
}
