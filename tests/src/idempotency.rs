//! Requests with an `Idempotency-Key`, and the key rows as a test sets them up: in
//! progress (a first request still running) or aged (past the request timeout, past
//! 24 hours).

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use waplify_shared::db::Db;
use waplify_shared::db::entities::idempotency_key::{self, Column};

use crate::client::Client;

/// One answer, its body as sent (so two can be compared byte for byte).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == Some("true")
    }
}

/// `POST path` as `api_key`, with `Idempotency-Key: idem` when given (raw bytes, so a
/// test can send what no well-behaved client would).
pub async fn post(
    client: &Client,
    path: &str,
    api_key: &str,
    idem: Option<&[u8]>,
    body: Option<&Value>,
) -> Answer {
    let mut req = client.http.post(client.url(path)).bearer_auth(api_key);
    if let Some(k) = idem {
        req = req.header(
            "Idempotency-Key",
            HeaderValue::from_bytes(k).expect("a header value"),
        );
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("POST");
    Answer {
        status: resp.status(),
        headers: resp.headers().clone(),
        text: resp.text().await.expect("a body"),
    }
}

/// Makes `account`'s `key` look held by a request that started `ago` and has not
/// answered yet.
pub async fn set_in_progress(db: &Db, account: &str, key: &str, ago: Duration) {
    update(account, key)
        .col_expr(Column::StartedAt, Expr::value(Utc::now() - ago))
        .col_expr(
            Column::CompletedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(Column::StatusCode, Expr::value(Option::<i32>::None))
        .col_expr(Column::Body, Expr::value(Option::<String>::None))
        .exec(db)
        .await
        .expect("key row updated");
}

/// Moves `account`'s `key` back in time, answered `ago`.
pub async fn age(db: &Db, account: &str, key: &str, ago: Duration) {
    update(account, key)
        .col_expr(Column::StartedAt, Expr::value(Utc::now() - ago))
        .col_expr(Column::CompletedAt, Expr::value(Utc::now() - ago))
        .exec(db)
        .await
        .expect("key row updated");
}

fn update(account: &str, key: &str) -> sea_orm::UpdateMany<idempotency_key::Entity> {
    idempotency_key::Entity::update_many()
        .filter(Column::AccountId.eq(account))
        .filter(Column::IdemKey.eq(key))
}

/// How many key rows there are.
pub async fn rows(db: &Db) -> usize {
    idempotency_key::Entity::find()
        .all(db)
        .await
        .expect("key rows")
        .len()
}
