//! Reading a campaign's recipients back through `list_campaign_messages`, for tests.

use reqwest::StatusCode;
use serde_json::Value;

use crate::TestApp;

/// `/api/v1/campaigns/{id}/messages`.
pub fn messages(id: &str) -> String {
    format!("/api/v1/campaigns/{id}/messages")
}

/// Every row of the list with `query`, 7 per page, following the cursors.
pub async fn walk(app: &TestApp, key: &str, id: &str, query: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.map(|c| format!("&after={c}")).unwrap_or_default();
        let (status, page) = app
            .get(
                &format!("{}?limit=7{query}{cursor}", messages(id)),
                Some(key),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_owned()),
            None => return rows,
        }
    }
}

/// The rows' `message_id`s, in order.
pub fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["message_id"].as_str().unwrap().to_owned())
        .collect()
}
