//! WhatsApp callbacks in: the verification handshake, signatures (published vectors
//! and every published payload), forged bodies refused without a trace, and status
//! callbacks replayed shuffled, duplicated and mixed with forgeries, ending in the
//! right statuses, stats and exactly one customer event per transition.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hmac::{KeyInit, Mac};
use rand::seq::SliceRandom;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use waplify_shared::db::entities::message;
use waplify_tests::app::{APP_SECRET, VERIFY_TOKEN};
use waplify_tests::receiver::Receiver;
use waplify_tests::{Fake, FakeConfig, TestApp, eventually, seed, spawn_app};

const PATH: &str = "/api/v1/whatsapp/webhook";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/whatsapp")
}

/// `sha256=` + hex HMAC-SHA256, as Meta signs.
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post_raw(app: &TestApp, body: &[u8], signature: Option<&str>) -> (StatusCode, String) {
    let mut req = app
        .http
        .post(app.url(PATH))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("X-Hub-Signature-256", s);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn all_applied(app: &TestApp) {
    eventually(
        Duration::from_secs(30),
        "every callback applied",
        || async {
            (app.scalar_i64("SELECT COUNT(*) FROM whatsapp_callbacks WHERE processed_at IS NULL")
                .await
                == 0)
                .then_some(())
        },
    )
    .await;
}

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

fn status_object(wamid: &str, status: &str) -> Value {
    let mut v = json!({"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": "15550000000"});
    if status == "failed" {
        v["errors"] = json!([{"code": 131049, "title": "Healthy ecosystem", "message": "Healthy ecosystem",
            "error_data": {"details": "Not delivered to maintain healthy ecosystem engagement."}}]);
    }
    v
}

fn notification(statuses: Vec<Value>, messages: Vec<Value>) -> Vec<u8> {
    let mut value = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1"}});
    if !statuses.is_empty() {
        value["statuses"] = json!(statuses);
    }
    if !messages.is_empty() {
        value["messages"] = json!(messages);
    }
    json!({"object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]})
    .to_string()
    .into_bytes()
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
    let messages: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
            )
        })
        .collect();
    assert_eq!(messages.len(), N);

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
            let (status, _) = post_raw(&app, &forged, Some(&sign("not-the-secret", &forged))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, text) = post_raw(&app, body, Some(&sign(APP_SECRET, body))).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
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
        assert!(r.body_signature_ok(SECRET) && r.standard_signature_ok(SECRET));
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

#[tokio::test]
async fn a_callback_settles_a_message_stuck_in_sending_so_it_is_not_resent() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let campaign = app.create_campaign(&s.api_key, 2).await;
    let (status, _) = app.send(&s.api_key, &campaign).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let stuck = app
        .scalar_text(&format!(
            "SELECT id FROM messages WHERE campaign_id = '{campaign}' ORDER BY phone LIMIT 1"
        ))
        .await;
    // What a worker killed right after WhatsApp accepted leaves behind: `sending`, a
    // claim that expires in a few seconds, and no wamid.
    let lease = chrono::Utc::now() + chrono::Duration::seconds(4);
    message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value("sending"))
        .col_expr(message::Column::Claim, Expr::value("dead-worker"))
        .col_expr(message::Column::Attempts, Expr::value(1))
        .col_expr(message::Column::LeaseUntil, Expr::value(lease))
        .filter(message::Column::Id.eq(&stuck))
        .exec(&app.tdb.db)
        .await
        .unwrap();
    app.execute(&format!(
        "INSERT INTO message_counts (campaign_id, shard, status, n) \
         VALUES ('{campaign}', 99, 'pending', -1), ('{campaign}', 99, 'sending', 1)"
    ))
    .await;
    let body = notification(
        vec![
            json!({"id": "wamid.recovered", "status": "delivered", "timestamp": "1700000000",
            "recipient_id": "15550000000", "biz_opaque_callback_data": stuck}),
        ],
        vec![],
    );
    let (status, _) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::OK);
    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    app.wait_for_status(&s.api_key, &campaign, "completed", Duration::from_secs(30))
        .await;
    // Past the lease and a few reconcile passes: still never sent again.
    let wait = (lease - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(2);
    tokio::time::sleep(wait).await;
    assert!(!fake.calls().contains_key(&stuck), "{:?}", fake.calls());
    assert_eq!(fake.counters().accepted, 1);
    assert_eq!(
        app.scalar_text(&format!("SELECT status FROM messages WHERE id = '{stuck}'"))
            .await,
        "delivered"
    );
    assert_eq!(
        app.scalar_text(&format!("SELECT wamid FROM messages WHERE id = '{stuck}'"))
            .await,
        "wamid.recovered"
    );
    let history = app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM message_events WHERE message_id = '{stuck}' AND \
             ((from_status = 'sending' AND to_status = 'sent') OR (from_status = 'sent' AND to_status = 'delivered'))"
        ))
        .await;
    assert_eq!(history, 2);
    let stats = app.stats(&s.api_key, &campaign).await;
    assert_eq!(
        (
            stats["sent_count"].clone(),
            stats["delivered_count"].clone()
        ),
        (json!(2), json!(1))
    );
}

#[tokio::test]
async fn a_stored_callback_whose_job_was_lost_is_applied_by_the_reconciler() {
    let app = spawn_app().await;
    let body = std::fs::read(fixtures().join("status/pywa_status_read.json")).unwrap();
    let (status, _) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::OK);
    // Redis loses the job (a flush, a failover): only the SQL row is left.
    let mut conn = app.queues.conn();
    let keys: Vec<String> =
        redis::AsyncCommands::keys(&mut conn, format!("{}:callback:*", app.prefix))
            .await
            .unwrap();
    assert!(!keys.is_empty(), "the API queued a job");
    let _: () = redis::AsyncCommands::del(&mut conn, keys).await.unwrap();
    let _worker = app
        .start_worker(app.worker_config("http://127.0.0.1:9"))
        .await;
    all_applied(&app).await;
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM whatsapp_callbacks WHERE processed_at IS NOT NULL")
            .await,
        1
    );
}
