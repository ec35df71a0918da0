//! What a chaos run sends: accounts with a paced number, a template and a webhook
//! endpoint for every event, and campaigns spread over them and over the APIs.

use serde_json::{Value, json};

use super::Options;
use crate::client::{Client, phone};
use crate::testdb::TestDb;

/// Every campaign event: each account's endpoint takes them all.
const CAMPAIGN_EVENTS: [&str; 6] = [
    "campaign.started",
    "campaign.paused",
    "campaign.resumed",
    "campaign.completed",
    "campaign.cancelled",
    "campaign.failed",
];

/// The message statuses whose events account `t`'s endpoint takes. Not every event of
/// every message: the whole funnel of 200,000 recipients is about half a million
/// webhook requests, more than a small machine delivers within a run.
pub(super) fn message_statuses(t: usize) -> &'static [&'static str] {
    match t {
        0 => &["read", "failed"],
        _ => &["failed"],
    }
}

/// An account with a number paced at `mps`, a template, credits for twice its share,
/// and a webhook endpoint for every campaign event and some message events. Returns
/// (account id, API key).
pub(super) async fn tenant(
    tdb: &TestDb,
    api: &Client,
    t: usize,
    recipients: usize,
    mps: i32,
    hooks_url: &str,
) -> (String, String) {
    use waplify_shared::admin;
    let credits = 2 * recipients as i64;
    let account = admin::account_create(&tdb.db, &format!("Chaos {t}"), credits)
        .await
        .expect("account");
    let id = account.account_id.to_string();
    let pnid = format!("1090000000000{t:02}");
    let number = crate::seed::number(&tdb.db, &id, &pnid, mps, true).await;
    crate::seed::template(
        &tdb.db,
        &id,
        "welcome",
        "APPROVED",
        "NONE",
        1,
        Some(&number),
    )
    .await;
    let mut events: Vec<String> = CAMPAIGN_EVENTS.iter().map(|e| e.to_string()).collect();
    events.extend(message_statuses(t).iter().map(|s| format!("message.{s}")));
    let body = json!({"name": "chaos", "url": hooks_url, "secret": "chaos-webhook-secret", "events": events});
    let (status, created) = api
        .post("/api/v1/webhooks", Some(&account.api_key), Some(body))
        .await;
    assert_eq!(status.as_u16(), 201, "{created}");
    (id, account.api_key)
}

/// The campaigns, spread over accounts and APIs, each with its own recipients.
/// Returns (campaign id, API key, recipients).
pub(super) async fn create(
    apis: &[Client],
    tenants: &[(String, String)],
    o: &Options,
) -> Vec<(String, String, i64)> {
    let per = o.recipients / o.campaigns;
    let mut out = Vec::new();
    for c in 0..o.campaigns {
        let key = &tenants[c % tenants.len()].1;
        let api = &apis[c % apis.len()];
        let phones: Vec<Value> = (c * per..(c + 1) * per)
            .map(|i| json!({"phone": phone(i)}))
            .collect();
        let mut id = String::new();
        for (i, chunk) in phones.chunks(10_000).enumerate() {
            let (status, body) = if i == 0 {
                let body = json!({"name": format!("chaos {c}"), "template_name": "welcome",
                    "body_data": {"1": "Ada"}, "contacts": chunk});
                api.post("/api/v1/campaigns", Some(key), Some(body)).await
            } else {
                let path = format!("/api/v1/campaigns/{id}/contacts");
                api.post(&path, Some(key), Some(json!({"contacts": chunk})))
                    .await
            };
            assert!(status.is_success(), "{body}");
            if i == 0 {
                id = body["campaign_id"]
                    .as_str()
                    .expect("campaign_id")
                    .to_owned();
            }
        }
        out.push((id, key.clone(), per as i64));
    }
    out
}

pub(super) async fn balances(tdb: &TestDb, tenants: &[(String, String)]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (id, _) in tenants {
        let sql = format!("SELECT balance FROM accounts WHERE id = '{id}'");
        out.push((id.clone(), tdb.scalar(&sql).await));
    }
    out
}
