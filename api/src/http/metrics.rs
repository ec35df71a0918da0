//! The API's `/metrics`: requests by route template, method and status, and their
//! latency.

use std::time::Duration;

use poem::http::{Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use waplify_shared::metrics::{self, HistogramFamily};

/// The route label of a path that matches no route.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily<RouteLabels>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics::new()
    }
}

impl HttpMetrics {
    pub fn new() -> HttpMetrics {
        let mut registry = metrics::registry();
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = metrics::histogram_family::<RouteLabels>();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            duration.clone(),
        );
        HttpMetrics {
            registry,
            requests,
            duration,
        }
    }

    /// One answered request; `route` is its template (`/api/v1/campaigns/{campaign_id}`)
    /// or [`UNMATCHED`].
    pub fn record(&self, route: &str, method: &Method, status: StatusCode, took: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method,
                status: status.as_u16(),
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method,
            })
            .observe(took);
    }

    /// The metrics as text, and their content type.
    pub fn render(&self, accept: Option<&str>) -> (&'static str, String) {
        metrics::render(&self.registry, accept)
    }
}

/// Standard methods by name; anything else is `other`, so labels stay few.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
