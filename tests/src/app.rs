//! `spawn_app`: the API served in-process on a free port, over a test database and a
//! private Redis prefix, with helpers to call it and to run a worker beside it. Both
//! start through the production entry points (`Application::build`, `Worker::build`).

use std::time::Duration;

use waplify_api::http::ratelimit::RateLimit;
use waplify_api::http::serve::Limits;
use waplify_api::{ApiConfig, Application, InboundConfig};
use waplify_shared::clock::Clock;
use waplify_shared::config::CommonConfig;
use waplify_shared::queue::{self, Queues};
use waplify_shared::webhooks::target::AllowedNetworks;
use waplify_worker::{Worker, WorkerConfig};

pub use crate::client::{Client, phone, read};
use crate::testdb::TestDb;

pub struct TestApp {
    pub client: Client,
    pub tdb: TestDb,
    pub prefix: String,
    pub redis_url: String,
    pub queues: Queues,
    /// The clock of this app and of its workers: `advance` it to reach a scheduled
    /// time or a window's opening without waiting.
    pub clock: Clock,
    server: tokio::task::JoinHandle<()>,
}

/// The app secret test callbacks are signed with (the one of the published vectors).
pub const APP_SECRET: &str = "TEST_APP_SECRET";
pub const VERIFY_TOKEN: &str = "test-verify-token";

/// Tests receive webhooks on loopback; every other internal class stays refused.
pub fn test_networks() -> AllowedNetworks {
    AllowedNetworks {
        loopback: true,
        ..AllowedNetworks::default()
    }
}

/// Callbacks signed with [`APP_SECRET`], handshakes with [`VERIFY_TOKEN`].
fn test_inbound() -> InboundConfig {
    InboundConfig {
        verify_token: Some(VERIFY_TOKEN.to_owned()),
        app_secret: Some(APP_SECRET.to_owned()),
    }
}

/// The API over a fresh database, the shared Redis and a unique prefix.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&crate::redis_url()).await
}

/// The API against a given Redis (a private `redis-server` for tests that break it).
pub async fn spawn_app_with(redis_url: &str) -> TestApp {
    spawn(redis_url, test_networks(), roomy_rate_limit()).await
}

/// The API with its production defaults for webhook targets (loopback refused too).
pub async fn spawn_app_with_networks(networks: AllowedNetworks) -> TestApp {
    spawn(&crate::redis_url(), networks, roomy_rate_limit()).await
}

/// The rate limit of test apps: enforced (so every response carries its headers) but
/// far above what any test sends.
pub fn roomy_rate_limit() -> RateLimit {
    RateLimit::per_minute(1_000_000)
}

/// The API with a given rate limit.
pub async fn spawn_app_limited(redis_url: &str, rate_limit: RateLimit) -> TestApp {
    spawn(redis_url, test_networks(), rate_limit).await
}

async fn spawn(redis_url: &str, networks: AllowedNetworks, rate_limit: RateLimit) -> TestApp {
    crate::init_tracing();
    let tdb = TestDb::new().await;
    let prefix = crate::unique_prefix();
    let queues = connect_queues(redis_url, &prefix).await;
    let clock = Clock::system();
    let common = CommonConfig {
        webhook_networks: networks,
        ..common(&tdb.url, redis_url, &prefix, &clock)
    };
    let (client, server) = serve(common, rate_limit, Limits::default()).await;
    TestApp {
        client,
        tdb,
        prefix,
        redis_url: redis_url.to_owned(),
        queues,
        clock,
        server,
    }
}

async fn connect_queues(redis_url: &str, prefix: &str) -> Queues {
    let conn = queue::connect(redis_url, None)
        .await
        .unwrap_or_else(|e| panic!("Redis is required for these tests: {e}"));
    Queues::new(conn, prefix)
}

/// Settings for a test database, Redis and prefix.
fn common(database_url: &str, redis_url: &str, prefix: &str, clock: &Clock) -> CommonConfig {
    CommonConfig {
        database_url: database_url.to_owned(),
        redis_url: redis_url.to_owned(),
        redis_ca_file: None,
        queue_prefix: prefix.to_owned(),
        credits_per_message: 1,
        auto_migrate: false,
        webhook_networks: test_networks(),
        // The API and each worker of a test open their own pool, as their processes
        // would; small pools keep parallel tests inside PostgreSQL's connection limit.
        db_max_connections: Some(10),
        // Generous on a loaded test machine; outage tests set their own.
        db_acquire_timeout: Duration::from_secs(10),
        clock: clock.clone(),
        metrics_token: None,
        secrets: crate::keys::test_keys(),
    }
}

/// Builds the API as `waplify-api serve` does, on a free port, and serves it until
/// the handle is aborted.
async fn serve(
    common: CommonConfig,
    rate_limit: RateLimit,
    limits: Limits,
) -> (Client, tokio::task::JoinHandle<()>) {
    let config = ApiConfig {
        common,
        bind: "127.0.0.1:0".into(),
        inbound: test_inbound(),
        rate_limit,
        limits,
    };
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("the API starts: {e}"));
    let addr = app.address();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    (Client::new(&format!("http://{addr}")), server)
}

/// A second API instance over the same database, Redis and prefix as a [`TestApp`],
/// with connections and a rate limiter of its own, as another API process would have.
pub struct Instance {
    pub client: Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::ops::Deref for Instance {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::ops::Deref for TestApp {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    /// Settings for this app's database, Redis and prefix.
    pub fn common(&self) -> CommonConfig {
        common(&self.tdb.url, &self.redis_url, &self.prefix, &self.clock)
    }

    /// Worker settings tuned for tests: fast retries and reconciliation.
    pub fn worker_config(&self, whatsapp_url: &str) -> WorkerConfig {
        let mut cfg = WorkerConfig::defaults(self.common(), whatsapp_url);
        cfg.retry_base = Duration::from_millis(500);
        cfg.retry_max = Duration::from_secs(2);
        cfg.reconcile_every = Duration::from_millis(500);
        cfg.stall = Duration::from_secs(3);
        cfg.provider_timeout = Duration::from_secs(5);
        cfg.lease = Duration::from_secs(15);
        cfg.name = format!("test-{}", ulid::Ulid::generate());
        // Parallel tests would fight over one port; a test that wants it sets a free one.
        cfg.metrics_bind = None;
        cfg
    }

    /// Another API instance beside this one (same database, Redis and prefix).
    pub async fn another_instance(&self, rate_limit: RateLimit) -> Instance {
        let (client, server) = serve(self.common(), rate_limit, Limits::default()).await;
        Instance { client, server }
    }

    /// Another API instance with connection limits of its own.
    pub async fn instance_with_limits(&self, limits: Limits) -> Instance {
        let (client, server) = serve(self.common(), roomy_rate_limit(), limits).await;
        Instance { client, server }
    }

    /// Another API instance with settings of its own (a database URL through a proxy).
    pub async fn instance_with(&self, common: CommonConfig) -> Instance {
        let (client, server) = serve(common, roomy_rate_limit(), Limits::default()).await;
        Instance { client, server }
    }

    /// A worker in this process, started as `waplify-worker` starts one.
    pub async fn start_worker(&self, cfg: WorkerConfig) -> Worker {
        Worker::build(cfg)
            .await
            .unwrap_or_else(|e| panic!("the worker starts: {e}"))
    }
}

impl TestApp {
    /// Rows per table, to show that a rejected request changed nothing.
    pub async fn row_counts(&self) -> std::collections::BTreeMap<&'static str, i64> {
        self.tdb.row_counts().await
    }

    /// Scalar query helper for assertions.
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        self.tdb.scalar(sql).await
    }

    pub async fn scalar_text(&self, sql: &str) -> String {
        self.tdb.scalar(sql).await
    }

    pub async fn execute(&self, sql: &str) {
        self.tdb.execute(sql).await
    }

    /// An account's credit balance.
    pub async fn balance(&self, account: &str) -> i64 {
        self.scalar_i64(&format!(
            "SELECT balance FROM accounts WHERE id = '{account}'"
        ))
        .await
    }

    /// The sum of an account's ledger entries (0 without any).
    pub async fn ledger_sum(&self, account: &str) -> i64 {
        self.scalar_i64(&format!("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM wallet_ledger WHERE account_id = '{account}'"))
            .await
    }

    /// When each provider call was made, Unix milliseconds, in the order of the calls.
    pub async fn provider_call_times_ms(&self) -> Vec<i64> {
        use sea_orm::{EntityTrait, QueryOrder};
        use waplify_shared::db::entities::provider_call;
        provider_call::Entity::find()
            .order_by_asc(provider_call::Column::Id)
            .all(&self.tdb.db)
            .await
            .unwrap()
            .iter()
            .map(|c| c.at.timestamp_millis())
            .collect()
    }
}
