//! The worker's small HTTP listener (`WORKER_METRICS_BIND`): `/metrics` and `/health`.

use std::sync::Arc;
use std::time::Duration;

use poem::http::{StatusCode, header};
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler};
use tokio::sync::watch;

use waplify_shared::metrics;
use waplify_shared::queue::Queues;

use super::metrics::WorkerMetrics;

/// `WORKER_METRICS_BIND` parsed: `None` when empty or `off`.
pub fn bind_setting(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty() && !v.eq_ignore_ascii_case("off")).then(|| v.to_owned())
}

/// What the listener reads: the metrics, and the queues for their depths.
#[derive(Clone)]
struct Scraped {
    metrics: Arc<WorkerMetrics>,
    queues: Queues,
    /// `METRICS_TOKEN`.
    token: Option<String>,
}

#[handler]
async fn metrics_endpoint(req: &Request, scraped: Data<&Scraped>) -> Response {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if !metrics::scrape_allowed(scraped.token.as_deref(), header(header::AUTHORIZATION)) {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(header::WWW_AUTHENTICATE, "Bearer realm=\"waplify\"")
            .content_type("application/json")
            .body(r#"{"error":"unauthorized","message":"Invalid or missing metrics token"}"#);
    }
    let accept = header(header::ACCEPT);
    let (content_type, body) = scraped.metrics.scrape(&scraped.queues, accept).await;
    Response::builder().content_type(content_type).body(body)
}

#[handler]
fn health_endpoint() -> poem::web::Json<serde_json::Value> {
    poem::web::Json(serde_json::json!({"status": "ok"}))
}

/// Serves `/metrics` and `/health` on `bind` until `stop`.
pub async fn serve(
    metrics: Arc<WorkerMetrics>,
    queues: Queues,
    token: Option<String>,
    bind: String,
    mut stop: watch::Receiver<bool>,
) {
    let app = Route::new()
        .at("/metrics", poem::get(metrics_endpoint))
        .at("/health", poem::get(health_endpoint))
        .data(Scraped {
            metrics,
            queues,
            token,
        });
    tracing::info!(%bind, "metrics listener");
    let result = Server::new(TcpListener::bind(bind.clone()))
        .run_with_graceful_shutdown(
            app,
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
            Some(Duration::from_secs(1)),
        )
        .await;
    if let Err(e) = result {
        tracing::error!(%bind, "metrics listener failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::bind_setting;

    #[test]
    fn bind_can_be_turned_off() {
        assert_eq!(bind_setting(""), None);
        assert_eq!(bind_setting(" off "), None);
        assert_eq!(bind_setting("OFF"), None);
        assert_eq!(
            bind_setting("0.0.0.0:9091").as_deref(),
            Some("0.0.0.0:9091")
        );
    }
}
