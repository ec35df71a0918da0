//! The WhatsApp Cloud API client: one template message per call (the body comes from
//! `template`), and what the answer said.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde::Deserialize;
use waplify_shared::secrets::Revealed;

use crate::runtime::metrics::{CallOutcome, WorkerMetrics};

/// What the Cloud API said to one send.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// WhatsApp took the message; `wamid` identifies it from now on.
    Accepted { wamid: String },
    /// An error answer, or no connection at all (`http_status: None`): nothing was sent.
    Rejected {
        http_status: Option<u16>,
        code: Option<i64>,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The request may have reached WhatsApp but what it said is not known: a timeout
    /// or a broken connection after the request went out, or a 2xx without a readable
    /// message id. WhatsApp may have taken the message, so it is not sent again at once.
    Unknown {
        http_status: Option<u16>,
        message: String,
    },
}

/// One provider call and how long it took.
#[derive(Debug, Clone)]
pub struct Call {
    pub answer: Answer,
    pub latency: Duration,
}

/// The sending number's credentials; `Debug` does not show the token.
#[derive(Debug, Clone)]
pub struct Sender {
    pub phone_number_id: String,
    pub access_token: Revealed,
}

#[derive(Clone)]
pub struct Provider {
    http: reqwest::Client,
    base_url: String,
    metrics: Arc<WorkerMetrics>,
}

impl Provider {
    pub fn new(base_url: &str, timeout: Duration, metrics: Arc<WorkerMetrics>) -> Provider {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(512)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(concat!("waplify-send/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is valid");
        Provider {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            metrics,
        }
    }

    pub async fn send(&self, sender: &Sender, body: String) -> Call {
        let started = Instant::now();
        let url = format!("{}/{}/messages", self.base_url, sender.phone_number_id);
        let result = self
            .http
            .post(url)
            .header(
                AUTHORIZATION,
                format!("Bearer {}", sender.access_token.expose()),
            )
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let answer = match result {
            // Refused before a connection existed: nothing can have been sent.
            Err(e) if e.is_connect() || e.is_builder() => Answer::Rejected {
                http_status: None,
                code: None,
                message: describe(&e),
                retry_after: None,
            },
            Err(e) => Answer::Unknown {
                http_status: None,
                message: describe(&e),
            },
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                match resp.bytes().await {
                    Err(e) if (200..300).contains(&status) => Answer::Unknown {
                        http_status: Some(status),
                        message: describe(&e),
                    },
                    Err(e) => Answer::Rejected {
                        http_status: Some(status),
                        code: None,
                        message: describe(&e),
                        retry_after,
                    },
                    Ok(bytes) => parse_answer(status, &bytes, retry_after),
                }
            }
        };
        let latency = started.elapsed();
        let (outcome, code) = match &answer {
            Answer::Accepted { .. } => (CallOutcome::Accepted, None),
            Answer::Rejected {
                http_status: Some(_),
                code,
                ..
            } => (CallOutcome::Rejected, *code),
            Answer::Rejected { code, .. } => (CallOutcome::Unreachable, *code),
            Answer::Unknown { .. } => (CallOutcome::Unknown, None),
        };
        self.metrics.provider_call(outcome, code, latency);
        Call { answer, latency }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "provider timeout".into()
    } else if e.is_connect() {
        "cannot connect to the provider".into()
    } else {
        format!("provider request failed: {e}")
    }
}

#[derive(Deserialize)]
struct Success {
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    id: String,
}

#[derive(Deserialize)]
struct Failure {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

/// Reads a Cloud API answer: `messages[0].id` on success, `error.code` otherwise.
pub fn parse_answer(status: u16, body: &[u8], retry_after: Option<Duration>) -> Answer {
    if (200..300).contains(&status) {
        if let Ok(ok) = serde_json::from_slice::<Success>(body)
            && let Some(m) = ok.messages.into_iter().next().filter(|m| !m.id.is_empty())
        {
            return Answer::Accepted { wamid: m.id };
        }
        return Answer::Unknown {
            http_status: Some(status),
            message: format!("HTTP {status} from provider without a readable message id"),
        };
    }
    match serde_json::from_slice::<Failure>(body) {
        Ok(f) => {
            let mut message = f.error.message.unwrap_or_else(|| format!("HTTP {status}"));
            if let Some(details) = f.error.error_data.and_then(|d| d.details)
                && !details.is_empty()
                && !message.contains(&details)
            {
                message = format!("{message}: {details}");
            }
            Answer::Rejected {
                http_status: Some(status),
                code: f.error.code,
                message,
                retry_after,
            }
        }
        Err(_) => Answer::Rejected {
            http_status: Some(status),
            code: None,
            message: format!("HTTP {status} from provider"),
            retry_after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_success_and_errors() {
        let ok = br#"{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"wamid.ABC","message_status":"accepted"}]}"#;
        assert_eq!(
            parse_answer(200, ok, None),
            Answer::Accepted {
                wamid: "wamid.ABC".into()
            }
        );
        let err = br#"{"error":{"message":"(#131026) Message undeliverable","type":"OAuthException","code":131026,"error_data":{"messaging_product":"whatsapp","details":"Receiver is incapable"},"fbtrace_id":"x"}}"#;
        match parse_answer(400, err, None) {
            Answer::Rejected {
                http_status,
                code,
                message,
                ..
            } => {
                assert_eq!(http_status, Some(400));
                assert_eq!(code, Some(131026));
                assert!(message.contains("Receiver is incapable"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_answer(502, b"<html>", None),
            Answer::Rejected {
                code: None,
                http_status: Some(502),
                ..
            }
        ));
        assert!(matches!(
            parse_answer(200, b"{}", None),
            Answer::Unknown {
                http_status: Some(200),
                ..
            }
        ));
        assert!(matches!(
            parse_answer(200, br#"{"messages":[{"id":"wamid.A"#, None),
            Answer::Unknown { .. }
        ));
    }
}
