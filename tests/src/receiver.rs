//! A webhook receiver: a real HTTP server that records every request and answers
//! from a script (a status per request, then 200; optionally slow). Its signature
//! checks follow `docs/webhooks.md`, written here without the project's signing code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler, post};
use serde_json::Value;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook bodies are JSON")
    }

    /// `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
    pub fn body_signature_ok(&self, secret: &str) -> bool {
        let Some(hex_sig) = self
            .header("x-webhook-signature")
            .and_then(|h| h.strip_prefix("sha256="))
        else {
            return false;
        };
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&self.body);
        hex::decode(hex_sig).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
    }

    /// Standard Webhooks: `webhook-signature: v1,<base64 HMAC(secret, id.timestamp.body)>`.
    pub fn standard_signature_ok(&self, secret: &str) -> bool {
        let (Some(id), Some(ts), Some(sig)) = (
            self.header("webhook-id"),
            self.header("webhook-timestamp"),
            self.header("webhook-signature"),
        ) else {
            return false;
        };
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(&self.body);
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        sig.split(' ').any(|s| s == format!("v1,{expected}"))
    }
}

#[derive(Default)]
struct State {
    script: Vec<u16>,
    delay: Duration,
    got: Vec<Received>,
}

#[derive(Clone, Default)]
pub struct Receiver(Arc<Mutex<State>>);

impl Receiver {
    /// Starts on a free loopback port; returns it and its URL.
    pub async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let app = Route::new()
            .at("/*path", post(receive))
            .data(receiver.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        (receiver, format!("http://{addr}/hook"))
    }

    /// Answers the next requests with these statuses, then 200.
    pub fn script(&self, statuses: &[u16]) {
        self.0.lock().unwrap().script = statuses.iter().rev().copied().collect();
    }

    /// Waits this long before answering.
    pub fn delay(&self, d: Duration) {
        self.0.lock().unwrap().delay = d;
    }

    pub fn received(&self) -> Vec<Received> {
        self.0.lock().unwrap().got.clone()
    }
}

/// Waits until `r` got at least `n` requests, at most `within`; returns them all.
pub async fn wait_received(r: &Receiver, n: usize, within: Duration) -> Vec<Received> {
    crate::eventually(within, &format!("{n} webhook requests"), || async {
        let got = r.received();
        (got.len() >= n).then_some(got)
    })
    .await
}

#[handler]
async fn receive(req: &Request, body: poem::Body, r: Data<&Receiver>) -> Response {
    let body = body.into_vec().await.unwrap_or_default();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let (status, delay) = {
        let mut s = r.0.0.lock().unwrap();
        s.got.push(Received {
            at: Instant::now(),
            headers,
            body,
        });
        (s.script.pop().unwrap_or(200), s.delay)
    };
    tokio::time::sleep(delay).await;
    Response::builder()
        .status(poem::http::StatusCode::from_u16(status).unwrap())
        .body(format!("answer {status}"))
}
