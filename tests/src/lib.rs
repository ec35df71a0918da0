//! Test support: isolated databases and Redis prefixes, the API and worker in-process
//! or as real processes, a private `redis-server` for tests that break Redis, the
//! fake WhatsApp Cloud API, signed WhatsApp callbacks, generators for property tests
//! (`arbitrary`, `mutated`), and the Redis ops scripts.
//!
//! Services are found through `TEST_DATABASE` (`postgres`, the default, or `sqlite`),
//! `TEST_POSTGRES_URL` and `TEST_REDIS_URL`. A service that is not there fails the
//! test: nothing is skipped.

pub mod admin_cli;
pub mod app;
pub mod arbitrary;
pub mod bench_create;
pub mod bench_progress;
pub mod bench_stack;
pub mod chaos;
pub mod client;
pub mod fake;
pub mod fake_callbacks;
pub mod idempotency;
pub mod keys;
pub mod list_bench;
pub mod mutated;
pub mod ops;
pub mod procs;
pub mod proxy;
pub mod receiver;
pub mod recipients;
pub mod retry;
pub mod retry_bench;
pub mod schedule_bench;
pub mod seed;
pub mod stack;
pub mod test_sends;
pub mod testdb;
pub mod times;
pub mod tls;
pub mod whatsapp;

pub use app::{TestApp, spawn_app};
pub use fake::{Counters, Fake, FakeConfig};
pub use seed::{Seeded, seed};
pub use testdb::TestDb;

/// Redis for tests that do not break it.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A queue prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("t{}", ulid::Ulid::generate().to_string().to_lowercase())
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if started.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Logs of the code under test, shown for failing tests (`RUST_LOG` to change).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,apalis_core=error,apalis_redis=error".into()),
        )
        .with_test_writer()
        .try_init();
}
