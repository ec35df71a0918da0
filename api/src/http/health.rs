//! `/health` and `/ready`.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::ConnectionTrait;

use super::errors::{ApiError, ErrorBody};
use super::tags::Tag;
use crate::state::AppState;

pub struct HealthApi;

#[derive(ApiResponse)]
pub enum Readiness {
    /// SQL and Redis both answer.
    #[oai(status = 200)]
    Ready(Json<ReadyResponse>),
    /// SQL or Redis does not answer.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness
    ///
    /// The process is up. Checks nothing else.
    #[oai(path = "/health", method = "get", operation_id = "get_health")]
    async fn health(&self) -> Json<HealthResponse> {
        Json(HealthResponse {
            status: "ok".into(),
        })
    }

    /// Readiness
    ///
    /// SQL and Redis are reachable.
    #[oai(path = "/ready", method = "get", operation_id = "get_ready")]
    async fn ready(&self, state: Data<&AppState>) -> Readiness {
        let (db, redis) = tokio::join!(
            state.0.db.execute_unprepared("SELECT 1"),
            state.0.queues.ping()
        );
        match (db, redis) {
            (Ok(_), Ok(())) => Readiness::Ready(Json(ReadyResponse {
                status: "ready".into(),
                database: "ok".into(),
                redis: "ok".into(),
            })),
            (db, redis) => {
                let mut problems = Vec::new();
                if let Err(e) = db {
                    problems.push(format!("database: {}", waplify_shared::db::brief(&e)));
                }
                if let Err(e) = redis {
                    problems.push(format!("redis: {e}"));
                }
                let error = ApiError::new(
                    poem::http::StatusCode::SERVICE_UNAVAILABLE,
                    format!("Not ready: {}", problems.join("; ")),
                );
                Readiness::Unavailable(Json(error.body()))
            }
        }
    }
}

#[derive(Object, Debug)]
pub struct HealthResponse {
    /// `ok`.
    pub status: String,
}

#[derive(Object, Debug)]
pub struct ReadyResponse {
    /// `ready`.
    pub status: String,
    pub database: String,
    pub redis: String,
}
