//! Provider access tokens and webhook secrets are encrypted at rest: the stored
//! values hold neither, name their key, and are bound to their row; sending and
//! signing still use the plain text; rotation, the migration of plain text rows, and
//! the refusal to start without the key.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use waplify_api::http::serve::Limits;
use waplify_api::{ApiConfig, Application, InboundConfig};
use waplify_shared::admin::{self, NewNumber};
use waplify_shared::config::CommonConfig;
use waplify_shared::secrets::{Field, Keyring, SecretError};
use waplify_tests::admin_cli::{admin_with, ok};
use waplify_tests::app::roomy_rate_limit;
use waplify_tests::keys::{
    TEST_SECRET_KEY, key_id, migrate_again, plain_webhook, stored, test_keys,
};
use waplify_tests::receiver::{Receiver, wait_received};
use waplify_tests::{Fake, FakeConfig, Seeded, TestApp, seed, spawn_app};
use waplify_worker::{Worker, WorkerConfig};

/// The token `seed` registers its number with.
const TOKEN: &str = "test-token";
const SECRET: &str = "whsec-at-rest-secret";
/// The key rotated to (base64 of 32 bytes).
const NEW_KEY: &str = "vAgvbmBNqYaft3VMksXGl/cIxlTr0Vpro00md/qAgH4=";

async fn webhook(app: &TestApp, key: &str, url: &str) -> String {
    let body = json!({"name": "r", "url": url, "secret": SECRET, "events": ["message.sent"]});
    let (status, created) = app.post("/api/v1/webhooks", Some(key), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["webhook_id"].as_str().unwrap().to_owned()
}

/// Sends a one-recipient campaign: the fake sees only the number's token, and the
/// `message.sent` webhook verifies with the endpoint's secret.
async fn sends_and_signs(app: &TestApp, s: &Seeded, fake: &Fake, receiver: &Receiver) {
    let before = receiver.received().len();
    let campaign = app.create_campaign(&s.api_key, 1).await;
    let (status, body) = app.send(&s.api_key, &campaign).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let got = wait_received(receiver, before + 1, Duration::from_secs(30)).await;
    for r in &got[before..] {
        assert!(r.body_signature_ok(SECRET), "{:?}", r.headers);
        assert!(r.standard_signature_ok(SECRET), "{:?}", r.headers);
    }
    let tokens: Vec<String> = fake.tokens().into_keys().collect();
    assert_eq!(
        tokens,
        vec![TOKEN.to_owned()],
        "the bearer tokens the fake saw"
    );
}

async fn fake_and_receiver() -> (Fake, String, Receiver, String) {
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _server) = fake.serve("127.0.0.1:0").await.unwrap();
    let (receiver, url) = Receiver::start().await;
    (fake, fake_url, receiver, url)
}

#[tokio::test]
async fn secrets_are_stored_encrypted_and_used_in_plain_text() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 100).await;
    let cli = ok(
        &app.tdb.url,
        &[
            "number",
            "add",
            "--account",
            &s.account_id,
            "--phone-number-id",
            "109000000000777",
            "--access-token",
            "cli-token",
        ],
    );
    let cli_number = cli["waba_phone_id"].as_str().unwrap();
    let (fake, fake_url, receiver, url) = fake_and_receiver().await;
    let hook = webhook(&app, &s.api_key, &url).await;
    let prefix = format!("enc:v1:{}:", key_id(TEST_SECRET_KEY));
    for (field, id, plain) in [
        (Field::NumberAccessToken, s.number_id.as_str(), TOKEN),
        (Field::NumberAccessToken, cli_number, "cli-token"),
        (Field::WebhookSecret, hook.as_str(), SECRET),
    ] {
        let raw = stored(&app.tdb, field, id).await;
        assert!(
            raw.starts_with(&prefix) && !raw.contains(plain),
            "{field}: {raw}"
        );
        assert_eq!(test_keys().open(field, id, &raw).unwrap().expose(), plain);
    }
    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    sends_and_signs(&app, &s, &fake, &receiver).await;
}

#[tokio::test]
async fn rotation_re_encrypts_everything_under_the_new_key() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 100).await;
    let (fake, fake_url, receiver, url) = fake_and_receiver().await;
    let hook = webhook(&app, &s.api_key, &url).await;
    let (db, old_kid, new_kid) = (&app.tdb.url, key_id(TEST_SECRET_KEY), key_id(NEW_KEY));
    // Without the old key its values cannot be read: refused, naming the key id.
    let refused = admin_with(
        db,
        &["secrets", "rotate"],
        &[("WAPLIFY_SECRET_KEY", NEW_KEY)],
    );
    assert!(
        !refused.ok && refused.stderr.contains(&old_kid),
        "{}",
        refused.stderr
    );
    let keys = [
        ("WAPLIFY_SECRET_KEY", NEW_KEY),
        ("WAPLIFY_SECRET_KEYS_OLD", TEST_SECRET_KEY),
    ];
    let done = admin_with(db, &["secrets", "rotate"], &keys);
    assert!(done.ok, "{}", done.stderr);
    let moved = json!({"encrypted": 0, "reencrypted": 1, "unchanged": 0});
    assert_eq!(done.json["key_id"], json!(new_kid));
    assert_eq!(done.json["access_tokens"], moved);
    assert_eq!(done.json["webhook_secrets"], moved);
    for (field, id) in [
        (Field::NumberAccessToken, &s.number_id),
        (Field::WebhookSecret, &hook),
    ] {
        let raw = stored(&app.tdb, field, id).await;
        assert!(
            raw.starts_with(&format!("enc:v1:{new_kid}:")),
            "{field}: {raw}"
        );
    }
    let again = admin_with(db, &["secrets", "rotate"], &keys);
    let still = json!({"encrypted": 0, "reencrypted": 0, "unchanged": 1});
    assert_eq!(
        (&again.json["access_tokens"], &again.json["webhook_secrets"]),
        (&still, &still)
    );
    let status = admin_with(db, &["secrets", "status"], &keys).json;
    assert_eq!(
        status["stored"],
        json!({"plaintext": 0, "by_key": {new_kid.clone(): 2}})
    );
    // The new key alone is enough now.
    let mut cfg = app.worker_config(&fake_url);
    cfg.common.secrets = Keyring::parse(Some(NEW_KEY), None).unwrap();
    let _worker = app.start_worker(cfg).await;
    sends_and_signs(&app, &s, &fake, &receiver).await;
}

#[tokio::test]
async fn the_migration_encrypts_plain_text_rows_when_a_key_is_set() {
    let app = spawn_app().await;
    let account = admin::account_create(&app.tdb.db, "Plain", 0)
        .await
        .unwrap();
    let plain = NewNumber {
        account: account.account_id.as_str(),
        phone_number_id: "109000000000001",
        access_token: "plain-token",
        display_phone: None,
        mps: 10,
        active: true,
    };
    let number = admin::number_add(&app.tdb.db, &Keyring::default(), plain)
        .await
        .unwrap();
    let number = number.waba_phone_id.to_string();
    let hook = plain_webhook(&app.tdb, &account.account_id, "plain-secret").await;
    let rows = [
        (Field::NumberAccessToken, number.as_str(), "plain-token"),
        (Field::WebhookSecret, hook.as_str(), "plain-secret"),
    ];
    // No key and only plain text: the services run as before.
    let mut cfg = app.worker_config("http://127.0.0.1:9");
    cfg.common.secrets = Keyring::default();
    Worker::build(cfg)
        .await
        .expect("starts without a key")
        .shutdown()
        .await;
    migrate_again(&app.tdb, None).await;
    for (field, id, plain) in rows {
        assert_eq!(
            stored(&app.tdb, field, id).await,
            plain,
            "no key: {field} stays"
        );
    }
    migrate_again(&app.tdb, Some(TEST_SECRET_KEY)).await;
    for (field, id, plain) in rows {
        let raw = stored(&app.tdb, field, id).await;
        assert!(
            raw.starts_with(&format!("enc:v1:{}:", key_id(TEST_SECRET_KEY))),
            "{raw}"
        );
        assert!(!raw.contains(plain), "{raw}");
        assert_eq!(test_keys().open(field, id, &raw).unwrap().expose(), plain);
    }
}

#[tokio::test]
async fn services_refuse_to_start_without_the_key_of_stored_secrets() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 10).await;
    let kid = key_id(TEST_SECRET_KEY);
    let no_key = Keyring::default();
    let wrong_key = Keyring::parse(Some(NEW_KEY), None).unwrap();
    for (keys, says) in [(no_key, "is not set"), (wrong_key, "neither this key")] {
        let common = CommonConfig {
            secrets: keys,
            ..app.common()
        };
        let worker = WorkerConfig::defaults(common.clone(), "http://127.0.0.1:9");
        let err = Worker::build(worker)
            .await
            .err()
            .expect("the worker refuses");
        let api = ApiConfig {
            common,
            bind: "127.0.0.1:0".into(),
            inbound: InboundConfig::default(),
            rate_limit: roomy_rate_limit(),
            limits: Limits::default(),
        };
        let api_err = Application::build(api)
            .await
            .err()
            .expect("the API refuses");
        for msg in [err.to_string(), api_err.to_string()] {
            assert!(msg.starts_with("WAPLIFY_SECRET_KEY: "), "{msg}");
            assert!(msg.contains(&kid) && msg.contains(says), "{msg}");
        }
    }
    let add = [
        "number",
        "add",
        "--account",
        &s.account_id,
        "--phone-number-id",
        "1",
        "--access-token",
        "t",
    ];
    let refused = admin_with(&app.tdb.url, &add, &[]);
    assert!(!refused.ok, "number add without the key");
    assert!(
        refused.stderr.contains(&kid) && refused.stderr.contains("WAPLIFY_SECRET_KEY"),
        "{}",
        refused.stderr
    );
    let created = admin_with(&app.tdb.url, &["account", "create", "--name", "x"], &[]);
    assert!(
        created.ok,
        "commands that touch no secret need no key: {}",
        created.stderr
    );
}

#[tokio::test]
async fn a_secret_copied_to_another_row_does_not_decrypt() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 10).await;
    let other =
        waplify_tests::seed::number(&app.tdb.db, &s.account_id, "109000000000002", 10, true).await;
    let raw = stored(&app.tdb, Field::NumberAccessToken, &s.number_id).await;
    app.execute(&format!(
        "UPDATE whatsapp_numbers SET access_token = '{raw}' WHERE id = '{other}'"
    ))
    .await;
    let err = test_keys()
        .open(Field::NumberAccessToken, &other, &raw)
        .unwrap_err();
    assert!(matches!(err, SecretError::Undecryptable { .. }), "{err}");
    let keys = [
        ("WAPLIFY_SECRET_KEY", NEW_KEY),
        ("WAPLIFY_SECRET_KEYS_OLD", TEST_SECRET_KEY),
    ];
    let refused = admin_with(&app.tdb.url, &["secrets", "rotate"], &keys);
    assert!(!refused.ok, "rotation stops at the moved value");
    assert!(
        refused.stderr.contains(&other) && refused.stderr.contains("does not decrypt"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn a_secret_that_looks_encrypted_is_refused() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 100).await;
    // Stored as given while no key is set, it would later be read as ciphertext under
    // an unknown key and stop the services from starting.
    let body =
        json!({"name": "r", "url": "https://example.com/h", "secret": "enc:v1:deadbeef:AAAA"});
    let (status, answer) = app
        .post("/api/v1/webhooks", Some(&s.api_key), Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("enc:"),
        "{answer}"
    );
    let stored = app
        .scalar_i64("SELECT COUNT(*) FROM webhook_endpoints")
        .await;
    assert_eq!(stored, 0);
}
