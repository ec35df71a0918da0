//! Operator commands behind `waplify-admin`. Each returns the JSON it prints.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::{Value, json};

use waplify_shared::apikey::{ApiKey, PREFIX_LEN};
use waplify_shared::db::entities::{account, api_key, template, whatsapp_number};
use waplify_shared::db::{Db, begin_write};
use waplify_shared::ids::{AccountId, KeyId, NumberId, TemplateId};
use waplify_shared::ledger;
use waplify_shared::status::{HeaderFormat, NumberStatus, TemplateStatus};

/// A refused command: the message is printed as is.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdminError(pub String);

impl From<sea_orm::DbErr> for AdminError {
    fn from(e: sea_orm::DbErr) -> Self {
        AdminError(format!("database error: {}", waplify_shared::db::brief(&e)))
    }
}

fn refuse<T>(msg: impl Into<String>) -> Result<T, AdminError> {
    Err(AdminError(msg.into()))
}

async fn existing_account(db: &Db, raw: &str) -> Result<account::Model, AdminError> {
    let id = AccountId::parse(raw).map_err(|e| AdminError(e.to_string()))?;
    account::Entity::find_by_id(id.as_str())
        .one(db)
        .await?
        .ok_or_else(|| AdminError(format!("account {id} not found")))
}

pub async fn account_create(db: &Db, name: &str, credits: i64) -> Result<Value, AdminError> {
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
        id: Set(id.to_string()),
        name: Set(name.to_owned()),
        balance: Set(0),
        created_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    insert_key(&txn, &id, &key).await?;
    if credits > 0 {
        top_up(&txn, &id, credits, "initial credits").await?;
    }
    txn.commit().await?;
    Ok(json!({ "account_id": id, "api_key": key.expose() }))
}

async fn insert_key<C: sea_orm::ConnectionTrait>(
    db: &C,
    account: &AccountId,
    key: &ApiKey,
) -> Result<KeyId, AdminError> {
    let id = KeyId::generate();
    api_key::Entity::insert(api_key::ActiveModel {
        id: Set(id.to_string()),
        account_id: Set(account.to_string()),
        key_prefix: Set(key.prefix().to_owned()),
        key_hash: Set(key.hash()),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        last_used_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

async fn top_up<C: sea_orm::ConnectionTrait>(
    db: &C,
    account: &AccountId,
    amount: i64,
    note: &str,
) -> Result<i64, AdminError> {
    let entry = ledger::Entry {
        account_id: account.as_str(),
        campaign_id: None,
        kind: ledger::Kind::TopUp,
        amount,
        note: Some(note.to_owned()),
    };
    ledger::apply(db, entry, Utc::now())
        .await?
        .ok_or_else(|| AdminError(format!("account {account} not found")))
}

pub async fn key_create(db: &Db, account_raw: &str) -> Result<Value, AdminError> {
    let account = existing_account(db, account_raw).await?;
    let key = ApiKey::generate();
    let id = insert_key(db, &AccountId::from_db(account.id.clone()), &key).await?;
    Ok(json!({
        "account_id": account.id,
        "key_id": id,
        "key_prefix": key.prefix(),
        "api_key": key.expose(),
    }))
}

pub async fn key_revoke(db: &Db, prefix: &str) -> Result<Value, AdminError> {
    let prefix = prefix.trim();
    if prefix.len() < PREFIX_LEN || !prefix.starts_with("wapl_") {
        return refuse(format!(
            "--key-prefix must be the first {PREFIX_LEN} characters of a key (as `account show` lists them)"
        ));
    }
    let prefix = &prefix[..PREFIX_LEN];
    let active = api_key::Entity::find()
        .filter(api_key::Column::KeyPrefix.eq(prefix))
        .filter(api_key::Column::RevokedAt.is_null())
        .all(db)
        .await?;
    match active.as_slice() {
        [] => refuse(format!("no active key with prefix {prefix}")),
        [one] => {
            api_key::Entity::update_many()
                .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
                .filter(api_key::Column::Id.eq(one.id.as_str()))
                .exec(db)
                .await?;
            Ok(
                json!({ "revoked": true, "key_prefix": prefix, "key_id": one.id, "account_id": one.account_id }),
            )
        }
        many => refuse(format!(
            "{} active keys share prefix {prefix}; revoke by a longer prefix is not possible, rotate the account's keys",
            many.len()
        )),
    }
}

pub struct NewNumber<'a> {
    pub account: &'a str,
    pub phone_number_id: &'a str,
    pub access_token: &'a str,
    pub display_phone: Option<&'a str>,
    pub mps: i32,
    pub active: bool,
}

pub async fn number_add(db: &Db, n: NewNumber<'_>) -> Result<Value, AdminError> {
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
        .filter(whatsapp_number::Column::AccountId.eq(account.id.as_str()))
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
        id: Set(id.to_string()),
        account_id: Set(account.id),
        phone_number_id: Set(pnid.to_owned()),
        display_phone: Set(n.display_phone.map(str::to_owned)),
        access_token: Set(n.access_token.trim().to_owned()),
        status: Set(status.to_string()),
        mps: Set(n.mps),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(json!({ "waba_phone_id": id, "status": status.as_str() }))
}

pub async fn number_set_status(db: &Db, raw_id: &str, status: &str) -> Result<Value, AdminError> {
    let id = NumberId::parse(raw_id).map_err(|e| AdminError(e.to_string()))?;
    let status: NumberStatus = status
        .parse()
        .map_err(|_| AdminError(format!("status must be active or inactive, not '{status}'")))?;
    let done = whatsapp_number::Entity::update_many()
        .col_expr(
            whatsapp_number::Column::Status,
            Expr::value(status.as_str()),
        )
        .filter(whatsapp_number::Column::Id.eq(id.as_str()))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return refuse(format!("number {id} not found"));
    }
    Ok(json!({ "waba_phone_id": id, "status": status.as_str() }))
}

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

pub async fn template_add(db: &Db, t: NewTemplate<'_>) -> Result<Value, AdminError> {
    let account = existing_account(db, t.account).await?;
    let name = t.name.trim();
    if name.is_empty() || name.len() > 512 {
        return refuse("--name must be 1 to 512 characters");
    }
    let status: TemplateStatus = t.status.to_uppercase().parse().map_err(|_| {
        AdminError("--status must be APPROVED, PENDING, REJECTED, PAUSED or DISABLED".into())
    })?;
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
        Some(raw) => {
            let id = NumberId::parse(raw).map_err(|e| AdminError(e.to_string()))?;
            let owned = whatsapp_number::Entity::find_by_id(id.as_str())
                .filter(whatsapp_number::Column::AccountId.eq(account.id.as_str()))
                .one(db)
                .await?;
            if owned.is_none() {
                return refuse(format!("number {id} not found in account {}", account.id));
            }
            Some(id.into_string())
        }
    };
    let language = t.language.trim();
    let clash = template::Entity::find()
        .filter(template::Column::AccountId.eq(account.id.as_str()))
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
        id: Set(id.to_string()),
        account_id: Set(account.id),
        number_id: Set(number_id),
        name: Set(name.to_owned()),
        language: Set(language.to_owned()),
        category: Set(t.category.trim().to_uppercase()),
        status: Set(status.to_string()),
        header_format: Set(header.to_string()),
        body_vars: Set(t.body_vars),
        header_vars: Set(t.header_vars),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(json!({ "template_id": id, "status": status.as_str() }))
}

pub async fn template_set_status(db: &Db, raw_id: &str, status: &str) -> Result<Value, AdminError> {
    let id = TemplateId::parse(raw_id).map_err(|e| AdminError(e.to_string()))?;
    let status: TemplateStatus = status.to_uppercase().parse().map_err(|_| {
        AdminError("status must be APPROVED, PENDING, REJECTED, PAUSED or DISABLED".into())
    })?;
    let done = template::Entity::update_many()
        .col_expr(template::Column::Status, Expr::value(status.as_str()))
        .filter(template::Column::Id.eq(id.as_str()))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return refuse(format!("template {id} not found"));
    }
    Ok(json!({ "template_id": id, "status": status.as_str() }))
}

pub async fn credits_add(db: &Db, account_raw: &str, amount: i64) -> Result<Value, AdminError> {
    if amount <= 0 {
        return refuse("--amount must be a positive number of credits");
    }
    let account = existing_account(db, account_raw).await?;
    let id = AccountId::from_db(account.id);
    let txn = db.begin().await?;
    let balance = top_up(&txn, &id, amount, "credits add").await?;
    txn.commit().await?;
    Ok(json!({ "account_id": id, "added": amount, "balance": balance }))
}

pub async fn account_show(db: &Db, account_raw: &str) -> Result<Value, AdminError> {
    let account = existing_account(db, account_raw).await?;
    let keys = api_key::Entity::find()
        .filter(api_key::Column::AccountId.eq(account.id.as_str()))
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await?;
    let numbers = whatsapp_number::Entity::find()
        .filter(whatsapp_number::Column::AccountId.eq(account.id.as_str()))
        .order_by_asc(whatsapp_number::Column::CreatedAt)
        .all(db)
        .await?;
    let templates = template::Entity::find()
        .filter(template::Column::AccountId.eq(account.id.as_str()))
        .order_by_asc(template::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(json!({
        "account_id": account.id,
        "name": account.name,
        "balance": account.balance,
        "created_at": account.created_at,
        "keys": keys.iter().map(|k| json!({
            "key_id": k.id, "key_prefix": k.key_prefix, "created_at": k.created_at,
            "revoked_at": k.revoked_at, "last_used_at": k.last_used_at,
        })).collect::<Vec<_>>(),
        "numbers": numbers.iter().map(|n| json!({
            "waba_phone_id": n.id, "phone_number_id": n.phone_number_id,
            "display_phone": n.display_phone, "status": n.status, "mps": n.mps,
        })).collect::<Vec<_>>(),
        "templates": templates.iter().map(|t| json!({
            "template_id": t.id, "name": t.name, "language": t.language, "status": t.status,
            "category": t.category, "header": t.header_format, "body_vars": t.body_vars,
            "header_vars": t.header_vars, "waba_phone_id": t.number_id,
        })).collect::<Vec<_>>(),
    }))
}

/// The demo account of `scripts/dev`, created once and remembered in `state_file`.
/// Running it again prints the same account and key.
pub async fn demo(db: &Db, state_file: &std::path::Path) -> Result<Value, AdminError> {
    if let Ok(text) = std::fs::read_to_string(state_file)
        && let Ok(saved) = serde_json::from_str::<Value>(&text)
    {
        let key_ok = match saved["api_key"].as_str().and_then(ApiKey::parse) {
            Some(key) => api_key::Entity::find()
                .filter(api_key::Column::KeyHash.eq(key.hash()))
                .filter(api_key::Column::RevokedAt.is_null())
                .one(db)
                .await?
                .is_some(),
            None => false,
        };
        if key_ok {
            return Ok(saved);
        }
    }
    let created = account_create(db, "Demo account", 1_000_000).await?;
    let account = created["account_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let number = number_add(
        db,
        NewNumber {
            account: &account,
            phone_number_id: "100000000000001",
            access_token: "demo-access-token",
            display_phone: Some("+1 555 000 0001"),
            mps: 1000,
            active: true,
        },
    )
    .await?;
    let template = template_add(
        db,
        NewTemplate {
            account: &account,
            name: "welcome",
            language: "en",
            status: "APPROVED",
            category: "MARKETING",
            header: "NONE",
            body_vars: 1,
            header_vars: 0,
            number: number["waba_phone_id"].as_str(),
        },
    )
    .await?;
    let saved = json!({
        "account_id": account,
        "api_key": created["api_key"],
        "waba_phone_id": number["waba_phone_id"],
        "template_id": template["template_id"],
        "template_name": "welcome",
    });
    if let Some(dir) = state_file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| AdminError(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(state_file, format!("{saved:#}\n"))
        .map_err(|e| AdminError(format!("cannot write {}: {e}", state_file.display())))?;
    Ok(saved)
}
