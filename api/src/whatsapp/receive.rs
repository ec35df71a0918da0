//! WhatsApp's callbacks arriving: the verification handshake, then signed POSTs.
//! A verified body is stored as it came and a job is queued to apply it; the answer
//! goes back at once, so Meta never times out on a large batch. A body that is
//! stored is never lost: if Redis is down, the reconciler queues it later.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};

use waplify_shared::db::entities::whatsapp_callback;
use waplify_shared::ids::CallbackId;
use waplify_shared::jobs::ApplyCallback;
use waplify_shared::queue::new_task_id;
use waplify_shared::signing::{hub_signature_valid, same_secret};

use crate::config::InboundConfig;
use crate::http::errors::ApiError;
use crate::state::AppState;

/// The GET handshake: the challenge back when the mode and token are right.
pub fn verify(
    cfg: &InboundConfig,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<String>,
) -> Result<String, ApiError> {
    let forbidden = || ApiError::new(poem::http::StatusCode::FORBIDDEN, "Verification failed");
    let expected = cfg.verify_token.as_deref().ok_or_else(|| {
        tracing::warn!("WhatsApp verification refused: WHATSAPP_VERIFY_TOKEN is not set");
        forbidden()
    })?;
    let token_ok = token.is_some_and(|t| same_secret(t, expected));
    match (mode, token_ok, challenge) {
        // Meta only ever sends digits; anything else is echoed to nobody.
        (Some("subscribe"), true, Some(challenge))
            if !challenge.is_empty()
                && challenge.len() <= 64
                && challenge.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(challenge)
        }
        _ => Err(forbidden()),
    }
}

/// A POST: check the signature over the raw bytes, store, queue. Nothing is stored
/// for a body that fails the check.
pub async fn receive(
    state: &AppState,
    signature: Option<&str>,
    body: Vec<u8>,
) -> Result<(), ApiError> {
    let unauthorized = || ApiError::new(poem::http::StatusCode::UNAUTHORIZED, "Invalid signature");
    let Some(secret) = state.inbound.app_secret.as_deref() else {
        tracing::warn!("WhatsApp callback refused: WHATSAPP_APP_SECRET is not set");
        return Err(unauthorized());
    };
    if !signature.is_some_and(|s| hub_signature_valid(secret, &body, s)) {
        return Err(unauthorized());
    }
    let text =
        String::from_utf8(body).map_err(|_| ApiError::bad_request("Callback body is not UTF-8"))?;
    if serde_json::from_str::<serde_json::Value>(&text).map_or(true, |v| !v.is_object()) {
        return Err(ApiError::bad_request("Callback body is not a JSON object"));
    }
    let id = CallbackId::generate();
    whatsapp_callback::Entity::insert(whatsapp_callback::ActiveModel {
        id: Set(id.clone()),
        received_at: Set(Utc::now()),
        body: Set(text),
        processed_at: Set(None),
        summary: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        dead_at: Set(None),
    })
    .exec_without_returning(&state.db)
    .await?;
    let job = ApplyCallback {
        callback_id: id.clone(),
    };
    if let Err(e) = state.queues.push(job, new_task_id(), None).await {
        tracing::warn!(callback_id = %id, "queueing the callback failed, the reconciler will: {e}");
    }
    Ok(())
}
