//! The secret key every test process runs with, so stored access tokens and webhook
//! secrets take the encrypted path, as in production; and helpers to look at them.

use sea_orm::{ActiveValue::Set, EntityTrait};
use waplify_shared::db::entities::webhook_endpoint;
use waplify_shared::ids::{AccountId, WebhookId};
use waplify_shared::secrets::{Field, Keyring, SecretKey};
use waplify_shared::webhooks::EventFilter;

use crate::TestDb;
use crate::procs::bin;

/// `WAPLIFY_SECRET_KEY` of the test API, workers and CLI runs (base64 of 32 bytes).
pub const TEST_SECRET_KEY: &str = "BuEueF+TwgB+9E6/Hdr253p5kCzjQvcxKGZq2kxvMUk=";

/// The keys of [`TEST_SECRET_KEY`], for processes built in the test.
pub fn test_keys() -> Keyring {
    Keyring::parse(Some(TEST_SECRET_KEY), None).expect("a valid test key")
}

/// The key id of a base64 key.
pub fn key_id(key: &str) -> String {
    SecretKey::parse(key).expect("a valid key").id().to_string()
}

/// A secret column's value as stored, read with plain SQL.
pub async fn stored(tdb: &TestDb, field: Field, id: &str) -> String {
    let (c, t) = (field.column(), field.table());
    tdb.scalar(&format!("SELECT {c} FROM {t} WHERE id = '{id}'"))
        .await
}

/// A webhook endpoint whose secret is stored in plain text, as before encryption.
pub async fn plain_webhook(tdb: &TestDb, account: &AccountId, secret: &str) -> WebhookId {
    let id = WebhookId::generate();
    webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account.clone()),
        name: Set("plain".into()),
        url: Set("https://example.com/hooks".into()),
        secret: Set(Some(secret.into())),
        events: Set(EventFilter::all()),
        retry_count: Set(3),
        timeout_seconds: Set(5),
        created_at: Set(chrono::Utc::now()),
        deleted_at: Set(None),
    })
    .exec_without_returning(&tdb.db)
    .await
    .expect("insert a webhook endpoint");
    id
}

/// `waplify-api migrate` with the secret encryption migration to run again, with
/// `key` as `WAPLIFY_SECRET_KEY` (none: unset).
pub async fn migrate_again(tdb: &TestDb, key: Option<&str>) {
    tdb.execute(
        "DELETE FROM seaql_migrations WHERE version = 'm20261205_000007_secret_encryption'",
    )
    .await;
    let mut cmd = std::process::Command::new(bin("waplify-api"));
    cmd.arg("migrate")
        .env("DATABASE_URL", &tdb.url)
        .env_remove("WAPLIFY_SECRET_KEY")
        .env_remove("WAPLIFY_SECRET_KEYS_OLD");
    if let Some(key) = key {
        cmd.env("WAPLIFY_SECRET_KEY", key);
    }
    let out = cmd.output().expect("run waplify-api migrate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("\"migrations_applied\":1"), "{stdout}");
}
