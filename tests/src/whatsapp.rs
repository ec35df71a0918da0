//! WhatsApp callbacks as Meta sends them: the published payloads, status objects and
//! notifications, the `X-Hub-Signature-256` signature, and posting them to the API.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hmac::{KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::seed::SEEDED_NUMBER;

/// The API's callback path.
pub const PATH: &str = "/api/v1/whatsapp/webhook";

/// The published payloads and signature vectors, `tests/fixtures/whatsapp`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/whatsapp")
}

/// `sha256=` + hex HMAC-SHA256, as Meta signs.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts `body` as is to the callback path, with `signature` if given.
pub async fn post_raw(app: &TestApp, body: &[u8], signature: Option<&str>) -> (StatusCode, String) {
    let mut req = app
        .http
        .post(app.url(PATH))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("X-Hub-Signature-256", s);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Waits until a worker applied every stored callback.
pub async fn all_applied(app: &TestApp) {
    crate::eventually(
        Duration::from_secs(30),
        "every callback applied",
        || async {
            (app.scalar_i64("SELECT COUNT(*) FROM whatsapp_callbacks WHERE processed_at IS NULL AND dead_at IS NULL")
                .await
                == 0)
                .then_some(())
        },
    )
    .await;
}

/// A status object for the message `wamid`; a failed one carries an error.
pub fn status_object(wamid: &str, status: &str) -> Value {
    let mut v = json!({"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": "15550000000"});
    if status == "failed" {
        v["errors"] = json!([{"code": 131049, "title": "Healthy ecosystem", "message": "Healthy ecosystem",
            "error_data": {"details": "Not delivered to maintain healthy ecosystem engagement."}}]);
    }
    v
}

/// A `whatsapp_business_account` notification with these statuses and messages.
pub fn notification(statuses: Vec<Value>, messages: Vec<Value>) -> Vec<u8> {
    let mut value = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": SEEDED_NUMBER}});
    if !statuses.is_empty() {
        value["statuses"] = json!(statuses);
    }
    if !messages.is_empty() {
        value["messages"] = json!(messages);
    }
    json!({"object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]})
    .to_string()
    .into_bytes()
}

/// A verified callback body stored as the API stores one, received at `received_at`,
/// not applied yet.
pub async fn stored_callback(
    db: &waplify_shared::db::Db,
    received_at: chrono::DateTime<chrono::Utc>,
) -> waplify_shared::ids::CallbackId {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let id = waplify_shared::ids::CallbackId::generate();
    waplify_shared::db::entities::whatsapp_callback::ActiveModel {
        id: Set(id.clone()),
        received_at: Set(received_at),
        body: Set("{}".into()),
        processed_at: Set(None),
        summary: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        dead_at: Set(None),
    }
    .insert(db)
    .await
    .expect("a stored callback");
    id
}
