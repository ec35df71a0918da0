//! A fake WhatsApp Cloud API: the real send path and answer shapes, with knobs for
//! latency, transient failures, permanent and campaign-fatal failures per recipient,
//! and a requests-per-second cap. It counts what it accepted, by our message id
//! (`biz_opaque_callback_data`), so tests can see duplicates.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json, Path};
use poem::{EndpointExt, Response, Route, Server, get, handler, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::fake_callbacks::{CallbackConfig, CallbackCounters, Queued, batcher, schedule};

mod answers;

use answers::{accepted, decide};

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
    /// Recipients answered `503 code 2` every time: a transient error that outlasts
    /// every attempt.
    pub transient_numbers: Vec<String>,
    /// Recipients answered `400 code 132001` (template does not exist): campaign-fatal.
    pub fatal_numbers: Vec<String>,
    /// Calls per second above which the answer is `429 code 130429`.
    pub rps_cap: Option<u64>,
    /// Access tokens answered `401 code 190` (token expired or revoked): campaign-fatal.
    pub revoked_tokens: Vec<String>,
    /// Recipients whose first call is accepted (and called back) but answered `200`
    /// with a body cut short: the sender cannot know the outcome.
    pub unreadable_first_numbers: Vec<String>,
    /// Recipients whose first call is accepted (and called back) but answered only
    /// after `stall_ms`, past the sender's timeout.
    pub stall_first_numbers: Vec<String>,
    pub stall_ms: u64,
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
    /// Message ids accepted more than once, in the order the repeat came.
    duplicate_ids: Vec<String>,
    accepted_phones: HashSet<String>,
    first_seen: HashSet<String>,
    /// message id -> calls made for it
    calls: HashMap<String, u32>,
    /// message id -> the body of the last call made for it
    bodies: HashMap<String, Value>,
    /// bearer token -> calls made with it
    tokens: HashMap<String, u32>,
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

    /// The body of the last call made for each message id.
    pub fn bodies(&self) -> HashMap<String, Value> {
        self.0.lock().unwrap().bodies.clone()
    }

    /// Calls made with each bearer token (`Authorization: Bearer <token>`).
    pub fn tokens(&self) -> HashMap<String, u32> {
        self.0.lock().unwrap().tokens.clone()
    }

    pub fn accepted_ids(&self) -> HashSet<String> {
        self.0.lock().unwrap().accepted_ids.clone()
    }

    /// Message ids accepted more than once.
    pub fn duplicate_ids(&self) -> Vec<String> {
        self.0.lock().unwrap().duplicate_ids.clone()
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
    let to = parsed
        .as_ref()
        .and_then(|v| v["to"].as_str())
        .unwrap_or_default()
        .to_owned();
    // Echoed whole in callbacks, as WhatsApp does; counted by the message id before it.
    let opaque = parsed
        .as_ref()
        .and_then(|v| v["biz_opaque_callback_data"].as_str())
        .map(str::to_owned);
    let message_id = opaque.as_deref().map(answers::message_of);
    let (decision, latency, stall, garble) = {
        let mut s = fake.0.0.lock().unwrap();
        s.counters.requests += 1;
        *s.tokens.entry(token.clone()).or_default() += 1;
        let decision = decide(&mut s, parsed.as_ref(), &token, &phone_number_id);
        let first = decision.is_ok()
            && message_id
                .as_ref()
                .is_some_and(|id| s.calls.get(*id) == Some(&1));
        let stall = first && s.config.stall_first_numbers.contains(&to);
        let garble = first && s.config.unreadable_first_numbers.contains(&to);
        (decision, s.config.latency_ms, stall, garble)
    };
    let call_back = |wamid: &str| {
        let callbacks = fake.0.0.lock().unwrap().config.callbacks.clone();
        if callbacks.url.is_some() {
            let outbox = fake.0.outbox();
            let pnid = &phone_number_id;
            schedule(&callbacks, outbox, pnid, wamid, opaque.as_deref(), &to);
        }
    };
    if let (Ok(wamid), true) = (&decision, stall) {
        // Called back now: the sender hangs up before the answer, which drops this
        // handler.
        call_back(wamid);
        let stall_ms = fake.0.0.lock().unwrap().config.stall_ms;
        tokio::time::sleep(Duration::from_millis(latency + stall_ms)).await;
        return accepted(&to, wamid);
    }
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match decision {
        Ok(wamid) => {
            call_back(&wamid);
            if garble {
                return Response::builder()
                    .content_type("application/json")
                    .body(r#"{"messaging_product":"whatsapp","messages":[{"id":"wa"#);
            }
            accepted(&to, &wamid)
        }
        Err(refusal) => refusal.answer(),
    }
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
