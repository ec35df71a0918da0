//! `Client`: an HTTP client for one running API (a test app, another instance, or a
//! process), with the calls tests make.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

/// An HTTP client for one running API, with the calls tests make.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        read(req.send().await.expect("GET")).await
    }

    pub async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("POST")).await
    }

    pub async fn patch(&self, path: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = self.http.patch(self.url(path)).json(&body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        read(req.send().await.expect("PATCH")).await
    }

    /// `POST /api/v1/campaigns/{id}/{action}` (cancel, pause, resume).
    pub async fn control(&self, key: &str, campaign_id: &str, action: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/campaigns/{campaign_id}/{action}"),
            Some(key),
            None,
        )
        .await
    }

    pub async fn delete(&self, path: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.delete(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        read(req.send().await.expect("DELETE")).await
    }

    /// Creates a draft with `n` recipients (`+1555…`), returning its id.
    pub async fn create_campaign(&self, key: &str, n: usize) -> String {
        let contacts: Vec<Value> = (0..n).map(|i| json!({ "phone": phone(i) })).collect();
        let mut created = None;
        for (i, chunk) in contacts.chunks(10_000).enumerate() {
            if i == 0 {
                let (status, body) = self
                    .post(
                        "/api/v1/campaigns",
                        Some(key),
                        Some(json!({
                            "name": "Test campaign",
                            "template_name": "welcome",
                            "body_data": {"1": "Ada"},
                            "contacts": chunk,
                        })),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                created = Some(body["campaign_id"].as_str().unwrap().to_owned());
            } else {
                let id = created.as_ref().unwrap();
                let (status, body) = self
                    .post(
                        &format!("/api/v1/campaigns/{id}/contacts"),
                        Some(key),
                        Some(json!({ "contacts": chunk })),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        }
        created.expect("at least one recipient")
    }

    pub async fn send(&self, key: &str, campaign_id: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/campaigns/{campaign_id}/send"),
            Some(key),
            None,
        )
        .await
    }

    pub async fn stats(&self, key: &str, campaign_id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/v1/campaigns/{campaign_id}/stats"), Some(key))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Waits until the campaign reaches `status`, returning its stats.
    pub async fn wait_for_status(
        &self,
        key: &str,
        campaign_id: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        crate::eventually(
            timeout,
            &format!("campaign {campaign_id} to be {status}"),
            || async {
                let stats = self.stats(key, campaign_id).await;
                (stats["campaign_status"] == status).then_some(stats)
            },
        )
        .await
    }
}

/// Waits until the server behind `client` answers `path` at all (20 s at most).
pub async fn wait_http(client: &Client, path: &str) {
    let started = std::time::Instant::now();
    while client.http.get(client.url(path)).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} did not come up",
            client.base
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `i`-th test phone number.
pub fn phone(i: usize) -> String {
    format!("1555{i:07}")
}

pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}
