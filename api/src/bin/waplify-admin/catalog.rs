//! `number` and `template`: what an account sends from and with.

use clap::Subcommand;
use serde_json::Value;

use waplify_shared::admin::{self, AdminError, NewNumber, NewTemplate};
use waplify_shared::db;
use waplify_shared::secrets::Keyring;

use crate::answer::json;

#[derive(Subcommand)]
pub enum NumberCmd {
    /// Register a WhatsApp Business phone number.
    Add {
        #[arg(long)]
        account: String,
        /// Meta's phone number id (the path segment of the Cloud API).
        #[arg(long)]
        phone_number_id: String,
        #[arg(long)]
        access_token: String,
        #[arg(long)]
        display_phone: Option<String>,
        /// Messages per second this number may send.
        #[arg(long, default_value_t = 80)]
        mps: i32,
        #[arg(long)]
        inactive: bool,
    },
    /// Activate or deactivate a number.
    SetStatus {
        #[arg(long)]
        id: String,
        /// active | inactive
        status: String,
    },
}

#[derive(Subcommand)]
pub enum TemplateCmd {
    /// Register a template.
    Add {
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "en")]
        language: String,
        #[arg(long, default_value = "APPROVED")]
        status: String,
        #[arg(long, default_value = "MARKETING")]
        category: String,
        /// NONE | TEXT | IMAGE | VIDEO | DOCUMENT
        #[arg(long, default_value = "NONE")]
        header: String,
        #[arg(long, default_value_t = 0)]
        body_vars: i32,
        #[arg(long, default_value_t = 0)]
        header_vars: i32,
        /// The number this template belongs to.
        #[arg(long)]
        number: Option<String>,
    },
    /// Change a template's review status.
    SetStatus {
        #[arg(long)]
        id: String,
        /// APPROVED | PENDING | REJECTED | PAUSED | DISABLED
        status: String,
    },
}

pub async fn run_number(db: &db::Db, keys: &Keyring, cmd: NumberCmd) -> Result<Value, AdminError> {
    match cmd {
        NumberCmd::Add {
            account,
            phone_number_id,
            access_token,
            display_phone,
            mps,
            inactive,
        } => json(
            admin::number_add(
                db,
                keys,
                NewNumber {
                    account: &account,
                    phone_number_id: &phone_number_id,
                    access_token: &access_token,
                    display_phone: display_phone.as_deref(),
                    mps,
                    active: !inactive,
                },
            )
            .await,
        ),
        NumberCmd::SetStatus { id, status } => {
            json(admin::number_set_status(db, &id, &status).await)
        }
    }
}

pub async fn run_template(db: &db::Db, cmd: TemplateCmd) -> Result<Value, AdminError> {
    match cmd {
        TemplateCmd::Add {
            account,
            name,
            language,
            status,
            category,
            header,
            body_vars,
            header_vars,
            number,
        } => json(
            admin::template_add(
                db,
                NewTemplate {
                    account: &account,
                    name: &name,
                    language: &language,
                    status: &status,
                    category: &category,
                    header: &header,
                    body_vars,
                    header_vars,
                    number: number.as_deref(),
                },
            )
            .await,
        ),
        TemplateCmd::SetStatus { id, status } => {
            json(admin::template_set_status(db, &id, &status).await)
        }
    }
}
