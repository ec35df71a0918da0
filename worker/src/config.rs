//! Worker settings, all from the environment with defaults (see the README table).

use std::time::Duration;

use waplify_shared::config::{self, CommonConfig, ConfigError};
use waplify_shared::queue::Liveness;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub common: CommonConfig,
    /// `WHATSAPP_API_BASE_URL`: the Cloud API root, e.g. `https://graph.facebook.com/v21.0`.
    pub whatsapp_base_url: String,
    /// `WORKER_CONCURRENCY`: send-queue jobs (batches) run at once per process.
    pub concurrency: usize,
    /// `SEND_BATCH_SIZE`: recipients claimed by one send job.
    pub batch_size: u64,
    /// `SEND_LANES`: send jobs a campaign runs in parallel.
    pub lanes: usize,
    /// `SEND_MAX_ATTEMPTS`: provider calls per recipient before it is failed.
    pub max_attempts: i32,
    /// `RETRY_BASE_MS`: delay before the second attempt; doubles per attempt.
    pub retry_base: Duration,
    /// `RETRY_MAX_MS`: longest delay between attempts.
    pub retry_max: Duration,
    /// `PROVIDER_TIMEOUT_MS`: one Cloud API call, connect to last byte.
    pub provider_timeout: Duration,
    /// `SEND_LEASE_SECS`: how long a claim holds a message in `sending`.
    pub lease: Duration,
    /// `RECONCILE_INTERVAL_MS`: how often SQL is compared with the queues.
    pub reconcile_every: Duration,
    /// `STALL_SECS`: a running campaign untouched this long gets a new send lane.
    pub stall: Duration,
    /// `QUEUE_RETENTION_SECS`: finished jobs are kept in Redis this long.
    pub retention: Duration,
    /// `POLL_INTERVAL_MS`: an idle worker looks for jobs this often.
    pub poll_every: Duration,
    /// `HEARTBEAT_SECS` and `MISSED_HEARTBEATS`: a worker silent for their product
    /// is dead, and its jobs go back to the queue.
    pub liveness: Liveness,
    /// `WORKER_NAME`: prefix of this process's apalis worker names (default host-pid).
    pub name: String,
}

impl WorkerConfig {
    pub fn from_env() -> Result<WorkerConfig, ConfigError> {
        let common = CommonConfig::from_env()?;
        let whatsapp_base_url =
            config::string("WHATSAPP_API_BASE_URL", "https://graph.facebook.com/v21.0")
                .trim_end_matches('/')
                .to_owned();
        if !(whatsapp_base_url.starts_with("http://") || whatsapp_base_url.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "WHATSAPP_API_BASE_URL",
                "must be an http(s) URL",
            ));
        }
        let concurrency = positive("WORKER_CONCURRENCY", 16)?;
        let cfg = WorkerConfig {
            common,
            whatsapp_base_url,
            concurrency,
            batch_size: positive("SEND_BATCH_SIZE", 100)? as u64,
            lanes: positive("SEND_LANES", 8)?,
            max_attempts: positive("SEND_MAX_ATTEMPTS", 5)? as i32,
            retry_base: config::millis("RETRY_BASE_MS", 2_000)?,
            retry_max: config::millis("RETRY_MAX_MS", 60_000)?,
            provider_timeout: config::millis("PROVIDER_TIMEOUT_MS", 10_000)?,
            lease: Duration::from_secs(positive("SEND_LEASE_SECS", 30)? as u64),
            reconcile_every: config::millis("RECONCILE_INTERVAL_MS", 2_000)?,
            stall: Duration::from_secs(positive("STALL_SECS", 10)? as u64),
            retention: Duration::from_secs(config::parse("QUEUE_RETENTION_SECS", 86_400u64)?),
            poll_every: config::millis("POLL_INTERVAL_MS", 200)?,
            liveness: Liveness {
                heartbeat: Duration::from_secs(positive("HEARTBEAT_SECS", 3)? as u64),
                missed_heartbeats: positive("MISSED_HEARTBEATS", 3)?,
                batch_size: concurrency,
            },
            name: config::string("WORKER_NAME", &default_name()),
        };
        if cfg.lease <= cfg.provider_timeout * 2 {
            return Err(ConfigError::new(
                "SEND_LEASE_SECS",
                "must be more than twice PROVIDER_TIMEOUT_MS, or live claims would expire",
            ));
        }
        Ok(cfg)
    }
}

fn positive(name: &'static str, default: usize) -> Result<usize, ConfigError> {
    let v = config::parse(name, default)?;
    if v == 0 {
        return Err(ConfigError::new(name, "must be at least 1"));
    }
    Ok(v)
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}
