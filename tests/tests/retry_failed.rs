//! `retry_failed_messages` on a campaign with a mix of outcomes: the failed recipients
//! sent again, each once, the sent ones never; the default pick and `error_codes`;
//! credits charged for the retried and refunded for the new failures only; nothing left
//! to pick and bad bodies. (A stopped campaign, races and statuses:
//! `retry_failed_stopped.rs`.)

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;
use waplify_tests::app::phone;
use waplify_tests::retry::{WAIT, credits, fake, ids_of, retry, worker};
use waplify_tests::{Fake, FakeConfig, TestApp, seed, spawn_app};

/// Twenty recipients: three fail for good (`131026`), three ran out of attempts on a
/// transient error (`503 code 2`), fourteen are sent.
struct Mixed {
    app: TestApp,
    s: waplify_tests::Seeded,
    fake: Fake,
    id: String,
    permanent: Vec<String>,
    transient: Vec<String>,
}

#[tokio::test]
async fn failed_recipients_are_sent_once_and_the_sent_ones_never_again() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let permanent: Vec<String> = (0..3).map(phone).collect();
    let transient: Vec<String> = (3..6).map(phone).collect();
    let (fake, url) = fake(FakeConfig {
        fail_numbers: permanent.clone(),
        transient_numbers: transient.clone(),
        ..Default::default()
    })
    .await;
    let w = worker(&app, &url).await;
    let id = app.create_campaign(&s.api_key, 20).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(14), Some(6))
    );
    assert_eq!(credits(&app, &s.account_id).await, (20, 6, 86, 2));
    let sent_before: HashSet<String> = fake.accepted_ids();
    assert_eq!(sent_before.len(), 14);
    // One recipient's outcome stayed unknown (its last call timed out, no callback
    // came): WhatsApp may have it, so no retry picks it.
    app.execute(&format!(
        "UPDATE messages SET error_code = NULL, error_message = 'outcome unknown (attempt 2, the last allowed, has none)' WHERE phone = '{}'",
        permanent[0]
    ))
    .await;
    let m = Mixed {
        app,
        s,
        fake,
        id,
        permanent,
        transient,
    };
    retry_by_default(&m, &sent_before).await;
    retry_by_code(&m).await;
    nothing_left_and_bad_bodies(&m).await;
    m.app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}

/// The default pick: the transient failures, each sent once; the sent and the
/// permanent ones not called again.
async fn retry_by_default(m: &Mixed, sent_before: &HashSet<String>) {
    let Mixed {
        app,
        s,
        fake,
        id,
        permanent,
        transient,
    } = m;
    fake.set_config(FakeConfig::default());
    let (status, body) = retry(app, &s.api_key, id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["campaign_id"], id.as_str());
    assert_eq!(body["count"], 3, "the transient failures only: {body}");
    let task_id = body["task_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.scalar_text("SELECT task_id FROM campaigns").await,
        task_id
    );
    let stats = app.wait_for_status(&s.api_key, id, "completed", WAIT).await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(17), Some(3)),
        "{stats}"
    );
    let retried = ids_of(app, transient).await;
    let accepted = fake.accepted_ids();
    assert!(retried.is_subset(&accepted), "every retried recipient sent");
    assert_eq!(accepted.len(), 17);
    assert!(
        fake.duplicate_ids().is_empty(),
        "{:?}",
        fake.duplicate_ids()
    );
    let calls = fake.calls();
    for sent in sent_before {
        assert_eq!(calls[sent], 1, "a sent recipient is never called again");
    }
    for failed in ids_of(app, permanent).await {
        assert_eq!(
            calls[&failed], 1,
            "a permanent failure is not retried by default"
        );
    }
    for again in &retried {
        assert_eq!(calls[again], 3, "two failed calls, then one accepted");
    }
    // Charged for 3, refunded the 3 still failed only: 100 - 17.
    assert_eq!(credits(app, &s.account_id).await, (20, 3, 83, 3));
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'reserve' AND amount = -3")
            .await,
        1
    );
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM message_events WHERE from_status = 'failed' AND to_status = 'pending'").await, 3);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'sent' AND attempts = 1 AND error_code IS NULL AND failed_at IS NULL AND wamid IS NOT NULL AND phone IN ('15550000003', '15550000004', '15550000005')").await, 3);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM campaign_events WHERE from_status = 'completed' AND to_status = 'queued'").await, 1);
}

/// The permanent ones by their code; the unknown outcome still not.
async fn retry_by_code(m: &Mixed) {
    let Mixed {
        app, s, fake, id, ..
    } = m;
    let (status, body) = retry(
        app,
        &s.api_key,
        id,
        Some(json!({"error_codes": [131026, 131026]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["count"], 2, "{body}");
    let stats = app.wait_for_status(&s.api_key, id, "completed", WAIT).await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(19), Some(1)),
        "{stats}"
    );
    assert_eq!(fake.accepted_ids().len(), 19);
    assert!(fake.duplicate_ids().is_empty());
    assert_eq!(credits(app, &s.account_id).await, (20, 1, 81, 4));
}

/// Nothing left to pick (409), and bad bodies (400): nothing changed.
async fn nothing_left_and_bad_bodies(m: &Mixed) {
    let Mixed { app, s, id, .. } = m;
    let before = app.row_counts().await;
    let (status, body) = retry(app, &s.api_key, id, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("No failed recipients to retry"),
        "{body}"
    );
    let (status, body) = retry(app, &s.api_key, id, Some(json!({"error_codes": [131026]}))).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("No failed recipients to retry with error code 131026")
        )
    );
    for bad in [
        json!({"error_codes": []}),
        json!({"error_codes": [0]}),
        json!({"error_codes": [99999999999_i64]}),
        json!({"error_codes": "131026"}),
        json!({"codes": [131026]}),
        json!([]),
    ] {
        let (status, body) = retry(app, &s.api_key, id, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "bad_request", "{body}");
    }
    assert_eq!(app.row_counts().await, before);
    assert_eq!(
        app.stats(&s.api_key, id).await["campaign_status"],
        "completed"
    );
}
