//! Properties of inbound WhatsApp callbacks over generated bodies: any JSON tree and
//! the published payloads with parts replaced, removed, retyped or repeated. Reading
//! one never panics and yields exactly the statuses an independent walk finds; over
//! HTTP, a correctly signed POST of any bytes is a 200 (a JSON object, stored) or a
//! 400 (anything else, nothing stored), never a server error, and a worker applies
//! every stored one without giving any up.

use std::cell::Cell;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_shared::status::MessageStatus;
use waplify_tests::app::APP_SECRET;
use waplify_tests::arbitrary::{json_value, meta_shaped};
use waplify_tests::mutated::{callback_body, mutated_payload};
use waplify_tests::whatsapp::{all_applied, notification, post_raw, sign, status_object};
use waplify_tests::{Fake, FakeConfig, seed, spawn_app};
use waplify_worker::callbacks::apply::reports;
use waplify_worker::callbacks::parse::{is_click, list, timestamp, values};
use waplify_worker::callbacks::summary::Applied;

/// The statuses a body holds, found without the parser: the array at
/// `entry[i].changes[j].value.statuses`, each paired with the `(wamid, status)` a
/// report of it must carry when it is one we track.
fn expected(body: &Value) -> (usize, Vec<(String, MessageStatus)>) {
    let arr = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut total = 0;
    let mut tracked = Vec::new();
    for entry in arr(body, "entry") {
        for change in arr(&entry, "changes") {
            let Some(value) = change.get("value") else {
                continue;
            };
            for s in arr(value, "statuses") {
                total += 1;
                let id = s
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|i| !i.contains('\0'));
                let to = match s.get("status").and_then(Value::as_str) {
                    Some("sent") => MessageStatus::Sent,
                    Some("delivered") => MessageStatus::Delivered,
                    Some("read") => MessageStatus::Read,
                    Some("failed") => MessageStatus::Failed,
                    _ => continue,
                };
                if let Some(id) = id {
                    tracked.push((id.to_owned(), to));
                }
            }
        }
    }
    tracked.sort();
    (total, tracked)
}

fn any_body() -> impl Strategy<Value = Value> {
    prop_oneof![json_value(), mutated_payload(), meta_shaped()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reading_any_body_finds_exactly_its_tracked_statuses(body in any_body()) {
        let mut out = Applied::default();
        let found = reports(&body, &mut out);
        let (total, tracked) = expected(&body);
        prop_assert_eq!(found.len() + out.ignored, total);
        prop_assert!(found.is_sorted_by(|a, b| a.wamid <= b.wamid));
        let mut got: Vec<_> = found.iter().map(|r| (r.wamid.clone(), r.to)).collect();
        got.sort();
        prop_assert_eq!(got, tracked);
        for r in &found {
            // Stored as text: PostgreSQL refuses NUL.
            for field in [r.recipient.as_deref(), r.error_message.as_deref()] {
                prop_assert!(!field.unwrap_or_default().contains('\0'), "{:?}", r);
            }
            if r.to == MessageStatus::Failed {
                prop_assert!(r.error_message.is_some(), "{:?}", r);
            }
        }
        for value in values(&body) {
            for msg in list(value, "messages") {
                let _ = (is_click(msg), timestamp(msg.get("timestamp")));
            }
        }
    }

    #[test]
    fn timestamps_are_whole_seconds_as_given_or_none(
        n in prop_oneof![any::<i64>(), -100_000_000_000i64..100_000_000_000],
        text in "[-+ 0-9.e]{0,24}",
        f in any::<f64>(),
    ) {
        let secs = |v: Value| timestamp(Some(&v)).map(|t| t.timestamp());
        // Times from 1970 to year 9999, which both databases store.
        let representable = (0..=253_402_300_799).contains(&n);
        prop_assert_eq!(secs(n.into()), representable.then_some(n));
        prop_assert_eq!(secs(n.to_string().into()), representable.then_some(n));
        if let Some(t) = secs(text.clone().into()) {
            prop_assert_eq!(text.parse::<i64>().ok(), Some(t));
        }
        if f.fract() != 0.0 || !f.is_finite() {
            let v = serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
            prop_assert_eq!(secs(v), None);
        }
    }
}

/// One API, and one worker after, for every generated body: booting once keeps the
/// test to seconds.
#[test]
fn signed_callbacks_of_any_shape_are_never_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let stored = Cell::new(0i64);
    let mut runner = TestRunner::new(Config {
        cases: 96,
        source_file: Some(file!()),
        ..Config::default()
    });
    runner
        .run(&callback_body(), |body| {
            let signature = sign(APP_SECRET, &body);
            let (status, text) = rt.block_on(post_raw(&app, &body, Some(&signature)));
            prop_assert!(!status.is_server_error(), "{status}: {text}");
            let object = std::str::from_utf8(&body)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .is_some_and(|v| v.is_object());
            let want = if object {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            prop_assert_eq!(status, want, "{}", text);
            let answer: Value = serde_json::from_str(&text).unwrap();
            if !object {
                prop_assert_eq!(&answer["error"], "bad_request", "{}", text);
            }
            stored.set(stored.get() + i64::from(object));
            Ok(())
        })
        .unwrap();
    // The generator makes both kinds: bodies stored and bodies refused.
    assert!(
        (1..96).contains(&stored.get()),
        "{} of 96 stored",
        stored.get()
    );
    rt.block_on(async {
        let count = |sql: &'static str| app.scalar_i64(sql);
        assert_eq!(
            count("SELECT COUNT(*) FROM whatsapp_callbacks").await,
            stored.get()
        );
        let _worker = app
            .start_worker(app.worker_config("http://127.0.0.1:9"))
            .await;
        all_applied(&app).await;
        let given_up =
            "SELECT COUNT(*) FROM whatsapp_callbacks WHERE dead_at IS NOT NULL OR attempts > 0";
        assert_eq!(count(given_up).await, 0);
        assert_eq!(count("SELECT COUNT(*) FROM message_events").await, 0);
    });
}

/// Found by `timestamps_are_whole_seconds_as_given_or_none`: a status time chrono
/// takes but PostgreSQL does not (here in year -251,000) failed the status's update
/// on every run until the callback was given up. Such a time counts as none: the
/// status is applied at its receipt.
#[tokio::test]
async fn a_status_time_out_of_range_is_taken_as_the_time_of_receipt() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    let campaign = app.create_campaign(&s.api_key, 1).await;
    app.send(&s.api_key, &campaign).await;
    app.wait_for_status(&s.api_key, &campaign, "completed", Duration::from_secs(30))
        .await;
    let wamid = app
        .scalar_text(&format!(
            "SELECT wamid FROM messages WHERE campaign_id = '{campaign}'"
        ))
        .await;
    let mut status = status_object(&wamid, "delivered");
    status["timestamp"] = json!("-8000000000000");
    let body = notification(vec![status], vec![]);
    let (code, text) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(code, StatusCode::OK, "{text}");
    all_applied(&app).await;
    let sql = format!("SELECT status FROM messages WHERE campaign_id = '{campaign}'");
    assert_eq!(app.scalar_text(&sql).await, "delivered");
    let dead = "SELECT COUNT(*) FROM whatsapp_callbacks WHERE dead_at IS NOT NULL OR attempts > 0";
    assert_eq!(app.scalar_i64(dead).await, 0);
}
