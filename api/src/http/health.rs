//! `/health` and `/ready`.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::ConnectionTrait;

use super::error_sets::ProbeErrors;
use super::errors::{ApiError, ErrorBody, Failure};
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
    async fn health(&self) -> Result<Json<HealthResponse>, Failure<ProbeErrors>> {
        Ok(Json(HealthResponse {
            status: "ok".into(),
        }))
    }

    /// Readiness
    ///
    /// SQL and Redis are reachable.
    #[oai(path = "/ready", method = "get", operation_id = "get_ready")]
    async fn ready(&self, state: Data<&AppState>) -> Result<Readiness, Failure<ProbeErrors>> {
        // Within a second either way: a probe that hangs is as bad as one that fails.
        let within = std::time::Duration::from_secs(1);
        let (db, redis) = tokio::join!(
            tokio::time::timeout(within, state.0.db.execute_unprepared("SELECT 1")),
            tokio::time::timeout(within, state.0.queues.ping())
        );
        let db = db.unwrap_or_else(|_| Err(sea_orm::DbErr::Custom("no answer within 1 s".into())));
        let redis = redis
            .map_err(|_| "no answer within 1 s".to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        Ok(match (db, redis) {
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
        })
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
