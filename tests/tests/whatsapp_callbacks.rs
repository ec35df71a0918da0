//! WhatsApp callbacks in: the verification handshake, signatures (published vectors
//! and every published payload), forged bodies refused without a trace, and status
//! callbacks replayed shuffled, duplicated and mixed with forgeries, ending in the
//! right statuses, stats and exactly one customer event per transition.

use std::collections::HashMap;
use std::time::Duration;

use rand::seq::SliceRandom;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use waplify_tests::app::{APP_SECRET, VERIFY_TOKEN};
use waplify_tests::receiver::Receiver;
use waplify_tests::whatsapp::{
    PATH, all_applied, fixtures, notification, post_raw, sign, status_object,
};
use waplify_tests::{Fake, FakeConfig, TestApp, eventually, seed, spawn_app};

#[tokio::test]
async fn the_verification_handshake_echoes_the_challenge_only_for_our_token() {
    let app = spawn_app().await;
    let ok = app
        .http
        .get(app.url(&format!(
            "{PATH}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for query in [
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong",
        "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=test-verify-token",
        "hub.challenge=1&hub.verify_token=test-verify-token",
        "hub.mode=subscribe&hub.challenge=1",
        // Meta's challenges are digits; anything else is never echoed.
        "hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=test-verify-token",
        "hub.mode=subscribe&hub.challenge=12a&hub.verify_token=test-verify-token",
        "hub.mode=subscribe&hub.challenge=&hub.verify_token=test-verify-token",
        "",
    ] {
        let (status, body) = app.get(&format!("{PATH}?{query}"), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{query}: {body}");
        assert_eq!(body["error"], "forbidden");
    }
}

#[tokio::test]
async fn forged_callbacks_are_refused_and_every_published_payload_is_accepted() {
    let app = spawn_app().await;
    let body = std::fs::read(fixtures().join("status/meta_status_failed_131049.json")).unwrap();
    for signature in [
        None,
        Some("sha256=".to_owned() + &"0".repeat(64)),
        Some(sign("another-secret", &body)),
        Some(sign(APP_SECRET, b"a different body")),
        Some(sign(APP_SECRET, &body)[7..].to_owned()),
        Some("garbage".to_owned()),
    ] {
        let (status, text) = post_raw(&app, &body, signature.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{signature:?}: {text}");
        let err: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (err["error"].clone(), err["message"].clone()),
            (json!("unauthorized"), json!("Invalid signature"))
        );
    }
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM whatsapp_callbacks")
            .await,
        0
    );

    // The published and generated vectors, exactly as given.
    let vectors: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("signature/test_vectors.json")).unwrap(),
    )
    .unwrap();
    let mut accepted = 0;
    for v in vectors["vectors"].as_array().unwrap() {
        let Some(file) = v["body_file"].as_str() else {
            continue;
        };
        assert_eq!(v["secret"], APP_SECRET);
        let body = std::fs::read(fixtures().join(file)).unwrap();
        let (status, text) = post_raw(&app, &body, v["header"].as_str()).await;
        assert_eq!(status, StatusCode::OK, "{}: {text}", v["name"]);
        accepted += 1;
    }
    assert_eq!(accepted, 4);
    // Signed right but not a JSON object: verified, then refused as a bad request.
    let (status, _) = post_raw(
        &app,
        b"test",
        Some("sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Every published payload, signed over its exact bytes.
    let mut files = 0;
    for dir in ["status", "multi", "inbound", "errors"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let body = std::fs::read(entry.unwrap().path()).unwrap();
            let (status, text) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
            assert_eq!(status, StatusCode::OK, "{text}");
            files += 1;
        }
    }
    assert!(files >= 30, "{files}");
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM whatsapp_callbacks")
            .await,
        files + 4
    );
    // A worker applies them all; none are ours, so nothing changes, and nothing fails.
    let _worker = app
        .start_worker(app.worker_config("http://127.0.0.1:9"))
        .await;
    all_applied(&app).await;
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM message_events").await,
        0
    );
}

/// The statuses a message ends in, by index.
fn target(i: usize) -> &'static str {
    match i % 3 {
        0 => "read",
        1 => "delivered",
        _ => "failed",
    }
}

#[tokio::test]
async fn shuffled_duplicated_and_forged_callbacks_end_right_with_one_event_per_transition() {
    const N: usize = 30;
    const SECRET: &str = "receiver-secret";
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let (receiver, url) = Receiver::start().await;
    let (status, _) = app
        .post(
            "/api/v1/webhooks",
            Some(&s.api_key),
            Some(json!({"name": "all", "url": url, "secret": SECRET})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    let campaign = app.create_campaign(&s.api_key, N).await;
    app.send(&s.api_key, &campaign).await;
    app.wait_for_status(&s.api_key, &campaign, "completed", Duration::from_secs(30))
        .await;

    let messages = ids_and_wamids(&app, &campaign).await;
    assert_eq!(messages.len(), N);
    post_shuffled_with_forgeries(&app, &messages).await;
    all_applied(&app).await;

    for (i, (id, _)) in messages.iter().enumerate() {
        let status = app
            .scalar_text(&format!("SELECT status FROM messages WHERE id = '{id}'"))
            .await;
        assert_eq!(status, target(i), "message {i}");
    }
    let stats = app.stats(&s.api_key, &campaign).await;
    let (reads, delivers, fails) = (N / 3, N / 3, N / 3);
    assert_eq!(stats["sent_count"], reads + delivers, "{stats}");
    assert_eq!(stats["delivered_count"], reads + delivers, "{stats}");
    assert_eq!(stats["read_count"], reads, "{stats}");
    assert_eq!(stats["failed_count"], fails, "{stats}");
    assert_eq!(stats["replied_count"], 5, "{stats}");
    assert_eq!(stats["clicked_count"], 3, "{stats}");
    app.tdb.assert_counts_consistent().await;

    // Exactly one event per transition, every one signed.
    let expected_events = N + (reads + delivers) + reads + fails;
    one_signed_event_per_transition(&receiver, SECRET, &messages, expected_events).await;
}

/// The campaign's messages, `(id, wamid)`, by phone.
async fn ids_and_wamids(app: &TestApp, campaign: &str) -> Vec<(String, String)> {
    let rows = app
        .tdb
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.tdb.db.get_database_backend(),
            format!(
                "SELECT id, wamid FROM messages WHERE campaign_id = '{campaign}' ORDER BY phone"
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
            )
        })
        .collect()
}

/// Posts the callbacks the messages get, shuffled, and before every third a forgery
/// that is refused.
async fn post_shuffled_with_forgeries(app: &TestApp, messages: &[(String, String)]) {
    // Every status a message passes through, each twice, all shuffled.
    let mut statuses = Vec::new();
    for (i, (_, wamid)) in messages.iter().enumerate() {
        let path: &[&str] = match target(i) {
            "read" => &["sent", "delivered", "read"],
            "delivered" => &["sent", "delivered"],
            _ => &["sent", "failed"],
        };
        for s in path {
            statuses.push(status_object(wamid, s));
            statuses.push(status_object(wamid, s));
        }
    }
    statuses.shuffle(&mut rand::rng());
    // Replies quote messages 0..5 (message 0 twice); button taps on 0..3.
    let mut replies = Vec::new();
    for i in [0usize, 0, 1, 2, 3, 4] {
        replies.push(json!({"from": "15550000000", "id": format!("wamid.in{i}"), "timestamp": "1700000100",
            "type": "text", "text": {"body": "thanks"}, "context": {"from": "15550000000", "id": messages[i].1}}));
    }
    for (i, (_, wamid)) in messages.iter().enumerate().take(3) {
        replies.push(json!({"from": "15550000000", "id": format!("wamid.btn{i}"), "timestamp": "1700000200",
            "type": "button", "button": {"payload": "STOP", "text": "Stop"}, "context": {"from": "15550000000", "id": wamid}}));
    }
    let mut bodies: Vec<Vec<u8>> = statuses
        .chunks(7)
        .map(|c| notification(c.to_vec(), vec![]))
        .collect();
    bodies.push(notification(vec![], replies));
    bodies.shuffle(&mut rand::rng());
    for (n, body) in bodies.iter().enumerate() {
        if n % 3 == 0 {
            // A forgery that would read every failed message.
            let forged: Vec<Value> = messages
                .iter()
                .map(|(_, w)| status_object(w, "read"))
                .collect();
            let forged = notification(forged, vec![]);
            let (status, _) = post_raw(app, &forged, Some(&sign("not-the-secret", &forged))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, text) = post_raw(app, body, Some(&sign(APP_SECRET, body))).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
}

/// The receiver got exactly the expected events, each signed, one per message and
/// transition.
async fn one_signed_event_per_transition(
    receiver: &Receiver,
    secret: &str,
    messages: &[(String, String)],
    expected_events: usize,
) {
    let got = eventually(Duration::from_secs(30), "every event delivered", || async {
        let got = receiver.received();
        (got.len() >= expected_events).then_some(got)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        receiver.received().len(),
        expected_events,
        "no extra events"
    );
    let mut per: HashMap<(String, String), usize> = HashMap::new();
    for r in &got {
        assert!(r.body_signature_ok(secret) && r.standard_signature_ok(secret));
        let e = r.json();
        *per.entry((
            e["message"]["message_id"].as_str().unwrap().to_owned(),
            e["event"].as_str().unwrap().to_owned(),
        ))
        .or_default() += 1;
    }
    for (i, (id, _)) in messages.iter().enumerate() {
        let wanted: &[&str] = match target(i) {
            "read" => &["message.sent", "message.delivered", "message.read"],
            "delivered" => &["message.sent", "message.delivered"],
            _ => &["message.sent", "message.failed"],
        };
        for event in wanted {
            assert_eq!(
                per.get(&(id.clone(), event.to_string())),
                Some(&1),
                "message {i} {event}"
            );
        }
        let total: usize = per
            .iter()
            .filter(|((m, _), _)| m == id)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(total, wanted.len(), "message {i}");
    }
}
