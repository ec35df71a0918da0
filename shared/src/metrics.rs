//! Prometheus metrics: what the API and the worker both use to expose `/metrics`.
//!
//! Each process keeps its own [`Registry`]; its families are registered once at
//! start-up and updated with atomic operations only. [`render`] writes a registry in
//! the Prometheus text format, or OpenMetrics when the scraper asks for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use prometheus_client;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet, text};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// Every metric name starts with `waplify_`.
pub const PREFIX: &str = "waplify";

/// The classic Prometheus text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// OpenMetrics, served when the scraper's `Accept` asks for it.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds, in seconds, of every latency histogram: 5 ms to 60 s.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Whether a scrape may read the metrics: always without a token (`METRICS_TOKEN`
/// unset), else only with `Authorization: Bearer <token>`, compared in constant time.
pub fn scrape_allowed(token: Option<&str>, authorization: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|given| crate::signing::same_secret(given.trim(), token))
}

/// A new registry whose metric names get the `waplify_` prefix.
pub fn registry() -> Registry {
    Registry::with_prefix(PREFIX)
}

/// A registry as text, and the content type to answer with: OpenMetrics when `accept`
/// names it, else the classic Prometheus text format.
pub fn render(registry: &Registry, accept: Option<&str>) -> (&'static str, String) {
    let openmetrics = accept.is_some_and(|a| a.contains("application/openmetrics-text"));
    let mut out = String::with_capacity(8 * 1024);
    if openmetrics {
        text::encode(&mut out, registry).expect("writing to a String cannot fail");
        (OPENMETRICS_CONTENT_TYPE, out)
    } else {
        text::encode_registry(&mut out, registry).expect("writing to a String cannot fail");
        (TEXT_CONTENT_TYPE, out)
    }
}

/// A latency histogram over [`LATENCY_BUCKETS`] updated with atomics only (the
/// crate's own histogram takes a lock per observation). Cloning shares the counts.
#[derive(Clone, Debug)]
pub struct DurationHistogram(Arc<Buckets>);

#[derive(Debug)]
struct Buckets {
    /// Observations per bucket, not cumulative; the last one is `+Inf`.
    counts: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Default for DurationHistogram {
    fn default() -> Self {
        DurationHistogram(Arc::new(Buckets {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }))
    }
}

impl DurationHistogram {
    pub fn new() -> DurationHistogram {
        DurationHistogram::default()
    }

    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.0.counts[i].fetch_add(1, Ordering::Relaxed);
        self.0.sum_micros.fetch_add(
            took.as_micros().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.0
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for DurationHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for DurationHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
        let mut count = 0;
        for (i, c) in self.0.counts.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            count += n;
            // The text encoder writes `f64::MAX` as `+Inf`.
            buckets.push((LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::MAX), n));
        }
        let sum = self.0.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Latency histograms by label set.
pub type HistogramFamily<S> = Family<S, DurationHistogram, fn() -> DurationHistogram>;

pub fn histogram_family<S: EncodeLabelSet + Clone + std::hash::Hash + Eq>() -> HistogramFamily<S> {
    Family::new_with_constructor(DurationHistogram::new)
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Labels {
        route: String,
    }

    #[test]
    fn renders_counters_and_histograms_in_both_formats() {
        let mut registry = registry();
        let calls = Family::<Labels, Counter>::default();
        let took = histogram_family::<Labels>();
        registry.register("calls", "Calls", calls.clone());
        registry.register("call_duration_seconds", "Call latency", took.clone());
        let labels = Labels { route: "/x".into() };
        calls.get_or_create(&labels).inc();
        let h = took.get_or_create_owned(&labels);
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(300));
        h.observe(Duration::from_secs(120));
        assert_eq!(h.count(), 3);

        let (ct, text) = render(&registry, None);
        assert_eq!(ct, TEXT_CONTENT_TYPE);
        assert!(
            text.contains("waplify_calls_total{route=\"/x\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("waplify_call_duration_seconds_bucket{le=\"0.005\",route=\"/x\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("waplify_call_duration_seconds_bucket{le=\"0.5\",route=\"/x\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("waplify_call_duration_seconds_bucket{le=\"+Inf\",route=\"/x\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("waplify_call_duration_seconds_count{route=\"/x\"} 3\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));

        let (ct, text) = render(
            &registry,
            Some("application/openmetrics-text;version=1.0.0"),
        );
        assert_eq!(ct, OPENMETRICS_CONTENT_TYPE);
        assert!(text.ends_with("# EOF\n"));
    }
}
