//! `waplify-admin`, run as a process: JSON on stdout, one line on stderr and a non-zero
//! exit on error.

use reqwest::StatusCode;
use waplify_tests::admin_cli::{fails, ok};
use waplify_tests::{TestApp, spawn_app};

#[tokio::test]
async fn operator_commands_manage_accounts_keys_numbers_templates_and_credits() {
    let app = spawn_app().await;
    let db = app.tdb.url.clone();

    let (id, key) = an_account_is_created_with_a_working_key(&app, &db).await;
    let (number_id, template_id) = numbers_templates_and_credits_are_managed(&db, &id);
    account_show_lists_everything_but_the_keys(&db, &id, &key);
    let prefix = a_revoked_key_stops_and_the_other_works(&app, &db, &id, &key).await;

    key_account_and_credit_errors(&db, &id, prefix);
    number_and_template_errors(&db, &id, &number_id, &template_id);
}

/// Returns the account's id and its API key.
async fn an_account_is_created_with_a_working_key(app: &TestApp, db: &str) -> (String, String) {
    let account = ok(
        db,
        &["account", "create", "--name", "Acme", "--credits", "50"],
    );
    let id = account["account_id"].as_str().unwrap().to_owned();
    let key = account["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("wapl_"));
    let (status, _) = app.get("/api/v1/campaigns", Some(&key)).await;
    assert_eq!(status, StatusCode::OK, "the new key works");
    (id, key)
}

/// Returns the number's and the template's ids.
fn numbers_templates_and_credits_are_managed(db: &str, id: &str) -> (String, String) {
    let number = ok(
        db,
        &[
            "number",
            "add",
            "--account",
            id,
            "--phone-number-id",
            "1234567890",
            "--access-token",
            "tok",
            "--display-phone",
            "+1 555 0100",
            "--mps",
            "40",
        ],
    );
    let number_id = number["waba_phone_id"].as_str().unwrap().to_owned();
    assert_eq!(number["status"], "active");
    let template = ok(
        db,
        &[
            "template",
            "add",
            "--account",
            id,
            "--name",
            "promo",
            "--body-vars",
            "2",
            "--header",
            "text",
            "--header-vars",
            "1",
            "--number",
            &number_id,
        ],
    );
    let template_id = template["template_id"].as_str().unwrap().to_owned();
    assert_eq!(template["status"], "APPROVED");
    assert_eq!(
        ok(
            db,
            &["template", "set-status", "--id", &template_id, "paused"]
        )["status"],
        "PAUSED"
    );
    assert_eq!(
        ok(
            db,
            &["number", "set-status", "--id", &number_id, "inactive"]
        )["status"],
        "inactive"
    );
    let credits = ok(db, &["credits", "add", "--account", id, "--amount", "25"]);
    assert_eq!(credits["balance"], 75);
    (number_id, template_id)
}

fn account_show_lists_everything_but_the_keys(db: &str, id: &str, key: &str) {
    let shown = ok(db, &["account", "show", "--account", id]);
    assert_eq!(shown["name"], "Acme");
    assert_eq!(shown["balance"], 75);
    assert_eq!(shown["numbers"][0]["mps"], 40);
    assert_eq!(shown["numbers"][0]["status"], "inactive");
    assert_eq!(shown["templates"][0]["status"], "PAUSED");
    assert_eq!(shown["templates"][0]["body_vars"], 2);
    assert_eq!(shown["keys"].as_array().unwrap().len(), 1);
    assert!(
        shown.to_string().find(key).is_none(),
        "keys are never shown again"
    );
}

/// A second key, then the first revoked; returns the revoked key's prefix.
async fn a_revoked_key_stops_and_the_other_works<'k>(
    app: &TestApp,
    db: &str,
    id: &str,
    key: &'k str,
) -> &'k str {
    let second = ok(db, &["key", "create", "--account", id]);
    let second_key = second["api_key"].as_str().unwrap().to_owned();
    let prefix = &key[..13];
    let revoked = ok(db, &["key", "revoke", "--key-prefix", prefix]);
    assert_eq!(revoked["revoked"], true);
    let (status, _) = app.get("/api/v1/campaigns", Some(key)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let (status, _) = app.get("/api/v1/campaigns", Some(&second_key)).await;
    assert_eq!(status, StatusCode::OK, "the other key still works");
    assert_eq!(
        app.scalar_i64("SELECT CAST(SUM(amount) AS BIGINT) FROM wallet_ledger")
            .await,
        75,
        "the ledger sums to the balance"
    );
    prefix
}

/// Each error: nothing on stdout, one line on stderr naming the problem, a failed exit.
fn key_account_and_credit_errors(db: &str, id: &str, prefix: &str) {
    fails(
        db,
        &["key", "revoke", "--key-prefix", prefix],
        "no active key",
    );
    fails(
        db,
        &["key", "revoke", "--key-prefix", "wapl_"],
        "--key-prefix",
    );
    fails(
        db,
        &["account", "show", "--account", "nope"],
        "Invalid account_id",
    );
    fails(
        db,
        &["account", "show", "--account", "0123456789abcdef01234567"],
        "not found",
    );
    fails(db, &["account", "create", "--name", " "], "--name");
    fails(
        db,
        &["credits", "add", "--account", id, "--amount", "-5"],
        "positive",
    );
}

fn number_and_template_errors(db: &str, id: &str, number_id: &str, template_id: &str) {
    fails(
        db,
        &["number", "set-status", "--id", number_id, "sleeping"],
        "active or inactive",
    );
    fails(
        db,
        &["template", "set-status", "--id", template_id, "MAYBE"],
        "APPROVED",
    );
    fails(
        db,
        &[
            "template",
            "add",
            "--account",
            id,
            "--name",
            "promo",
            "--header",
            "TEXT",
        ],
        "already exists",
    );
    fails(
        db,
        &[
            "template",
            "add",
            "--account",
            id,
            "--name",
            "x",
            "--header",
            "GIF",
        ],
        "--header",
    );
    fails(
        db,
        &[
            "number",
            "add",
            "--account",
            id,
            "--phone-number-id",
            "1234567890",
            "--access-token",
            "t",
        ],
        "already registered",
    );
    fails(
        db,
        &[
            "number",
            "add",
            "--account",
            id,
            "--phone-number-id",
            "9",
            "--access-token",
            "t",
            "--mps",
            "0",
        ],
        "--mps",
    );
}

#[tokio::test]
async fn the_demo_command_is_idempotent() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo.json");
    let state = state.to_str().unwrap();
    let first = ok(&app.tdb.url, &["demo", "--state-file", state]);
    let again = ok(&app.tdb.url, &["demo", "--state-file", state]);
    assert_eq!(first, again);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM accounts").await, 1);
    let key = first["api_key"].as_str().unwrap();
    let (status, body) = app
        .post(
            "/api/v1/campaigns",
            Some(key),
            Some(serde_json::json!({"name": "demo", "template_name": "welcome", "body_data": {"1": "x"}, "contacts": [{"phone": "15550000001"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
