//! A WhatsApp callback speaks only for the number it came for. One Meta app serves
//! every tenant's numbers, so a tenant can send with a victim's message id as
//! `biz_opaque_callback_data` and get a correctly signed callback naming it; statuses
//! and replies for another number (or, by our id, another recipient) change nothing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_shared::admin;
use waplify_tests::app::APP_SECRET;
use waplify_tests::client::phone;
use waplify_tests::seed::{SEEDED_NUMBER, number};
use waplify_tests::whatsapp::{all_applied, post_raw, sign};
use waplify_tests::{Fake, FakeConfig, TestApp, seed, spawn_app};

/// A signed notification for `pnid` with these statuses and messages.
async fn post_for(app: &TestApp, pnid: &str, statuses: Vec<Value>, messages: Vec<Value>) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
            "statuses": statuses, "messages": messages}}]}]})
    .to_string()
    .into_bytes();
    let (status, text) = post_raw(app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

fn failed(wamid: &str, recipient: &str, opaque: Option<&str>) -> Value {
    let mut v = json!({"id": wamid, "status": "failed", "timestamp": "1700000000",
        "recipient_id": recipient,
        "errors": [{"code": 131049, "title": "Not delivered to maintain healthy ecosystem engagement"}]});
    if let Some(id) = opaque {
        v["biz_opaque_callback_data"] = json!(id);
    }
    v
}

/// The victim's completed 4-recipient campaign: its key, id and `(id, wamid)` by phone.
async fn sent_campaign(app: &TestApp) -> (String, String, Vec<(String, String)>) {
    let victim = seed(&app.tdb.db, 1000, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let worker = app.start_worker(app.worker_config(&fake_url)).await;
    let campaign = app.create_campaign(&victim.api_key, 4).await;
    app.send(&victim.api_key, &campaign).await;
    app.wait_for_status(
        &victim.api_key,
        &campaign,
        "completed",
        Duration::from_secs(30),
    )
    .await;
    worker.shutdown().await;
    let mut rows = Vec::new();
    for i in 0..4 {
        let sql = |col: &str| {
            format!(
                "SELECT {col} FROM messages WHERE campaign_id = '{campaign}' AND phone = '{}'",
                phone(i)
            )
        };
        rows.push((
            app.scalar_text(&sql("id")).await,
            app.scalar_text(&sql("wamid")).await,
        ));
    }
    (victim.api_key, campaign, rows)
}

#[tokio::test]
async fn callbacks_for_another_number_or_recipient_change_nothing() {
    let app = spawn_app().await;
    let (key, campaign, rows) = sent_campaign(&app).await;
    let attacker = admin::account_create(&app.tdb.db, "Attacker", 10)
        .await
        .unwrap();
    let attacker_number = "109000000000666";
    number(
        &app.tdb.db,
        attacker.account_id.as_ref(),
        attacker_number,
        10,
        true,
    )
    .await;
    let [(m0, w0), (_, w1), (m2, _), (_, w3)] = rows.try_into().unwrap();

    // Our id, the right recipient, a number registered to nobody.
    post_for(
        &app,
        "999",
        vec![failed("wamid.other0", &phone(0), Some(&m0))],
        vec![],
    )
    .await;
    // The victim's own wamid, from another tenant's number.
    post_for(
        &app,
        attacker_number,
        vec![failed(&w1, &phone(1), None)],
        vec![],
    )
    .await;
    // Our id and the victim's number, but another recipient.
    post_for(
        &app,
        SEEDED_NUMBER,
        vec![failed("wamid.other2", "15559999999", Some(&m2))],
        vec![],
    )
    .await;
    // A reply quoting the victim's message, from another tenant's number.
    let reply = json!({"from": phone(0), "id": "wamid.in0", "timestamp": "1700000100",
        "type": "text", "text": {"body": "hi"}, "context": {"from": "15550000000", "id": w0}});
    post_for(&app, attacker_number, vec![], vec![reply]).await;
    // The one genuine status: applied, so the ones above were read and refused.
    let delivered = json!({"id": w3, "status": "delivered", "timestamp": "1700000000",
        "recipient_id": phone(3)});
    post_for(&app, SEEDED_NUMBER, vec![delivered], vec![]).await;
    let _worker = app
        .start_worker(app.worker_config("http://127.0.0.1:9"))
        .await;
    all_applied(&app).await;

    let stats = app.stats(&key, &campaign).await;
    assert_eq!(stats["failed_count"], 0, "{stats}");
    assert_eq!(stats["replied_count"], 0, "{stats}");
    assert_eq!(stats["delivered_count"], 1, "{stats}");
    assert_eq!(stats["sent_count"], 4, "{stats}");
    let foreign = app
        .scalar_i64("SELECT COUNT(*) FROM whatsapp_callbacks WHERE summary LIKE '%foreign: 1,%'")
        .await;
    assert_eq!(foreign, 4, "each refused status or reply is counted");
    app.tdb.assert_counts_consistent().await;
}
