//! The processes a chaos run breaks: API and worker binaries, a private Redis with
//! append-only persistence, and PostgreSQL behind a proxy the run can cut. Every
//! process reaches PostgreSQL through that proxy, so cutting it is an outage for all
//! of them (every connection dropped, new ones refused) without stopping a server
//! that others may share.

use std::time::Duration;

use crate::app::APP_SECRET;
use crate::client::{Client, wait_http};
use crate::procs::{Proc, RedisServer, bin, free_port};
use crate::proxy::{Proxy, through};

type Env = Vec<(&'static str, String)>;

pub struct Cluster {
    pub redis: RedisServer,
    pub proxy: Proxy,
    pub apis: Vec<Proc>,
    pub clients: Vec<Client>,
    /// `None` while a worker is down between a kill and its restart.
    pub workers: Vec<Option<Proc>>,
    env: Env,
    fake_url: String,
}

impl Cluster {
    /// Starts Redis, the proxy, `apis` API processes and `workers` worker processes.
    pub async fn start(database_url: &str, fake_url: &str, apis: usize, workers: usize) -> Cluster {
        let redis = RedisServer::start_persistent();
        let (_, target) = through(database_url, 0);
        let proxy = Proxy::start(target).await;
        let env = vec![
            ("DATABASE_URL", through(database_url, proxy.port).0),
            ("REDIS_URL", redis.url()),
            ("WAPLIFY_QUEUE_PREFIX", crate::unique_prefix()),
            ("WEBHOOK_ALLOW_NETWORKS", "loopback".into()),
            ("WAPLIFY_SECRET_KEY", crate::keys::TEST_SECRET_KEY.into()),
            (
                "RUST_LOG",
                "warn,apalis_core=error,apalis_redis=error".into(),
            ),
        ];
        let mut cluster = Cluster {
            redis,
            proxy,
            apis: Vec::new(),
            clients: Vec::new(),
            workers: Vec::new(),
            env,
            fake_url: fake_url.to_owned(),
        };
        for _ in 0..apis {
            let bind = format!("127.0.0.1:{}", free_port());
            let mut env = cluster.env.clone();
            env.extend([
                ("API_BIND", bind.clone()),
                ("API_RATE_LIMIT_PER_MINUTE", "0".into()),
                ("WHATSAPP_APP_SECRET", APP_SECRET.into()),
            ]);
            cluster
                .apis
                .push(Proc::spawn(&bin("waplify-api"), &["serve"], &env));
            let client = Client::new(&format!("http://{bind}"));
            wait_http(&client, "/health").await;
            cluster.clients.push(client);
        }
        for i in 0..workers {
            let worker = cluster.spawn_worker(i);
            cluster.workers.push(Some(worker));
        }
        cluster
    }

    /// The API that receives WhatsApp's callbacks.
    pub fn callback_url(&self) -> String {
        format!("{}/api/v1/whatsapp/webhook", self.clients[0].base)
    }

    fn spawn_worker(&mut self, i: usize) -> Proc {
        let mut env = self.env.clone();
        env.extend([
            ("WHATSAPP_API_BASE_URL", self.fake_url.clone()),
            ("WORKER_NAME", format!("chaos-{i}")),
            ("WORKER_METRICS_BIND", "off".into()),
        ]);
        Proc::spawn(&bin("waplify-worker"), &[], &env)
    }

    /// `kill -9` worker `i`, and a new one in its place after `down`.
    pub async fn kill_worker(&mut self, i: usize, down: Duration) {
        if let Some(mut w) = self.workers[i].take() {
            w.kill9();
        }
        tokio::time::sleep(down).await;
        self.workers[i] = Some(self.spawn_worker(i));
    }

    /// SIGTERM worker `i` (it finishes what it holds), then a new one in its place.
    /// Returns whether it exited by itself within a minute.
    pub async fn restart_worker(&mut self, i: usize) -> bool {
        let mut exited = true;
        if let Some(mut w) = self.workers[i].take() {
            exited = tokio::task::spawn_blocking(move || {
                let status = w.terminate(Duration::from_secs(60));
                status.is_some()
            })
            .await
            .unwrap_or(false);
        }
        self.workers[i] = Some(self.spawn_worker(i));
        exited
    }

    /// `kill -9` Redis and start it again from its append-only file after `down`.
    pub async fn restart_redis(&mut self, down: Duration) {
        self.redis.stop();
        tokio::time::sleep(down).await;
        self.redis.restart();
    }

    /// PostgreSQL unreachable for every process during `down`.
    pub async fn database_outage(&self, down: Duration) {
        self.proxy.cut().await;
        tokio::time::sleep(down).await;
        self.proxy.restore();
    }

    /// Ends every worker gracefully, then the APIs.
    pub fn stop(&mut self) {
        for w in self.workers.iter_mut().flatten() {
            w.terminate(Duration::from_secs(30));
        }
        for a in &mut self.apis {
            a.terminate(Duration::from_secs(10));
        }
    }
}
