//! The bench's campaign, created through the API's bulk path with each request timed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{Client, phone};

/// A campaign created through the API's bulk path, and how long that took.
pub struct Created {
    pub campaign: String,
    pub per_request: Vec<Duration>,
    pub creation: Duration,
}

/// Creates through the API's bulk path, 10,000 recipients per request.
pub async fn create(client: &Client, api_key: &str, recipients: usize) -> Created {
    let created = Instant::now();
    let mut per_request = Vec::new();
    let mut campaign = String::new();
    for (i, chunk) in (0..recipients)
        .collect::<Vec<_>>()
        .chunks(10_000)
        .enumerate()
    {
        let contacts: Vec<Value> = chunk.iter().map(|&n| json!({"phone": phone(n)})).collect();
        let t = Instant::now();
        let (status, body) = if i == 0 {
            client
                .post(
                    "/api/v1/campaigns",
                    Some(api_key),
                    Some(json!({"name": "bench", "template_name": "welcome", "body_data": {"1": "Ada"}, "contacts": contacts})),
                )
                .await
        } else {
            client
                .post(
                    &format!("/api/v1/campaigns/{campaign}/contacts"),
                    Some(api_key),
                    Some(json!({"contacts": contacts})),
                )
                .await
        };
        assert!(status.is_success(), "{body}");
        per_request.push(t.elapsed());
        if i == 0 {
            campaign = body["campaign_id"].as_str().unwrap().to_owned();
        }
    }
    Created {
        campaign,
        per_request,
        creation: created.elapsed(),
    }
}
