//! Redis: the connection and every queue under one prefix, behind [`Queues`].
//!
//! - `push`: jobs under known task ids (the reconciler's re-push is a no-op).
//! - `promote`: keeping apalis-redis 1.0.0 inside its safe limits. It promotes *all*
//!   due scheduled ids in one Lua `unpack`, which fails for about 8,000 or more ids and
//!   takes every worker down with it; we move due ids in bounded chunks and spread
//!   retry jobs over seconds.
//! - `budget`: shared counters (a number's sends per second, an API key's requests
//!   per minute) and the liveness marks of running campaigns.
//! - `ops`: reading the apalis key layout with the operators' own Lua
//!   (`scripts/lua`), so the scripts and the services share one implementation.

mod budget;
mod ops;
mod promote;
mod push;

use std::path::Path;
use std::time::Duration;

use apalis::prelude::TaskId;
use apalis_redis::{Config as ApalisConfig, RedisStorage};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::{ConfigError, redact_url};
use crate::jobs::{Job, QueueKind};

pub use budget::ApiRateWindow;
pub use ops::{QueueDepth, QueueReport, TaskReport};
pub use promote::{PROMOTE_CHUNK, RETRY_SLOT_CAP};

/// How long one Redis command may take before it counts as failed. apalis' own
/// default (redis-rs' 500 ms) turns a slow moment into a dead worker.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

pub type QueueError = redis::RedisError;

/// Opens a managed connection (reconnects on its own) and checks it with a PING.
/// `ca_file` (`REDIS_CA_FILE`) is the PEM of the CA a `rediss://` server must present a
/// certificate of; without it the system's trusted roots are used.
pub async fn connect(url: &str, ca_file: Option<&Path>) -> Result<ConnectionManager, ConfigError> {
    const VAR: &str = "REDIS_URL";
    let client = client(url, ca_file)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(3)
        .set_max_delay(Duration::from_secs(2));
    let mut conn = client
        .get_connection_manager_with_config(config)
        .await
        .map_err(|e| {
            let trusting = match ca_file {
                Some(p) => format!(" (trusting the CA in REDIS_CA_FILE={})", p.display()),
                None => String::new(),
            };
            let url = redact_url(url);
            ConfigError::new(VAR, format!("cannot connect to {url}{trusting}: {e}"))
        })?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map_err(|e| ConfigError::new(VAR, format!("cannot talk to {}: {e}", redact_url(url))))?;
    Ok(conn)
}

fn client(url: &str, ca_file: Option<&Path>) -> Result<redis::Client, ConfigError> {
    let invalid = |e: redis::RedisError| {
        ConfigError::new(
            "REDIS_URL",
            format!("invalid Redis URL '{}': {e}", redact_url(url)),
        )
    };
    // rustls has two providers compiled in (through other crates), so it picks none by
    // itself; a second call finds one installed and changes nothing.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(path) = ca_file else {
        return redis::Client::open(url).map_err(invalid);
    };
    const CA: &str = "REDIS_CA_FILE";
    if !url.starts_with("rediss://") {
        return Err(ConfigError::new(
            CA,
            format!(
                "is set, but REDIS_URL '{}' is not a rediss:// (TLS) URL",
                redact_url(url)
            ),
        ));
    }
    let pem = std::fs::read(path)
        .map_err(|e| ConfigError::new(CA, format!("cannot read {}: {e}", path.display())))?;
    let certs = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    redis::Client::build_with_tls(url, certs).map_err(|e| {
        ConfigError::new(
            CA,
            format!("{} is not a usable CA certificate: {e}", path.display()),
        )
    })
}

/// A new ULID task id, the form apalis-redis itself uses.
pub fn new_task_id() -> TaskId {
    TaskId::from_ulid(ulid::Ulid::generate())
}

/// Worker-side liveness settings for apalis.
#[derive(Clone, Copy, Debug)]
pub struct Liveness {
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
    pub batch_size: usize,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            heartbeat: Duration::from_secs(3),
            missed_heartbeats: 3,
            batch_size: 10,
        }
    }
}

/// All queues under one prefix.
#[derive(Clone)]
pub struct Queues {
    conn: ConnectionManager,
    prefix: String,
}

impl Queues {
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Queues {
        Queues {
            conn,
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn queue_name(&self, kind: QueueKind) -> String {
        kind.name(&self.prefix)
    }

    /// The apalis configuration of a queue. Pub/sub events are off: nothing listens.
    pub fn apalis_config(&self, kind: QueueKind, liveness: Liveness) -> ApalisConfig {
        ApalisConfig::default()
            .queue(self.queue_name(kind))
            .heartbeat_interval(liveness.heartbeat)
            .missed_heartbeats(liveness.missed_heartbeats)
            .batch_size(liveness.batch_size)
            .emit_events(false)
    }

    /// An apalis storage for pushing to or consuming `J`'s queue.
    pub fn storage<J: Job>(&self, liveness: Liveness) -> RedisStorage<J> {
        RedisStorage::new(self.conn.clone()).with_config(self.apalis_config(J::QUEUE, liveness))
    }

    pub async fn ping(&self) -> Result<(), QueueError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
