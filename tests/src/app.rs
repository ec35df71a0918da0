//! `spawn_app`: the API served in-process on a free port, over a test database and a
//! private Redis prefix, with helpers to call it and to run a worker beside it. Both
//! start through the production entry points (`Application::build`, `Worker::build`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use waplify_api::http::ratelimit::RateLimit;
use waplify_api::{ApiConfig, Application, InboundConfig};
use waplify_shared::config::CommonConfig;
use waplify_shared::queue::{self, Queues};
use waplify_shared::webhooks::target::AllowedNetworks;
use waplify_worker::{Worker, WorkerConfig};

use crate::testdb::TestDb;

pub struct TestApp {
    pub client: Client,
    pub tdb: TestDb,
    pub prefix: String,
    pub redis_url: String,
    pub queues: Queues,
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
    let common = CommonConfig {
        webhook_networks: networks,
        ..common(&tdb.url, redis_url, &prefix)
    };
    let (client, server) = serve(common, rate_limit).await;
    TestApp {
        client,
        tdb,
        prefix,
        redis_url: redis_url.to_owned(),
        queues,
        server,
    }
}

async fn connect_queues(redis_url: &str, prefix: &str) -> Queues {
    let conn = queue::connect(redis_url)
        .await
        .unwrap_or_else(|e| panic!("Redis is required for these tests: {e}"));
    Queues::new(conn, prefix)
}

/// Settings for a test database, Redis and prefix.
fn common(database_url: &str, redis_url: &str, prefix: &str) -> CommonConfig {
    CommonConfig {
        database_url: database_url.to_owned(),
        redis_url: redis_url.to_owned(),
        queue_prefix: prefix.to_owned(),
        credits_per_message: 1,
        auto_migrate: false,
        webhook_networks: test_networks(),
    }
}

/// Builds the API as `waplify-api serve` does, on a free port, and serves it until
/// the handle is aborted.
async fn serve(
    common: CommonConfig,
    rate_limit: RateLimit,
) -> (Client, tokio::task::JoinHandle<()>) {
    let config = ApiConfig {
        common,
        bind: "127.0.0.1:0".into(),
        inbound: test_inbound(),
        rate_limit,
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
        common(&self.tdb.url, &self.redis_url, &self.prefix)
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
        let (client, server) = serve(self.common(), rate_limit).await;
        Instance { client, server }
    }

    /// A worker in this process, started as `waplify-worker` starts one.
    pub async fn start_worker(&self, cfg: WorkerConfig) -> Worker {
        Worker::build(cfg)
            .await
            .unwrap_or_else(|e| panic!("the worker starts: {e}"))
    }
}

/// An HTTP client for one running API, with the calls tests make.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        read(req.send().await.expect("GET")).await
    }

    pub async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("POST")).await
    }

    pub async fn delete(&self, path: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.delete(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        read(req.send().await.expect("DELETE")).await
    }

    /// Creates a draft with `n` recipients (`+1555…`), returning its id.
    pub async fn create_campaign(&self, key: &str, n: usize) -> String {
        let contacts: Vec<Value> = (0..n).map(|i| json!({ "phone": phone(i) })).collect();
        let mut created = None;
        for (i, chunk) in contacts.chunks(10_000).enumerate() {
            if i == 0 {
                let (status, body) = self
                    .post(
                        "/api/v1/campaigns",
                        Some(key),
                        Some(json!({
                            "name": "Test campaign",
                            "template_name": "welcome",
                            "body_data": {"1": "Ada"},
                            "contacts": chunk,
                        })),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                created = Some(body["campaign_id"].as_str().unwrap().to_owned());
            } else {
                let id = created.as_ref().unwrap();
                let (status, body) = self
                    .post(
                        &format!("/api/v1/campaigns/{id}/contacts"),
                        Some(key),
                        Some(json!({ "contacts": chunk })),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        }
        created.expect("at least one recipient")
    }

    pub async fn send(&self, key: &str, campaign_id: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/campaigns/{campaign_id}/send"),
            Some(key),
            None,
        )
        .await
    }

    pub async fn stats(&self, key: &str, campaign_id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/v1/campaigns/{campaign_id}/stats"), Some(key))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Waits until the campaign reaches `status`, returning its stats.
    pub async fn wait_for_status(
        &self,
        key: &str,
        campaign_id: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        crate::eventually(
            timeout,
            &format!("campaign {campaign_id} to be {status}"),
            || async {
                let stats = self.stats(key, campaign_id).await;
                (stats["campaign_status"] == status).then_some(stats)
            },
        )
        .await
    }
}

/// The `i`-th test phone number.
pub fn phone(i: usize) -> String {
    format!("1555{i:07}")
}

pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
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
}
