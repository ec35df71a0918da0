//! One signed POST of a stored delivery body, and what came back. Signatures are
//! computed over the exact bytes sent: `X-Webhook-Signature` (hex HMAC of the body)
//! and the Standard Webhooks `webhook-signature` over id, timestamp and body.

use std::time::{Duration, Instant};

use chrono::Utc;

use waplify_shared::db::entities::{webhook_delivery, webhook_endpoint};
use waplify_shared::secrets::Revealed;
use waplify_shared::signing::{body_signature, standard_signature};

use super::guarded_dns::is_refusal;
use crate::runtime::context::Ctx;

/// Longest stored excerpt of an endpoint's answer.
const EXCERPT_BYTES: usize = 256;

/// What one HTTP attempt came to.
pub struct Answer {
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub excerpt: Option<String>,
    pub took: Duration,
    /// A refused target is final; other transport errors are worth a retry.
    refused: bool,
}

impl Answer {
    pub fn delivered(&self) -> bool {
        self.http_status.is_some_and(|s| (200..300).contains(&s))
    }

    pub fn retryable(&self) -> bool {
        match self.http_status {
            Some(s) => s == 429 || s >= 500,
            None => !self.refused,
        }
    }
}

/// `secret` is the endpoint's, decrypted.
pub async fn post(
    ctx: &Ctx,
    endpoint: &webhook_endpoint::Model,
    secret: Option<&Revealed>,
    delivery: &webhook_delivery::Model,
    timeout: Duration,
) -> Answer {
    let started = Instant::now();
    let refused = |why: String| Answer {
        http_status: None,
        error: Some(format!("refused target: {why}")),
        excerpt: None,
        took: started.elapsed(),
        refused: true,
    };
    let url = match url::Url::parse(&endpoint.url) {
        Ok(u) => u,
        Err(e) => return refused(format!("bad url: {e}")),
    };
    if let Err(why) = ctx.cfg.common.webhook_networks.check_url(&url) {
        return refused(why);
    }
    let timestamp = Utc::now().timestamp();
    let body = delivery.payload.as_bytes();
    let mut request = ctx
        .webhooks
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", delivery.id.as_str())
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = secret.map(Revealed::expose) {
        request = request
            .header("X-Webhook-Signature", body_signature(secret, body))
            .header(
                "webhook-signature",
                standard_signature(secret, delivery.id.as_str(), timestamp, body),
            );
    }
    match request.body(delivery.payload.clone()).send().await {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let mut excerpt = Vec::new();
            while excerpt.len() < EXCERPT_BYTES {
                match tokio::time::timeout(timeout, resp.chunk()).await {
                    Ok(Ok(Some(chunk))) => excerpt.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            excerpt.truncate(EXCERPT_BYTES);
            Answer {
                http_status: Some(status),
                error: None,
                excerpt: (!excerpt.is_empty())
                    .then(|| String::from_utf8_lossy(&excerpt).into_owned()),
                took: started.elapsed(),
                refused: false,
            }
        }
        Err(e) => {
            if let Some(why) = is_refusal(&e) {
                return refused(why);
            }
            let error = if e.is_timeout() {
                format!("timed out after {} s", timeout.as_secs())
            } else if e.is_connect() {
                format!("connection failed: {}", root_cause(&e))
            } else {
                format!("request failed: {}", root_cause(&e))
            };
            Answer {
                http_status: None,
                error: Some(error),
                excerpt: None,
                took: started.elapsed(),
                refused: false,
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
