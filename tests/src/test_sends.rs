//! Test messages (`send_test_message`) for tests: sending one, waiting for it, and
//! reading it back through the API.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::TestApp;

/// `POST /api/v1/campaigns/{id}/test` with `body`.
pub async fn test_send(app: &TestApp, key: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/campaigns/{id}/test"),
        Some(key),
        Some(body),
    )
    .await
}

/// Waits until the message leaves `pending` and `sending`; returns its status.
pub async fn settled(app: &TestApp, message_id: &str) -> String {
    crate::eventually(
        Duration::from_secs(30),
        &format!("test message {message_id} to settle"),
        || async {
            let status = app
                .scalar_text(&format!(
                    "SELECT status FROM messages WHERE id = '{message_id}'"
                ))
                .await;
            (status != "pending" && status != "sending").then_some(status)
        },
    )
    .await
}

/// `get_campaign_message` shows the test message as `test` with its one provider call,
/// and `list_campaign_messages` leaves it out of the campaign's `recipients`.
pub async fn shown_as_test_not_listed(
    app: &TestApp,
    key: &str,
    id: &str,
    mid: &str,
    recipients: usize,
) {
    let (status, got) = app
        .get(&format!("/api/v1/campaigns/{id}/messages/{mid}"), Some(key))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let m = &got["message"];
    assert_eq!(
        (m["test"].as_bool(), m["status"].as_str()),
        (Some(true), Some("sent")),
        "{got}"
    );
    assert_eq!(
        m["provider_calls"].as_array().map(Vec::len),
        Some(1),
        "{got}"
    );
    let (_, listed) = app
        .get(&format!("/api/v1/campaigns/{id}/messages"), Some(key))
        .await;
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), recipients, "{listed}");
    assert!(items.iter().all(|r| r["message_id"] != mid), "{listed}");
}
