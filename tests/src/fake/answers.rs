//! How the fake decides on a send call, and the Cloud API's answers: the acceptance
//! and each error, with its HTTP status, error code and wording.

use poem::http::StatusCode;
use poem::web::Json;
use poem::{IntoResponse, Response};
use serde_json::{Value, json};

use super::State;

/// Why a call is refused.
pub(super) enum Refusal {
    Transient(u16, i64),
    Permanent,
    Fatal,
    RateLimited,
    Revoked,
    Bad(String),
}

impl Refusal {
    /// The Cloud API's error answer for this refusal.
    pub(super) fn answer(self) -> Response {
        match self {
            Refusal::Transient(status, code) => {
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
            Refusal::RateLimited => {
                let mut r = error(
                    429,
                    130429,
                    "Rate limit hit",
                    "Cloud API message throughput has been reached.",
                );
                r.headers_mut().insert("retry-after", "1".parse().unwrap());
                r
            }
            Refusal::Permanent => error(
                400,
                131026,
                "Message undeliverable",
                "Unable to deliver message.",
            ),
            Refusal::Fatal => error(
                404,
                132001,
                "Template name does not exist in the translation",
                "template name does not exist in the translation",
            ),
            Refusal::Revoked => error(
                401,
                190,
                "Error validating access token: The session has been invalidated",
                "Error validating access token",
            ),
            Refusal::Bad(why) => error(400, 100, "Invalid parameter", &why),
        }
    }
}

/// The answer to an accepted call.
pub(super) fn accepted(to: &str, wamid: &str) -> Response {
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }))
    .into_response()
}

/// Unix milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Counts the call and decides its answer: the new wamid, or why it is refused.
pub(super) fn decide(
    s: &mut State,
    body: Option<&Value>,
    token: &str,
    pnid: &str,
) -> Result<String, Refusal> {
    let Some(body) = body else {
        s.counters.bad_requests += 1;
        return Err(Refusal::Bad("body is not JSON".into()));
    };
    if token.is_empty() {
        s.counters.bad_requests += 1;
        return Err(Refusal::Bad("missing access token".into()));
    }
    if s.config.revoked_tokens.iter().any(|t| t == token) {
        s.counters.fatal += 1;
        return Err(Refusal::Revoked);
    }
    let to = body["to"].as_str().unwrap_or_default().to_owned();
    let message_id = message_of(
        body["biz_opaque_callback_data"]
            .as_str()
            .unwrap_or_default(),
    )
    .to_owned();
    if body["messaging_product"] != "whatsapp"
        || body["type"] != "template"
        || body["template"]["name"].as_str().is_none_or(str::is_empty)
        || body["template"]["language"]["code"].as_str().is_none()
        || to.is_empty()
        || pnid.is_empty()
    {
        s.counters.bad_requests += 1;
        return Err(Refusal::Bad("not a template message".into()));
    }
    *s.calls.entry(message_id.clone()).or_default() += 1;
    s.bodies.insert(message_id.clone(), body.clone());
    if let Some(cap) = s.config.rps_cap {
        let second = now_ms() / 1000;
        if s.window.0 != second {
            s.window = (second, 0);
        }
        s.window.1 += 1;
        if s.window.1 > cap {
            s.counters.rate_limited += 1;
            return Err(Refusal::RateLimited);
        }
    }
    if let Some(refusal) = configured_refusal(s, &to, &message_id) {
        return Err(refusal);
    }
    s.counters.accepted += 1;
    let now = now_ms();
    s.counters.first_accepted_ms.get_or_insert(now);
    s.counters.last_accepted_ms = Some(now);
    if !s.accepted_ids.insert(message_id.clone()) {
        s.counters.duplicates += 1;
        s.duplicate_ids.push(message_id);
    }
    if s.accepted_phones.insert(to) {
        s.counters.unique_recipients += 1;
    }
    s.seq += 1;
    Ok(format!("wamid.FAKE{:016X}", s.seq))
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

/// The message a send names in `biz_opaque_callback_data` (`id`, or `id:round` when
/// it is sent again by request): calls, bodies and duplicates are counted per message.
pub fn message_of(opaque: &str) -> &str {
    opaque.split_once(':').map_or(opaque, |(id, _)| id)
}

/// The refusal the configuration asks for this call, if any: numbers that always fail
/// (fatally, permanently, transiently) and random transient failures.
fn configured_refusal(s: &mut State, to: &str, message_id: &str) -> Option<Refusal> {
    if s.config.fatal_numbers.iter().any(|n| n == to) {
        s.counters.fatal += 1;
        return Some(Refusal::Fatal);
    }
    if s.config.fail_numbers.iter().any(|n| n == to) {
        s.counters.permanent += 1;
        return Some(Refusal::Permanent);
    }
    if s.config.transient_numbers.iter().any(|n| n == to) {
        s.counters.transient += 1;
        return Some(Refusal::Transient(503, 2));
    }
    let first = s.first_seen.insert(message_id.to_owned());
    if first
        && s.config.transient_first_rate > 0.0
        && rand::random::<f64>() < s.config.transient_first_rate
    {
        s.counters.transient += 1;
        return Some(Refusal::Transient(503, 2));
    }
    if s.config.transient_rate > 0.0 && rand::random::<f64>() < s.config.transient_rate {
        s.counters.transient += 1;
        return Some(if s.counters.transient.is_multiple_of(2) {
            Refusal::Transient(429, 130429)
        } else {
            Refusal::Transient(503, 2)
        });
    }
    None
}
