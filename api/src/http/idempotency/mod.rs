//! Idempotency keys on the POSTs that create or start something (`docs/api.md`): with
//! an `Idempotency-Key`, the operation runs once per account and key; retries of the
//! same request get its stored answer with `Idempotent-Replayed: true`, another request
//! with the key `422 idempotency_key_reused`, a retry while the first still runs `409
//! idempotency_key_in_use`. 2xx and 4xx answers are stored; a 5xx is not (the key is
//! released, so a retry runs again). The SQL side is `waplify_shared::idempotency`.
//!
//! This runs inside the operation, after authentication (which names the account and
//! counts the request against the rate limit) and after the body was read and parsed;
//! the outer middleware then adds a fresh `X-Request-ID` to a replay too.

mod key;

use std::marker::PhantomData;

use chrono::Utc;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Body, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};

use waplify_shared::idempotency::{self as store, Answer, Claim, Held};

use super::auth::Caller;
use super::errors::{ApiError, Failure};
use crate::state::AppState;

pub use key::{HEADER, IdempotencyKey};

/// The response header that marks a replayed answer.
pub const REPLAYED: &str = "Idempotent-Replayed";

/// What identifies a request under its key: the operation, its path parameters and
/// its body as parsed (so spacing or key order in the JSON do not matter).
pub struct Fingerprint(Vec<Vec<u8>>);

impl Fingerprint {
    /// A POST to the operation `operation_id`.
    pub fn post(operation_id: &str) -> Fingerprint {
        Fingerprint(vec![b"POST".to_vec(), operation_id.as_bytes().to_vec()])
    }

    pub fn param(mut self, value: &impl std::fmt::Display) -> Fingerprint {
        self.0.push(value.to_string().into_bytes());
        self
    }

    pub fn body(mut self, body: &impl ToJSON) -> Fingerprint {
        let json = canonical(body.to_json().unwrap_or_default());
        self.0.push(serde_json::to_vec(&json).unwrap_or_default());
        self
    }

    fn hash(&self, mac_key: Option<&[u8; 32]>) -> String {
        store::request_hash(mac_key, self.0.iter().map(Vec::as_slice))
    }
}

/// The value with every object's keys sorted: maps in a body (`body_data`) serialise in
/// an order of their own, different from one request to the next.
fn canonical(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// An operation's answer, fresh or replayed; documented as `T`'s, with the replay header.
pub struct Idempotent<T>(Response, PhantomData<fn() -> T>);

impl<T> IntoResponse for Idempotent<T> {
    fn into_response(self) -> Response {
        self.0
    }
}

impl<T: ApiResponse> ApiResponse for Idempotent<T> {
    fn meta() -> MetaResponses {
        let mut meta = T::meta();
        for response in &mut meta.responses {
            response.headers.push(MetaHeader {
                name: REPLAYED.to_owned(),
                description: Some(
                    "`true` on the stored answer to an earlier request with the same \
                     `Idempotency-Key`; absent otherwise."
                        .to_owned(),
                ),
                required: false,
                deprecated: false,
                schema: String::schema_ref(),
            });
        }
        meta
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Runs `op` once per key: claims the key, runs, stores the answer; or answers from
/// what the key already holds. Without a key, just runs `op`.
pub async fn run<T, D, Fut>(
    state: &AppState,
    caller: &Caller,
    key: IdempotencyKey,
    what: Fingerprint,
    op: impl FnOnce() -> Fut,
) -> Result<Idempotent<T>, Failure<D>>
where
    T: IntoResponse,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let Some(key) = key.0 else {
        return Ok(Idempotent(respond(op().await), PhantomData));
    };
    let abandoned_after =
        chrono::Duration::from_std(state.request_timeout).unwrap_or(chrono::Duration::MAX);
    let claim = store::claim(
        &state.db,
        &caller.account_id,
        &key,
        &what.hash(state.secrets.current().map(|k| k.mac_key())),
        Utc::now(),
        abandoned_after,
    )
    .await?;
    let held = match claim {
        Claim::Run(held) => held,
        Claim::Replay(answer) => return Ok(Idempotent(replay(answer), PhantomData)),
        Claim::Reused => return Err(reused().into()),
        Claim::InUse => return Err(in_use().into()),
    };
    let fresh = respond(op().await);
    Ok(Idempotent(keep(state, &held, fresh).await, PhantomData))
}

fn respond<T: IntoResponse>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(answer) => answer.into_response(),
        Err(e) => e.into_response(),
    }
}

fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("This {HEADER} was used for a different request; use a new key"),
    )
    .with_code("idempotency_key_reused")
}

fn in_use() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("A request with this {HEADER} is still in progress; retry later"),
    )
    .with_code("idempotency_key_in_use")
}

/// Stores a 2xx or 4xx answer under the key and passes it on; releases the key on a
/// 5xx, and on a 429 (a limit of the operation's own, such as test messages per hour:
/// the same request may succeed later, and its `Retry-After` would not be replayed).
/// A failure to store is logged: the key then stays in progress until abandoned.
async fn keep(state: &AppState, held: &Held, fresh: Response) -> Response {
    if fresh.status().is_server_error() || fresh.status() == StatusCode::TOO_MANY_REQUESTS {
        release(state, held).await;
        return fresh;
    }
    let (parts, body) = fresh.into_parts();
    let text = match body.into_vec().await.map(String::from_utf8) {
        Ok(Ok(text)) => text,
        // Every answer here is JSON; anything else is not kept.
        Ok(Err(not_utf8)) => {
            release(state, held).await;
            return Response::from_parts(parts, Body::from_vec(not_utf8.into_bytes()));
        }
        Err(e) => {
            release(state, held).await;
            return ApiError::internal(e).into_response();
        }
    };
    let answer = Answer {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: text,
    };
    match store::complete(&state.db, held, &answer, Utc::now()).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!("an idempotency key was taken over before its answer"),
        Err(e) => tracing::warn!("could not store an idempotent answer: {e}"),
    }
    Response::from_parts(parts, Body::from_string(answer.body))
}

async fn release(state: &AppState, held: &Held) {
    if let Err(e) = store::release(&state.db, held).await {
        tracing::warn!("could not release an idempotency key: {e}");
    }
}

/// A stored answer as sent the first time, marked as a replay.
fn replay(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut resp = Response::builder().status(status).body(answer.body);
    if let Some(ct) = answer
        .content_type
        .and_then(|ct| HeaderValue::from_str(&ct).ok())
    {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    resp
}
