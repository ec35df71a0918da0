//! The demo account of `scripts/dev`, created once and remembered in a state file.
//! Running it again prints the same account and key.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::{AdminError, NewNumber, NewTemplate, account_create, number_add, template_add};
use crate::apikey::ApiKey;
use crate::db::Db;
use crate::db::entities::api_key;
use crate::ids::{AccountId, NumberId, TemplateId};
use crate::secrets::Keyring;

/// What `scripts/dev` needs to know about the demo account.
#[derive(Debug, Serialize, Deserialize)]
pub struct Demo {
    pub account_id: AccountId,
    pub api_key: String,
    pub waba_phone_id: NumberId,
    pub template_id: TemplateId,
    pub template_name: String,
}

pub async fn demo(
    db: &Db,
    keys: &Keyring,
    state_file: &std::path::Path,
) -> Result<Demo, AdminError> {
    if let Some(saved) = saved(db, state_file).await? {
        return Ok(saved);
    }
    let created = account_create(db, "Demo account", 1_000_000).await?;
    let account = created.account_id.to_string();
    let number = number_add(
        db,
        keys,
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
            number: Some(number.waba_phone_id.as_str()),
        },
    )
    .await?;
    let demo = Demo {
        account_id: created.account_id,
        api_key: created.api_key,
        waba_phone_id: number.waba_phone_id,
        template_id: template.template_id,
        template_name: "welcome".into(),
    };
    if let Some(dir) = state_file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| AdminError(format!("cannot create {}: {e}", dir.display())))?;
    }
    let text = serde_json::to_string_pretty(&demo).expect("serialisable");
    std::fs::write(state_file, format!("{text}\n"))
        .map_err(|e| AdminError(format!("cannot write {}: {e}", state_file.display())))?;
    Ok(demo)
}

/// The demo saved earlier, if its key still works.
async fn saved(db: &Db, state_file: &std::path::Path) -> Result<Option<Demo>, AdminError> {
    let Ok(text) = std::fs::read_to_string(state_file) else {
        return Ok(None);
    };
    let Ok(saved) = serde_json::from_str::<Demo>(&text) else {
        return Ok(None);
    };
    let Some(key) = ApiKey::parse(&saved.api_key) else {
        return Ok(None);
    };
    let live = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key.hash()))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(live.map(|_| saved))
}
