//! WhatsApp Business numbers of an account.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use super::{AdminError, existing_account, parse_id, refuse};
use crate::db::Db;
use crate::db::entities::whatsapp_number;
use crate::ids::NumberId;
use crate::secrets::{Field, Keyring};
use crate::status::NumberStatus;

pub struct NewNumber<'a> {
    pub account: &'a str,
    pub phone_number_id: &'a str,
    pub access_token: &'a str,
    pub display_phone: Option<&'a str>,
    pub mps: i32,
    pub active: bool,
}

/// A number as added or changed.
#[derive(Debug, Serialize)]
pub struct NumberSet {
    pub waba_phone_id: NumberId,
    pub status: NumberStatus,
}

/// Registers a number; its access token is stored encrypted under the current key
/// (plain text while none is configured), bound to the new row's id.
pub async fn number_add(
    db: &Db,
    keys: &Keyring,
    n: NewNumber<'_>,
) -> Result<NumberSet, AdminError> {
    let account = existing_account(db, n.account).await?;
    let pnid = n.phone_number_id.trim();
    if pnid.is_empty() || pnid.len() > 64 {
        return refuse("--phone-number-id must be 1 to 64 characters");
    }
    if n.access_token.trim().is_empty() {
        return refuse("--access-token must not be empty");
    }
    if !(1..=10_000).contains(&n.mps) {
        return refuse("--mps must be between 1 and 10000");
    }
    let taken = whatsapp_number::Entity::find()
        .filter(whatsapp_number::Column::AccountId.eq(account.id.clone()))
        .filter(whatsapp_number::Column::PhoneNumberId.eq(pnid))
        .one(db)
        .await?;
    if let Some(existing) = taken {
        return refuse(format!(
            "phone number id {pnid} is already registered for this account as {}",
            existing.id
        ));
    }
    let id = NumberId::generate();
    let status = if n.active {
        NumberStatus::Active
    } else {
        NumberStatus::Inactive
    };
    whatsapp_number::Entity::insert(whatsapp_number::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account.id),
        phone_number_id: Set(pnid.to_owned()),
        display_phone: Set(n.display_phone.map(str::to_owned)),
        access_token: Set(keys.seal(Field::NumberAccessToken, id.as_str(), n.access_token.trim())),
        status: Set(status),
        mps: Set(n.mps),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(NumberSet {
        waba_phone_id: id,
        status,
    })
}

pub async fn number_set_status(
    db: &Db,
    raw_id: &str,
    status: &str,
) -> Result<NumberSet, AdminError> {
    let id: NumberId = parse_id(raw_id)?;
    let status: NumberStatus = status
        .parse()
        .map_err(|_| AdminError(format!("status must be active or inactive, not '{status}'")))?;
    let done = whatsapp_number::Entity::update_many()
        .col_expr(whatsapp_number::Column::Status, Expr::value(status))
        .filter(whatsapp_number::Column::Id.eq(id.clone()))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return refuse(format!("number {id} not found"));
    }
    Ok(NumberSet {
        waba_phone_id: id,
        status,
    })
}
