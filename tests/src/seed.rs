//! Accounts, numbers and templates for tests, made with the operator commands.

use waplify_shared::admin::{self, NewNumber, NewTemplate};
use waplify_shared::db::Db;

/// An account with an active number and an approved template.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub account_id: String,
    pub api_key: String,
    pub number_id: String,
    pub template_name: String,
}

/// The WhatsApp `phone_number_id` of the number [`seed`] registers.
pub const SEEDED_NUMBER: &str = "109000000000001";

/// Creates an account with `credits`, a number sending at `mps`, and an approved
/// `welcome` template with one body variable.
pub async fn seed(db: &Db, credits: i64, mps: i32) -> Seeded {
    let account = admin::account_create(db, "Test account", credits)
        .await
        .expect("account");
    let account_id = account.account_id.to_string();
    let number = number(db, &account_id, SEEDED_NUMBER, mps, true).await;
    template(
        db,
        &account_id,
        "welcome",
        "APPROVED",
        "NONE",
        1,
        Some(&number),
    )
    .await;
    Seeded {
        api_key: account.api_key,
        account_id,
        number_id: number,
        template_name: "welcome".into(),
    }
}

pub async fn number(db: &Db, account: &str, pnid: &str, mps: i32, active: bool) -> String {
    let v = admin::number_add(
        db,
        &crate::keys::test_keys(),
        NewNumber {
            account,
            phone_number_id: pnid,
            access_token: "test-token",
            display_phone: None,
            mps,
            active,
        },
    )
    .await
    .expect("number");
    v.waba_phone_id.to_string()
}

pub async fn template(
    db: &Db,
    account: &str,
    name: &str,
    status: &str,
    header: &str,
    body_vars: i32,
    number: Option<&str>,
) -> String {
    let v = admin::template_add(
        db,
        NewTemplate {
            account,
            name,
            language: "en",
            status,
            category: "MARKETING",
            header,
            body_vars,
            header_vars: 0,
            number,
        },
    )
    .await
    .expect("template");
    v.template_id.to_string()
}
