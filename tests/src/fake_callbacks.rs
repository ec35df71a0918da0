//! Status callbacks from the fake WhatsApp server, as Meta sends them: `sent`, then
//! (for a share) `delivered`, then (for a share of those) `read` or, instead, a late
//! `failed`; batched into signed POSTs (`X-Hub-Signature-256`), some reordered and
//! some repeated, so the whole funnel and its edge cases show up.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Where and how callbacks go. Off while `url` is unset.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CallbackConfig {
    /// Our `/api/v1/whatsapp/webhook`.
    pub url: Option<String>,
    /// The app secret the POSTs are signed with.
    pub app_secret: String,
    /// Time between one status and the next, in milliseconds (±50% jitter).
    pub delay_ms: u64,
    /// Share (0..1) of sent messages later delivered.
    pub delivered_rate: f64,
    /// Share (0..1) of delivered messages later read.
    pub read_rate: f64,
    /// Share (0..1) of sent messages that fail after all (131049) instead of arriving.
    pub late_fail_rate: f64,
    /// Share (0..1) of messages whose statuses are sent newest first.
    pub reorder_rate: f64,
    /// Share (0..1) of messages whose statuses are each sent twice.
    pub duplicate_rate: f64,
}

/// One status object waiting for its batch.
pub struct Queued {
    pub phone_number_id: String,
    pub status: Value,
}

/// Counters of what was called back.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CallbackCounters {
    pub statuses: u64,
    pub posts: u64,
    pub failed_posts: u64,
}

/// Plans the statuses of one accepted message and hands them to the batcher at their
/// times.
pub fn schedule(
    cfg: &CallbackConfig,
    outbox: mpsc::UnboundedSender<Queued>,
    phone_number_id: &str,
    wamid: &str,
    message_id: Option<&str>,
    recipient: &str,
) {
    let mut plan = vec!["sent"];
    if rand::random_bool(cfg.late_fail_rate.clamp(0.0, 1.0)) {
        plan.push("failed");
    } else if rand::random_bool(cfg.delivered_rate.clamp(0.0, 1.0)) {
        plan.push("delivered");
        if rand::random_bool(cfg.read_rate.clamp(0.0, 1.0)) {
            plan.push("read");
        }
    }
    let now = chrono::Utc::now().timestamp();
    let mut statuses: Vec<Value> = plan
        .iter()
        .enumerate()
        .map(|(i, s)| status_object(s, wamid, message_id, recipient, now + i as i64))
        .collect();
    if rand::random_bool(cfg.reorder_rate.clamp(0.0, 1.0)) {
        statuses.reverse();
    }
    if rand::random_bool(cfg.duplicate_rate.clamp(0.0, 1.0)) {
        statuses = statuses.into_iter().flat_map(|s| [s.clone(), s]).collect();
    }
    let delay = cfg.delay_ms;
    let pnid = phone_number_id.to_owned();
    tokio::spawn(async move {
        for status in statuses {
            let jitter = if delay > 0 {
                rand::random_range(delay / 2..=delay + delay / 2)
            } else {
                0
            };
            tokio::time::sleep(Duration::from_millis(jitter)).await;
            if outbox
                .send(Queued {
                    phone_number_id: pnid.clone(),
                    status,
                })
                .is_err()
            {
                return;
            }
        }
    });
}

fn status_object(
    status: &str,
    wamid: &str,
    message_id: Option<&str>,
    recipient: &str,
    timestamp: i64,
) -> Value {
    let mut v = json!({
        "id": wamid,
        "status": status,
        "timestamp": timestamp.to_string(),
        "recipient_id": recipient,
    });
    if let Some(id) = message_id {
        v["biz_opaque_callback_data"] = json!(id);
    }
    if status == "failed" {
        v["errors"] = json!([{
            "code": 131049,
            "title": "This message was not delivered to maintain healthy ecosystem engagement.",
            "message": "This message was not delivered to maintain healthy ecosystem engagement.",
            "error_data": {"details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
        }]);
    } else {
        v["pricing"] = json!({"billable": true, "pricing_model": "PMP", "category": "marketing", "type": "regular"});
    }
    v
}

/// Collects statuses for up to 100 ms (or 500 of them) and POSTs each batch signed,
/// one change per phone number, as Meta aggregates them.
pub async fn batcher(
    cfg: impl Fn() -> CallbackConfig + Send + 'static,
    mut inbox: mpsc::UnboundedReceiver<Queued>,
    counters: impl Fn(CallbackCounters) + Send + 'static,
) {
    let http = reqwest::Client::new();
    while let Some(first) = inbox.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
        while batch.len() < 500 {
            match tokio::time::timeout_at(deadline, inbox.recv()).await {
                Ok(Some(q)) => batch.push(q),
                _ => break,
            }
        }
        let cfg = cfg();
        let Some(url) = cfg.url.clone() else { continue };
        let n = batch.len() as u64;
        let body = notification(batch).to_string();
        let signature = waplify_shared::signing::body_signature(&cfg.app_secret, body.as_bytes());
        let ok = post(&http, &url, &signature, &body).await;
        counters(CallbackCounters {
            statuses: n,
            posts: 1,
            failed_posts: u64::from(!ok),
        });
        if !ok {
            // As Meta does, a refused POST is sent again later (here: 1 s, doubling, for
            // about two minutes).
            let http = http.clone();
            tokio::spawn(async move {
                for step in 0..7 {
                    tokio::time::sleep(Duration::from_secs(1 << step)).await;
                    if post(&http, &url, &signature, &body).await {
                        break;
                    }
                }
            });
        }
    }
}

async fn post(http: &reqwest::Client, url: &str, signature: &str, body: &str) -> bool {
    http.post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body.to_owned())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

fn notification(batch: Vec<Queued>) -> Value {
    let mut by_number: Vec<(String, Vec<Value>)> = Vec::new();
    for q in batch {
        match by_number.iter_mut().find(|(p, _)| *p == q.phone_number_id) {
            Some((_, list)) => list.push(q.status),
            None => by_number.push((q.phone_number_id, vec![q.status])),
        }
    }
    let changes: Vec<Value> = by_number
        .into_iter()
        .map(|(pnid, statuses)| {
            json!({
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
                    "statuses": statuses,
                },
                "field": "messages",
            })
        })
        .collect();
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000001", "changes": changes}],
    })
}
