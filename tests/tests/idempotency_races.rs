//! `Idempotency-Key` while the first request is still running: a retry is refused with
//! 409 and nothing runs twice; a key in progress longer than the request timeout was
//! abandoned (its process died) and the next request takes it over.

use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, TransactionTrait};
use waplify_tests::idempotency::{Answer, post, set_in_progress};
use waplify_tests::{TestApp, TestDb, seed, spawn_app};

async fn send(app: &TestApp, api_key: &str, id: &str, idem: &[u8]) -> Answer {
    let path = format!("/api/v1/campaigns/{id}/send");
    post(app, &path, api_key, Some(idem), None).await
}

fn assert_in_use(a: &Answer) {
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.json()["error"], "idempotency_key_in_use");
    assert!(!a.replayed());
}

/// A first request really running: `send_campaign` waits on the account row, which
/// the test holds locked; a retry meanwhile is refused, and after the lock is let go
/// the first answers and its answer is what the next retry gets.
#[tokio::test]
async fn a_retry_while_the_first_request_runs_is_refused() {
    if !TestDb::is_postgres() {
        // SQLite has no row locks to hold a request with; the in-progress row below
        // covers it.
        return;
    }
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 80).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    let txn = app.tdb.db.begin().await.unwrap();
    // Should the test fail while holding the lock, PostgreSQL lets it go by itself (the
    // test database's cleanup would otherwise wait for it).
    txn.execute_unprepared("SET LOCAL idle_in_transaction_session_timeout = '30s'")
        .await
        .unwrap();
    // The lock the reservation's UPDATE takes; not FOR UPDATE, which would also block
    // the key's row (its foreign key share-locks the account).
    txn.execute_unprepared(&format!(
        "SELECT balance FROM accounts WHERE id = '{}' FOR NO KEY UPDATE",
        s.account_id
    ))
    .await
    .unwrap();
    let first = tokio::spawn({
        let client = waplify_tests::client::Client::new(&app.base);
        let (key, id) = (s.api_key.clone(), id.clone());
        async move {
            let path = format!("/api/v1/campaigns/{id}/send");
            post(&client, &path, &key, Some(b"held"), None).await
        }
    });
    waplify_tests::eventually(
        std::time::Duration::from_secs(10),
        "the first request to claim its key",
        || async {
            let n = app
                .scalar_i64("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'held'")
                .await;
            (n == 1).then_some(())
        },
    )
    .await;
    let retry = send(&app, &s.api_key, &id, b"held").await;
    assert_in_use(&retry);
    assert!(!first.is_finished(), "the first request is still held");
    txn.rollback().await.unwrap();
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let later = send(&app, &s.api_key, &id, b"held").await;
    assert!(later.replayed());
    assert_eq!(later.text, first.text);
    assert_eq!(app.balance(&s.account_id).await, 7, "reserved once");
}

/// The key's row as a first request leaves it while it runs; past the request timeout
/// (60 s by default) it is abandoned and taken over by the next request.
#[tokio::test]
async fn a_key_in_progress_is_refused_until_abandoned() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 80).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    let path = format!("/api/v1/campaigns/{id}/cancel");
    let first = post(&app, &path, &s.api_key, Some(b"c"), None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let db = &app.tdb.db;

    set_in_progress(db, &s.account_id, "c", Duration::seconds(1)).await;
    let before = app.row_counts().await;
    assert_in_use(&post(&app, &path, &s.api_key, Some(b"c"), None).await);
    assert_eq!(app.row_counts().await, before, "nothing ran");

    set_in_progress(db, &s.account_id, "c", Duration::seconds(61)).await;
    let taken_over = post(&app, &path, &s.api_key, Some(b"c"), None).await;
    assert!(!taken_over.replayed(), "the operation ran again");
    // The campaign is cancelled already: the operation itself now says so.
    assert_eq!(
        taken_over.status,
        StatusCode::CONFLICT,
        "{}",
        taken_over.text
    );
    assert_eq!(taken_over.json()["error"], "conflict");
    let retry = post(&app, &path, &s.api_key, Some(b"c"), None).await;
    assert!(retry.replayed());
    assert_eq!(retry.text, taken_over.text);
}
