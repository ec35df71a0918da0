//! Per-key request limit: `API_RATE_LIMIT_PER_MINUTE` requests (100 by default) in
//! fixed one-minute windows, counted in Redis so every API process shares one budget.
//!
//! Authentication counts the request (see `auth`); the middleware then stamps the
//! response with `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`
//! (the Unix time the window ends) and, on a 429, `Retry-After` (seconds).
//!
//! When Redis cannot count a request the limit fails open: the request goes through
//! without rate-limit headers, a warning is logged, and Redis is left alone for
//! [`PAUSE_AFTER_FAILURE`] so an outage costs no latency on every call.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use poem::http::{HeaderMap, HeaderValue, StatusCode};

use waplify_shared::ids::KeyId;
use waplify_shared::queue::{ApiRateWindow, Queues};

use super::errors::ApiError;

pub const LIMIT_HEADER: &str = "x-ratelimit-limit";
pub const REMAINING_HEADER: &str = "x-ratelimit-remaining";
pub const RESET_HEADER: &str = "x-ratelimit-reset";
pub const RETRY_AFTER_HEADER: &str = "retry-after";

/// The default of `API_RATE_LIMIT_PER_MINUTE`.
pub const DEFAULT_PER_MINUTE: u64 = 100;
/// Longest wait for Redis to count a request before the request goes through uncounted.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After Redis failed to count a request, requests go uncounted for this long.
pub const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// The limit and its window. Cheap to clone; clones share the failure pause.
#[derive(Clone, Debug)]
pub struct RateLimit {
    /// Requests allowed per key and window; 0 turns the limit off.
    pub limit: u64,
    /// Window length. One minute, except in tests.
    pub window: Duration,
    paused_until: Arc<PausedUntil>,
}

#[derive(Debug)]
struct PausedUntil {
    origin: Instant,
    /// Milliseconds since `origin`; 0 when not paused.
    millis: AtomicU64,
}

impl RateLimit {
    pub fn per_minute(limit: u64) -> RateLimit {
        RateLimit::new(limit, Duration::from_secs(60))
    }

    pub fn new(limit: u64, window: Duration) -> RateLimit {
        RateLimit {
            limit,
            window: window.max(Duration::from_secs(1)),
            paused_until: Arc::new(PausedUntil {
                origin: Instant::now(),
                millis: AtomicU64::new(0),
            }),
        }
    }

    pub fn off() -> RateLimit {
        RateLimit::per_minute(0)
    }

    pub fn is_on(&self) -> bool {
        self.limit > 0
    }

    /// `per minute` or `per N seconds`, for the 429 message.
    fn per_window(&self) -> String {
        match self.window.as_secs() {
            60 => "per minute".to_owned(),
            s => format!("per {s} seconds"),
        }
    }

    fn elapsed_millis(&self) -> u64 {
        self.paused_until.origin.elapsed().as_millis() as u64
    }

    fn paused(&self) -> bool {
        self.elapsed_millis() < self.paused_until.millis.load(Ordering::Relaxed)
    }

    /// Pauses counting; true for the caller that started this pause (it logs).
    fn pause(&self) -> bool {
        let now = self.elapsed_millis();
        let until = now + PAUSE_AFTER_FAILURE.as_millis() as u64;
        let previous = self.paused_until.millis.swap(until, Ordering::Relaxed);
        previous <= now
    }

    /// Counts one request of `key_id`. `Err` is the 429 to answer with. The outcome
    /// is kept for the response headers when called inside [`scope`].
    pub async fn check(&self, queues: &Queues, key_id: &KeyId) -> Result<(), ApiError> {
        if !self.is_on() || self.paused() {
            return Ok(());
        }
        let counted = tokio::time::timeout(
            REDIS_TIMEOUT,
            queues.count_api_request(key_id, self.window.as_secs()),
        )
        .await;
        let window = match counted {
            Ok(Ok(window)) => window,
            Ok(Err(e)) => {
                self.fail_open(&e.to_string());
                return Ok(());
            }
            Err(_) => {
                self.fail_open("Redis did not answer in time");
                return Ok(());
            }
        };
        let decision = Decision::new(self.limit, window);
        let _ = DECISION.try_with(|slot| slot.set(Some(decision)));
        if decision.retry_after.is_some() {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Rate limit exceeded. Limit: {} requests {}",
                    self.limit,
                    self.per_window()
                ),
            ));
        }
        Ok(())
    }

    fn fail_open(&self, cause: &str) {
        if self.pause() {
            tracing::warn!(
                "rate limit not enforced for {}s: cannot count requests in Redis: {cause}",
                PAUSE_AFTER_FAILURE.as_secs()
            );
        }
    }
}

/// What the response says about the caller's budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds at which the window ends.
    pub reset: u64,
    /// Set when the request was refused: seconds until the window ends (at least 1).
    pub retry_after: Option<u64>,
}

impl Decision {
    fn new(limit: u64, window: ApiRateWindow) -> Decision {
        Decision {
            limit,
            remaining: limit.saturating_sub(window.count),
            reset: window.window_end,
            retry_after: (window.count > limit)
                .then(|| window.window_end.saturating_sub(window.now).max(1)),
        }
    }

    /// Adds the rate-limit headers (and `Retry-After` on a refusal).
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(LIMIT_HEADER, HeaderValue::from(self.limit));
        headers.insert(REMAINING_HEADER, HeaderValue::from(self.remaining));
        headers.insert(RESET_HEADER, HeaderValue::from(self.reset));
        if let Some(secs) = self.retry_after {
            headers.insert(RETRY_AFTER_HEADER, HeaderValue::from(secs));
        }
    }
}

tokio::task_local! {
    static DECISION: Cell<Option<Decision>>;
}

/// Runs one request; returns its output and the rate-limit outcome, if it was counted.
pub async fn scope<F: Future>(fut: F) -> (F::Output, Option<Decision>) {
    DECISION
        .scope(Cell::new(None), async {
            let out = fut.await;
            (out, DECISION.with(Cell::take))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(count: u64) -> ApiRateWindow {
        ApiRateWindow {
            count,
            window_end: 1_718_462_460,
            now: 1_718_462_428,
        }
    }

    #[test]
    fn remaining_counts_down_and_the_request_past_the_limit_waits_for_the_window() {
        assert_eq!(
            Decision::new(100, window(1)),
            Decision {
                limit: 100,
                remaining: 99,
                reset: 1_718_462_460,
                retry_after: None
            }
        );
        assert_eq!(Decision::new(100, window(100)).remaining, 0);
        assert_eq!(Decision::new(100, window(100)).retry_after, None);
        let refused = Decision::new(100, window(101));
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after, Some(32));
        let at_the_edge = ApiRateWindow {
            now: 1_718_462_460,
            ..window(150)
        };
        assert_eq!(Decision::new(100, at_the_edge).retry_after, Some(1));
    }

    #[test]
    fn one_failure_logs_once_per_pause() {
        let limit = RateLimit::per_minute(100);
        assert!(!limit.paused());
        assert!(limit.pause());
        assert!(limit.paused());
        assert!(!limit.pause(), "already paused: no second warning");
        assert_eq!(limit.per_window(), "per minute");
        assert_eq!(
            RateLimit::new(5, Duration::from_secs(2)).per_window(),
            "per 2 seconds"
        );
    }
}
