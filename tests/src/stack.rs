//! The whole system as real processes: `waplify-api` and `waplify-worker` binaries over
//! a test database and Redis prefix, with the fake Cloud API served from the test.

use std::time::Duration;

use crate::client::Client;
use crate::fake::{Fake, FakeConfig};
use crate::procs::{Proc, bin, free_port};
use crate::testdb::TestDb;

pub struct Stack {
    pub tdb: TestDb,
    pub prefix: String,
    pub redis_url: String,
    pub fake: Fake,
    pub fake_url: String,
    pub api: Proc,
    pub client: Client,
    _fake_server: tokio::task::JoinHandle<()>,
}

impl std::ops::Deref for Stack {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Stack {
    pub async fn start(fake: FakeConfig) -> Stack {
        crate::init_tracing();
        let tdb = TestDb::new().await;
        let prefix = crate::unique_prefix();
        let redis_url = crate::redis_url();
        let fake = Fake::new(fake);
        let (fake_url, server) = fake.serve("127.0.0.1:0").await.expect("fake server");
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let mut env = common_env(&tdb.url, &redis_url, &prefix);
        env.push(("API_BIND", bind.clone()));
        // Tests poll stats often; the limit itself is tested in-process.
        env.push(("API_RATE_LIMIT_PER_MINUTE", "1000000".into()));
        let api = Proc::spawn(&bin("waplify-api"), &["serve"], &env);
        let client = Client::new(&format!("http://{bind}"));
        let started = std::time::Instant::now();
        while client.http.get(client.url("/health")).send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "API did not start: {}",
                api.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Stack {
            tdb,
            prefix,
            redis_url,
            fake,
            fake_url,
            api,
            client,
            _fake_server: server,
        }
    }

    pub fn spawn_worker(&self, name: &str) -> Proc {
        self.spawn_worker_with(name, &[])
    }

    /// A worker with settings of its own on top of the test ones.
    pub fn spawn_worker_with(&self, name: &str, extra: &[(&'static str, &str)]) -> Proc {
        let mut env = worker_env(
            &self.tdb.url,
            &self.redis_url,
            &self.prefix,
            &self.fake_url,
            name,
        );
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Proc::spawn(&bin("waplify-worker"), &[], &env)
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        self.tdb.scalar(sql).await
    }
}

/// Environment for a worker process named `name`, tuned for tests: quick retries,
/// reconciliation and lease expiry.
pub fn worker_env(
    db: &str,
    redis: &str,
    prefix: &str,
    whatsapp: &str,
    name: &str,
) -> Vec<(&'static str, String)> {
    let mut env = common_env(db, redis, prefix);
    env.extend([
        ("WHATSAPP_API_BASE_URL", whatsapp.to_owned()),
        ("WORKER_NAME", name.to_owned()),
        ("RETRY_BASE_MS", "300".into()),
        ("RETRY_MAX_MS", "2000".into()),
        ("PROVIDER_TIMEOUT_MS", "5000".into()),
        ("SEND_LEASE_SECS", "12".into()),
        ("UNKNOWN_OUTCOME_HOLD_SECS", "6".into()),
        ("RECONCILE_INTERVAL_MS", "500".into()),
        ("STALL_SECS", "3".into()),
        ("WORKER_METRICS_BIND", "off".into()),
    ]);
    env
}

fn common_env(db: &str, redis: &str, prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db.to_owned()),
        ("REDIS_URL", redis.to_owned()),
        ("WAPLIFY_QUEUE_PREFIX", prefix.to_owned()),
        (
            "WAPLIFY_SECRET_KEY",
            crate::keys::TEST_SECRET_KEY.to_owned(),
        ),
        (
            "RUST_LOG",
            "info,sqlx=warn,sea_orm=warn,apalis_core=warn,apalis_redis=warn".to_owned(),
        ),
    ]
}
