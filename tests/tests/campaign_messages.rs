//! A campaign's recipients: the keyset walk (with recipients added meanwhile), the
//! status and error-code filters against what the fake WhatsApp saw, one message's
//! history (who made each step) and provider calls, and tenancy. The CSV export is in
//! `campaign_messages_csv.rs`.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use waplify_shared::db::entities::message;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_tests::app::APP_SECRET;
use waplify_tests::fake_callbacks::CallbackConfig;
use waplify_tests::recipients::{ids, messages, walk};
use waplify_tests::{Fake, FakeConfig, seed, spawn_app};

async fn fake(config: FakeConfig) -> (Fake, String) {
    let fake = Fake::new(config);
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, url)
}

#[tokio::test]
async fn a_walk_sees_every_existing_row_once_while_recipients_are_added() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 80).await;
    let id = app.create_campaign(&s.api_key, 250).await;
    let before: BTreeSet<String> = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CampaignId.eq(CampaignId::parse(&id).unwrap()))
        .into_tuple::<MessageId>()
        .all(&app.tdb.db)
        .await
        .unwrap()
        .into_iter()
        .map(MessageId::into_string)
        .collect();
    assert_eq!(before.len(), 250);

    let (mut seen, mut after, mut added) = (Vec::new(), None::<String>, 0);
    loop {
        let cursor = after.map(|c| format!("&after={c}")).unwrap_or_default();
        let (status, page) = app
            .get(
                &format!("{}?limit=40{cursor}", messages(&id)),
                Some(&s.api_key),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["limit"], 40);
        seen.extend(ids(page["items"].as_array().unwrap()));
        // Ten more recipients between every two pages.
        let contacts: Vec<Value> = (0..10)
            .map(|i| json!({ "phone": format!("1666{:07}", added + i) }))
            .collect();
        added += 10;
        let (status, body) = app
            .post(
                &format!("/api/v1/campaigns/{id}/contacts"),
                Some(&s.api_key),
                Some(json!({ "contacts": contacts })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "strictly increasing, nothing twice");
    let seen: BTreeSet<String> = seen.into_iter().collect();
    assert!(
        before.is_subset(&seen),
        "{} of 250 seen",
        before.intersection(&seen).count()
    );

    // Bad input is a JSON 400 that names the problem.
    for (query, says) in [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?after=not-a-cursor", "Invalid after"),
        ("?after=AAAA", "Invalid after"),
        ("?status=lost", "status"),
        ("?error_code=x", "error_code"),
    ] {
        let (status, body) = app
            .get(&format!("{}{query}", messages(&id)), Some(&s.api_key))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "bad_request");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn filters_match_what_the_provider_answered() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 80).await;
    let failing: Vec<String> = (0..5).map(waplify_tests::app::phone).collect();
    let (fake, url) = fake(FakeConfig {
        fail_numbers: failing.clone(),
        ..Default::default()
    })
    .await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 23).await;
    app.send(&s.api_key, &id).await;
    app.wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;

    let phones = |rows: &[Value]| -> BTreeSet<String> {
        rows.iter()
            .map(|r| r["phone"].as_str().unwrap().to_owned())
            .collect()
    };
    let failed = walk(&app, &s.api_key, &id, "&status=failed").await;
    assert_eq!(phones(&failed), failing.iter().cloned().collect());
    for r in &failed {
        assert_eq!(
            (r["status"].as_str(), r["error_code"].as_i64()),
            (Some("failed"), Some(131026)),
            "{r}"
        );
        assert!(r["failed_at"].is_string() && r["sent_at"].is_null(), "{r}");
    }
    let sent = walk(&app, &s.api_key, &id, "&status=sent").await;
    assert_eq!(sent.len(), 18);
    let accepted: HashSet<String> = fake.accepted_ids();
    for r in &sent {
        assert!(accepted.contains(r["message_id"].as_str().unwrap()), "{r}");
        assert!(r["wamid"].as_str().unwrap().starts_with("wamid."), "{r}");
    }
    let both = walk(&app, &s.api_key, &id, "&status=failed&status=sent").await;
    assert_eq!(both.len(), 23);
    let mut sorted = ids(&both);
    sorted.sort();
    assert_eq!(sorted, ids(&both), "two statuses merge in id order");
    assert_eq!(
        ids(&walk(&app, &s.api_key, &id, "&error_code=131026").await),
        ids(&failed)
    );
    assert!(
        walk(&app, &s.api_key, &id, "&status=failed&error_code=2")
            .await
            .is_empty()
    );
    assert!(
        walk(&app, &s.api_key, &id, "&status=pending")
            .await
            .is_empty()
    );

    // One failed message: one call, answered 400 with the provider's code.
    let one = failed[0]["message_id"].as_str().unwrap();
    let (status, body) = app
        .get(&format!("{}/{one}", messages(&id)), Some(&s.api_key))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let calls = body["message"]["provider_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{body}");
    assert_eq!(
        (calls[0]["attempt"].as_i64(), calls[0]["outcome"].as_str()),
        (Some(1), Some("failed"))
    );
    assert_eq!(
        (
            calls[0]["http_status"].as_i64(),
            calls[0]["error_code"].as_i64()
        ),
        (Some(400), Some(131026))
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn one_message_shows_its_history_and_every_provider_call_after_a_retry() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 80).await;
    let (_fake, url) = fake(FakeConfig {
        transient_first_rate: 1.0,
        callbacks: CallbackConfig {
            url: Some(format!("{}/api/v1/whatsapp/webhook", app.base)),
            app_secret: APP_SECRET.into(),
            delay_ms: 50,
            delivered_rate: 1.0,
            read_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    app.send(&s.api_key, &id).await;
    app.wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    let rows = walk(&app, &s.api_key, &id, "").await;
    assert_eq!(rows.len(), 3);
    let one = rows[1]["message_id"].as_str().unwrap();
    let path = format!("{}/{one}", messages(&id));
    let m = waplify_tests::eventually(Duration::from_secs(30), "the message read", || async {
        let (status, body) = app.get(&path, Some(&s.api_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body["message"]["status"] == "read").then(|| body["message"].clone())
    })
    .await;
    assert_eq!(m["attempts"], 2, "{m}");
    assert_eq!(m["phone"], rows[1]["phone"]);
    let steps: Vec<(Value, Value, Value)> = m["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["from"].clone(), h["to"].clone(), h["source"].clone()))
        .collect();
    let step = |f: &str, t: &str, by: &str| (json!(f), json!(t), json!(by));
    assert_eq!(
        steps,
        vec![
            step("pending", "sending", "worker"),
            step("sending", "pending", "worker"),
            step("pending", "sending", "worker"),
            step("sending", "sent", "worker"),
            step("sent", "delivered", "callback"),
            step("delivered", "read", "callback"),
        ]
    );
    let calls: Vec<(Value, Value, Value, Value)> = m["provider_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["attempt"].clone(),
                c["outcome"].clone(),
                c["http_status"].clone(),
                c["error_code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            (json!(1), json!("retry"), json!(503), json!(2)),
            (json!(2), json!("sent"), json!(200), Value::Null)
        ]
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn a_cancel_is_the_operators_step() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 80).await;
    let draft = app.create_campaign(&s.api_key, 2).await;
    let (status, body) = app.control(&s.api_key, &draft, "cancel").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cancelled = walk(&app, &s.api_key, &draft, "&status=cancelled").await;
    assert_eq!(cancelled.len(), 2);
    let one = cancelled[0]["message_id"].as_str().unwrap();
    let (_, body) = app
        .get(&format!("{}/{one}", messages(&draft)), Some(&s.api_key))
        .await;
    let history = body["message"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{body}");
    assert_eq!(
        (history[0]["to"].as_str(), history[0]["source"].as_str()),
        (Some("cancelled"), Some("operator"))
    );
}

#[tokio::test]
async fn another_accounts_campaign_or_message_is_not_found() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 80).await;
    let other = seed(&app.tdb.db, 1000, 80).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    let second = app.create_campaign(&s.api_key, 1).await;
    let rows = walk(&app, &s.api_key, &id, "").await;
    let one = rows[0]["message_id"].as_str().unwrap();
    for (path, key, says) in [
        (messages(&id), &other.api_key, "Campaign not found"),
        (
            format!("{}/{one}", messages(&id)),
            &other.api_key,
            "Campaign not found",
        ),
        (
            format!("{}/{one}", messages(&second)),
            &s.api_key,
            "Message not found",
        ),
        (
            format!("{}/0123456789abcdef01234567", messages(&id)),
            &s.api_key,
            "Message not found",
        ),
    ] {
        let (status, body) = app.get(&path, Some(key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["message"], says, "{path}");
    }
    let (status, body) = app
        .get(&format!("{}/nothex", messages(&id)), Some(&s.api_key))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
