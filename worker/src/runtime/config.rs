//! Worker settings, all from the environment with defaults (`docs/configuration.md`).

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
    /// `UNKNOWN_OUTCOME_HOLD_SECS`: how long a call without a known outcome (a timeout
    /// after the request went out, an unreadable 2xx) waits for a status callback
    /// before the recipient is sent again.
    pub unknown_hold: Duration,
    /// `SEND_LEASE_SECS`: how long a claim holds a message in `sending`.
    pub lease: Duration,
    /// `RECONCILE_INTERVAL_MS`: how often SQL is compared with the queues.
    pub reconcile_every: Duration,
    /// `STALL_SECS`: a running campaign untouched this long gets its lanes reopened.
    pub stall: Duration,
    /// `QUEUE_RETENTION_SECS`: finished jobs are kept in Redis this long.
    pub retention: Duration,
    /// `POLL_INTERVAL_MS`: an idle worker looks for jobs this often.
    pub poll_every: Duration,
    /// `HEARTBEAT_SECS` and `MISSED_HEARTBEATS`: a worker silent for their product
    /// is dead, and its jobs go back to the queue.
    pub liveness: Liveness,
    /// `CALLBACK_MAX_ATTEMPTS`: failed runs of one stored WhatsApp callback before it
    /// is given up (kept, dead-lettered, for operators).
    pub callback_attempts: i32,
    /// `WEBHOOK_CONCURRENCY`: webhook requests in flight at once per process.
    pub webhook_concurrency: usize,
    /// `WORKER_NAME` (default host-pid) plus a random suffix per start: the prefix of
    /// this process's apalis worker names.
    pub name: String,
    /// `WORKER_METRICS_BIND`: where `/metrics` and `/health` are served; `None`
    /// (empty or `off`) serves nothing.
    pub metrics_bind: Option<String>,
}

impl WorkerConfig {
    /// The defaults, documented in `docs/configuration.md`.
    pub fn defaults(common: CommonConfig, whatsapp_base_url: &str) -> WorkerConfig {
        WorkerConfig {
            common,
            whatsapp_base_url: whatsapp_base_url.trim_end_matches('/').to_owned(),
            concurrency: 16,
            batch_size: 100,
            lanes: 8,
            max_attempts: 5,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            provider_timeout: Duration::from_secs(10),
            unknown_hold: Duration::from_secs(60),
            lease: Duration::from_secs(30),
            reconcile_every: Duration::from_secs(2),
            stall: Duration::from_secs(10),
            retention: Duration::from_secs(86_400),
            poll_every: Duration::from_millis(200),
            liveness: Liveness {
                heartbeat: Duration::from_secs(3),
                missed_heartbeats: 3,
                batch_size: 16,
            },
            callback_attempts: 5,
            webhook_concurrency: 32,
            name: default_name(),
            metrics_bind: Some("127.0.0.1:9091".into()),
        }
    }

    pub fn from_env() -> Result<WorkerConfig, ConfigError> {
        let base = config::string("WHATSAPP_API_BASE_URL", "https://graph.facebook.com/v21.0");
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConfigError::new(
                "WHATSAPP_API_BASE_URL",
                "must be an http(s) URL",
            ));
        }
        let d = WorkerConfig::defaults(CommonConfig::from_env()?, &base);
        let concurrency = positive("WORKER_CONCURRENCY", d.concurrency)?;
        let cfg = WorkerConfig {
            concurrency,
            batch_size: positive("SEND_BATCH_SIZE", d.batch_size as usize)? as u64,
            lanes: positive("SEND_LANES", d.lanes)?,
            max_attempts: positive("SEND_MAX_ATTEMPTS", d.max_attempts as usize)? as i32,
            retry_base: config::millis("RETRY_BASE_MS", millis(d.retry_base))?,
            retry_max: config::millis("RETRY_MAX_MS", millis(d.retry_max))?,
            provider_timeout: config::millis("PROVIDER_TIMEOUT_MS", millis(d.provider_timeout))?,
            unknown_hold: secs("UNKNOWN_OUTCOME_HOLD_SECS", d.unknown_hold)?,
            lease: secs("SEND_LEASE_SECS", d.lease)?,
            reconcile_every: config::millis("RECONCILE_INTERVAL_MS", millis(d.reconcile_every))?,
            stall: secs("STALL_SECS", d.stall)?,
            retention: Duration::from_secs(config::parse(
                "QUEUE_RETENTION_SECS",
                d.retention.as_secs(),
            )?),
            poll_every: config::millis("POLL_INTERVAL_MS", millis(d.poll_every))?,
            liveness: Liveness {
                heartbeat: secs("HEARTBEAT_SECS", d.liveness.heartbeat)?,
                missed_heartbeats: positive("MISSED_HEARTBEATS", d.liveness.missed_heartbeats)?,
                batch_size: concurrency,
            },
            callback_attempts: positive("CALLBACK_MAX_ATTEMPTS", d.callback_attempts as usize)?
                .min(1001) as i32,
            webhook_concurrency: positive("WEBHOOK_CONCURRENCY", d.webhook_concurrency)?,
            name: instance_name(&config::string("WORKER_NAME", &d.name)),
            metrics_bind: super::metrics_server::bind_setting(&config::string(
                "WORKER_METRICS_BIND",
                d.metrics_bind.as_deref().unwrap_or(""),
            )),
            ..d
        };
        if cfg.lease <= cfg.provider_timeout * 2 {
            return Err(ConfigError::new(
                "SEND_LEASE_SECS",
                "must be more than twice PROVIDER_TIMEOUT_MS, or live claims would expire",
            ));
        }
        if cfg.callback_attempts > 1000 {
            return Err(ConfigError::new(
                "CALLBACK_MAX_ATTEMPTS",
                "must be at most 1000",
            ));
        }
        if cfg.batch_size > 1000 {
            return Err(ConfigError::new("SEND_BATCH_SIZE", "must be at most 1000"));
        }
        Ok(cfg)
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn secs(name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(
        positive(name, default.as_secs() as usize)? as u64,
    ))
}

fn positive(name: &'static str, default: usize) -> Result<usize, ConfigError> {
    let v = config::parse(name, default)?;
    if v == 0 {
        return Err(ConfigError::new(name, "must be at least 1"));
    }
    Ok(v)
}

/// `base` plus four random characters. Two processes given one `WORKER_NAME` (or a
/// container restarted with the same host name and pid) must not share apalis worker
/// names: a live process heartbeating under a dead one's name would keep that one's
/// in-flight jobs from ever being handed back.
fn instance_name(base: &str) -> String {
    let random = ulid::Ulid::generate().to_string().to_lowercase();
    format!("{base}-{}", &random[random.len() - 4..])
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::instance_name;

    #[test]
    fn two_starts_with_one_worker_name_get_different_names() {
        let (a, b) = (instance_name("w1"), instance_name("w1"));
        assert_ne!(a, b);
        assert!(a.starts_with("w1-") && a.len() == "w1-".len() + 4, "{a}");
    }
}
