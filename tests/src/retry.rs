//! Helpers of the `retry_failed_messages` tests: a fake server, a worker that gives up
//! a transient error soon, the call, and the credits of a one-campaign database.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use waplify_worker::Worker;

use crate::{Fake, FakeConfig, TestApp};

pub const WAIT: Duration = Duration::from_secs(60);

/// A fake WhatsApp server on a free port, and its URL.
pub async fn fake(config: FakeConfig) -> (Fake, String) {
    let fake = Fake::new(config);
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, url)
}

/// A worker that gives up a transient error after two calls.
pub async fn worker(app: &TestApp, url: &str) -> Worker {
    let mut cfg = app.worker_config(url);
    cfg.max_attempts = 2;
    app.start_worker(cfg).await
}

pub fn path(id: &str) -> String {
    format!("/api/v1/campaigns/{id}/retry-failed")
}

/// `POST …/retry-failed` as `key`, with `body` if any.
pub async fn retry(app: &TestApp, key: &str, id: &str, body: Option<Value>) -> (StatusCode, Value) {
    app.post(&path(id), Some(key), body).await
}

/// The message ids of these recipients.
pub async fn ids_of(app: &TestApp, phones: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    for p in phones {
        out.insert(
            app.scalar_text(&format!("SELECT id FROM messages WHERE phone = '{p}'"))
                .await,
        );
    }
    out
}

/// The campaign's reserve and refunds, the account's balance (checked against its
/// ledger) and the campaign's ledger entries. The database holds one campaign.
pub async fn credits(app: &TestApp, account: &str) -> (i64, i64, i64, i64) {
    let reserved = app
        .scalar_i64("SELECT credits_reserved FROM campaigns")
        .await;
    let refunded = app
        .scalar_i64("SELECT credits_refunded FROM campaigns")
        .await;
    let balance = app.balance(account).await;
    assert_eq!(
        app.ledger_sum(account).await,
        balance,
        "the ledger sums to the balance"
    );
    let entries = app
        .scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE campaign_id IS NOT NULL")
        .await;
    (reserved, refunded, balance, entries)
}
