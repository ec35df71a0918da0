//! What every `scripts/bench` measurement starts from: the processes' common
//! environment (a fresh database schema and Redis prefix, logs at `warn`), the fake
//! Cloud API, and the release API on a free port without the per-key request limit
//! (the benches measure the system, not that limit).

use crate::TestDb;
use crate::client::{Client, wait_http};
use crate::procs::{Proc, bin, free_port};

pub type Env = Vec<(&'static str, String)>;

/// The environment every process of one run shares.
pub fn common_env(tdb: &TestDb) -> Env {
    vec![
        ("DATABASE_URL", tdb.url.clone()),
        ("REDIS_URL", crate::redis_url()),
        (
            "WAPLIFY_SECRET_KEY",
            crate::keys::TEST_SECRET_KEY.to_owned(),
        ),
        ("WAPLIFY_QUEUE_PREFIX", crate::unique_prefix()),
        ("RUST_LOG", "warn".to_owned()),
    ]
}

/// The release API with `env`, once it answers `/health`, and a client of it.
pub async fn start_api(env: &Env) -> (Proc, Client) {
    let bind = format!("127.0.0.1:{}", free_port());
    let mut api_env = env.clone();
    api_env.extend([
        ("API_BIND", bind.clone()),
        ("API_RATE_LIMIT_PER_MINUTE", "0".to_owned()),
    ]);
    let api = Proc::spawn(&bin("waplify-api"), &["serve"], &api_env);
    let client = Client::new(&format!("http://{bind}"));
    wait_http(&client, "/health").await;
    (api, client)
}

/// The fake Cloud API answering after `latency_ms`, and its address.
pub fn start_fake(latency_ms: u64) -> (Proc, String) {
    let bind = format!("127.0.0.1:{}", free_port());
    let latency = latency_ms.to_string();
    let fake = Proc::spawn(
        &bin("fake-whatsapp"),
        &["--bind", &bind, "--latency-ms", &latency],
        &[],
    );
    (fake, bind)
}

/// A worker's environment: `env`, sending to the fake at `fake_bind`, no metrics port.
pub fn worker_env(env: &Env, fake_bind: &str) -> Env {
    let mut worker_env = env.clone();
    worker_env.extend([
        ("WHATSAPP_API_BASE_URL", format!("http://{fake_bind}")),
        ("WORKER_METRICS_BIND", "off".to_owned()),
    ]);
    worker_env
}
