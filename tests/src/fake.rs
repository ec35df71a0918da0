//! A fake WhatsApp Cloud API: the real send path and answer shapes, with knobs for
//! latency, transient failures, permanent and campaign-fatal failures per recipient,
//! and a requests-per-second cap. It counts what it accepted, by our message id
//! (`biz_opaque_callback_data`), so tests can see duplicates.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json, Path};
use poem::{EndpointExt, IntoResponse, Response, Route, Server, get, handler, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::fake_callbacks::{CallbackConfig, CallbackCounters, Queued, batcher, schedule};

/// How the fake answers. Every field can be changed at runtime (`POST /_fake/config`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeConfig {
    /// Added to every answer.
    pub latency_ms: u64,
    /// Share (0..1) of all calls answered with a transient error, alternating
    /// `503 code 2` and `429 code 130429`.
    pub transient_rate: f64,
    /// Share (0..1) of messages whose *first* call fails transiently (`503 code 2`).
    pub transient_first_rate: f64,
    /// Recipients answered `400 code 131026` (undeliverable), every time.
    pub fail_numbers: Vec<String>,
    /// Recipients answered `400 code 132001` (template does not exist): campaign-fatal.
    pub fatal_numbers: Vec<String>,
    /// Calls per second above which the answer is `429 code 130429`.
    pub rps_cap: Option<u64>,
    /// Access tokens answered `401 code 190` (token expired or revoked): campaign-fatal.
    pub revoked_tokens: Vec<String>,
    /// Status callbacks to our webhook; off while its `url` is unset.
    pub callbacks: CallbackConfig,
}

/// What the fake has seen.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub accepted: u64,
    pub unique_recipients: u64,
    /// Accepted calls for a message id that was already accepted.
    pub duplicates: u64,
    pub transient: u64,
    pub permanent: u64,
    pub fatal: u64,
    pub rate_limited: u64,
    pub bad_requests: u64,
    /// First and last acceptance, Unix milliseconds.
    pub first_accepted_ms: Option<u64>,
    pub last_accepted_ms: Option<u64>,
    pub callbacks: CallbackCounters,
}

#[derive(Default)]
struct State {
    config: FakeConfig,
    counters: Counters,
    accepted_ids: HashSet<String>,
    accepted_phones: HashSet<String>,
    first_seen: HashSet<String>,
    /// message id -> calls made for it
    calls: HashMap<String, u32>,
    window: (u64, u64),
    seq: u64,
}

#[derive(Clone, Default)]
pub struct Fake(
    Arc<Mutex<State>>,
    Arc<Mutex<Option<mpsc::UnboundedSender<Queued>>>>,
);

impl Fake {
    pub fn new(config: FakeConfig) -> Fake {
        let fake = Fake::default();
        fake.0.lock().unwrap().config = config;
        fake
    }

    /// The batcher's inbox, started on first use.
    fn outbox(&self) -> mpsc::UnboundedSender<Queued> {
        let mut slot = self.1.lock().unwrap();
        if let Some(tx) = slot.as_ref() {
            return tx.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (cfg, counts) = (self.0.clone(), self.0.clone());
        tokio::spawn(batcher(
            move || cfg.lock().unwrap().config.callbacks.clone(),
            rx,
            move |c| {
                let mut s = counts.lock().unwrap();
                s.counters.callbacks.statuses += c.statuses;
                s.counters.callbacks.posts += c.posts;
                s.counters.callbacks.failed_posts += c.failed_posts;
            },
        ));
        *slot = Some(tx.clone());
        tx
    }

    pub fn counters(&self) -> Counters {
        self.0.lock().unwrap().counters.clone()
    }

    pub fn set_config(&self, config: FakeConfig) {
        self.0.lock().unwrap().config = config;
    }

    /// Calls made for each message id.
    pub fn calls(&self) -> HashMap<String, u32> {
        self.0.lock().unwrap().calls.clone()
    }

    pub fn accepted_ids(&self) -> HashSet<String> {
        self.0.lock().unwrap().accepted_ids.clone()
    }

    pub fn endpoint(&self) -> impl poem::Endpoint + 'static {
        Route::new()
            .at("/:phone_number_id/messages", post(send_message))
            .at("/_fake/counters", get(counters))
            .at("/_fake/config", get(get_config).post(set_config))
            .at("/_fake/reset", post(reset))
            .at("/_fake/calls", get(calls))
            .data(self.clone())
    }

    /// Serves on `bind` (port 0 for any); returns the base URL and the server task.
    pub async fn serve(
        &self,
        bind: &str,
    ) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
        let acceptor = TcpListener::bind(bind.to_owned()).into_acceptor().await?;
        let addr = acceptor
            .local_addr()
            .into_iter()
            .next()
            .and_then(|a| a.as_socket_addr().copied())
            .ok_or_else(|| std::io::Error::other("no local address"))?;
        let endpoint = self.endpoint();
        let task = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(endpoint).await;
        });
        Ok((format!("http://{addr}"), task))
    }
}

enum Decision {
    Accept(String),
    Transient(u16, i64),
    Permanent,
    Fatal,
    RateLimited,
    Revoked,
    Bad(String),
}

fn accepted(to: &str, wamid: &str) -> Response {
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }))
    .into_response()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

#[handler]
async fn send_message(
    Path(phone_number_id): Path<String>,
    req: &poem::Request,
    body: poem::Body,
    fake: Data<&Fake>,
) -> Response {
    let bytes = body.into_vec().await.unwrap_or_default();
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let (decision, latency) = {
        let mut s = fake.0.0.lock().unwrap();
        s.counters.requests += 1;
        let latency = s.config.latency_ms;
        let decision = decide(&mut s, parsed.as_ref(), &token, &phone_number_id);
        (decision, latency)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let to = parsed
        .as_ref()
        .and_then(|v| v["to"].as_str())
        .unwrap_or_default()
        .to_owned();
    match decision {
        Decision::Accept(wamid) => {
            let callbacks = fake.0.0.lock().unwrap().config.callbacks.clone();
            if callbacks.url.is_some() {
                let message_id = parsed
                    .as_ref()
                    .and_then(|v| v["biz_opaque_callback_data"].as_str());
                schedule(
                    &callbacks,
                    fake.0.outbox(),
                    &phone_number_id,
                    &wamid,
                    message_id,
                    &to,
                );
            }
            accepted(&to, &wamid)
        }
        Decision::Transient(status, code) => {
            let mut r = error(
                status,
                code,
                "Temporarily unavailable",
                "Service temporarily unavailable",
            );
            if status == 429 {
                r.headers_mut().insert("retry-after", "1".parse().unwrap());
            }
            r
        }
        Decision::RateLimited => {
            let mut r = error(
                429,
                130429,
                "Rate limit hit",
                "Cloud API message throughput has been reached.",
            );
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            r
        }
        Decision::Permanent => error(
            400,
            131026,
            "Message undeliverable",
            "Unable to deliver message.",
        ),
        Decision::Fatal => error(
            404,
            132001,
            "Template name does not exist in the translation",
            "template name does not exist in the translation",
        ),
        Decision::Revoked => error(
            401,
            190,
            "Error validating access token: The session has been invalidated",
            "Error validating access token",
        ),
        Decision::Bad(why) => error(400, 100, "Invalid parameter", &why),
    }
}

fn decide(s: &mut State, body: Option<&Value>, token: &str, pnid: &str) -> Decision {
    let Some(body) = body else {
        s.counters.bad_requests += 1;
        return Decision::Bad("body is not JSON".into());
    };
    if token.is_empty() {
        s.counters.bad_requests += 1;
        return Decision::Bad("missing access token".into());
    }
    if s.config.revoked_tokens.iter().any(|t| t == token) {
        s.counters.fatal += 1;
        return Decision::Revoked;
    }
    let to = body["to"].as_str().unwrap_or_default().to_owned();
    let message_id = body["biz_opaque_callback_data"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if body["messaging_product"] != "whatsapp"
        || body["type"] != "template"
        || body["template"]["name"].as_str().is_none_or(str::is_empty)
        || body["template"]["language"]["code"].as_str().is_none()
        || to.is_empty()
        || pnid.is_empty()
    {
        s.counters.bad_requests += 1;
        return Decision::Bad("not a template message".into());
    }
    *s.calls.entry(message_id.clone()).or_default() += 1;
    if let Some(cap) = s.config.rps_cap {
        let second = now_ms() / 1000;
        if s.window.0 != second {
            s.window = (second, 0);
        }
        s.window.1 += 1;
        if s.window.1 > cap {
            s.counters.rate_limited += 1;
            return Decision::RateLimited;
        }
    }
    if s.config.fatal_numbers.contains(&to) {
        s.counters.fatal += 1;
        return Decision::Fatal;
    }
    if s.config.fail_numbers.contains(&to) {
        s.counters.permanent += 1;
        return Decision::Permanent;
    }
    let first = s.first_seen.insert(message_id.clone());
    if first
        && s.config.transient_first_rate > 0.0
        && rand::random::<f64>() < s.config.transient_first_rate
    {
        s.counters.transient += 1;
        return Decision::Transient(503, 2);
    }
    if s.config.transient_rate > 0.0 && rand::random::<f64>() < s.config.transient_rate {
        s.counters.transient += 1;
        return if s.counters.transient.is_multiple_of(2) {
            Decision::Transient(429, 130429)
        } else {
            Decision::Transient(503, 2)
        };
    }
    s.counters.accepted += 1;
    let now = now_ms();
    s.counters.first_accepted_ms.get_or_insert(now);
    s.counters.last_accepted_ms = Some(now);
    if !s.accepted_ids.insert(message_id) {
        s.counters.duplicates += 1;
    }
    if s.accepted_phones.insert(to) {
        s.counters.unique_recipients += 1;
    }
    s.seq += 1;
    Decision::Accept(format!("wamid.FAKE{:016X}", s.seq))
}

fn error(status: u16, code: i64, title: &str, details: &str) -> Response {
    let body = json!({
        "error": {
            "message": format!("({code}) {title}"),
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AFakeTraceId",
        }
    });
    Json(body)
        .with_status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .into_response()
}

#[handler]
fn counters(fake: Data<&Fake>) -> Json<Counters> {
    Json(fake.counters())
}

#[handler]
fn get_config(fake: Data<&Fake>) -> Json<FakeConfig> {
    Json(fake.0.0.lock().unwrap().config.clone())
}

#[handler]
fn set_config(fake: Data<&Fake>, Json(config): Json<FakeConfig>) -> Json<FakeConfig> {
    fake.set_config(config.clone());
    Json(config)
}

#[handler]
fn calls(fake: Data<&Fake>) -> Json<HashMap<String, u32>> {
    Json(fake.calls())
}

#[handler]
fn reset(fake: Data<&Fake>) -> Json<Counters> {
    let mut s = fake.0.0.lock().unwrap();
    let config = s.config.clone();
    *s = State::default();
    s.config = config;
    Json(Counters::default())
}
