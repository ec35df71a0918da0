//! Settings read from the environment. Every variable has a default, so a bare
//! `waplify-api serve` works on a laptop; a bad value stops the process with one line
//! naming the variable.

use std::str::FromStr;
use std::time::Duration;

use crate::webhooks::target::AllowedNetworks;

/// A setting that is present but unusable, or a service it names that cannot be reached.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            var,
            problem: problem.into(),
        }
    }
}

/// Reads `name`, falling back to `default` when unset or empty.
pub fn string(name: &'static str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => default.to_owned(),
    }
}

/// Reads `name`; `None` when unset or empty.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Reads and parses `name`, falling back to `default` when unset or empty.
pub fn parse<T: FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|e| ConfigError::new(name, format!("cannot parse '{}': {e}", v.trim()))),
        _ => Ok(default),
    }
}

/// Reads a duration given in milliseconds.
pub fn millis(name: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
    parse(name, default_ms).map(Duration::from_millis)
}

/// Reads a boolean (`1/0`, `true/false`, `yes/no`).
pub fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(ConfigError::new(
                name,
                format!("expected true or false, got '{other}'"),
            )),
        },
        _ => Ok(default),
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/waplify.db?mode=rwc";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_QUEUE_PREFIX: &str = "waplify";

/// How long a query waits for a pooled connection by default: a request fails fast
/// while the database is away instead of hanging (`DATABASE_ACQUIRE_TIMEOUT_MS`).
pub const DEFAULT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// What both the API and the worker need.
#[derive(Clone, Debug)]
pub struct CommonConfig {
    /// `DATABASE_URL`: `sqlite://…` (embedded default) or `postgres://…`.
    pub database_url: String,
    /// `REDIS_URL`: `redis://` or, over TLS, `rediss://`, with `user:password@` when
    /// the server wants them.
    pub redis_url: String,
    /// `REDIS_CA_FILE`: a PEM file of the CA a `rediss://` server's certificate must
    /// chain to, instead of the system's trusted roots.
    pub redis_ca_file: Option<std::path::PathBuf>,
    /// `WAPLIFY_QUEUE_PREFIX`: every Redis key we touch starts with it.
    pub queue_prefix: String,
    /// `CREDITS_PER_MESSAGE`: what one recipient costs.
    pub credits_per_message: i64,
    /// `WAPLIFY_AUTO_MIGRATE`: apply pending migrations at start instead of refusing to run.
    pub auto_migrate: bool,
    /// `WEBHOOK_ALLOW_NETWORKS`: internal address classes webhooks may target.
    pub webhook_networks: AllowedNetworks,
    /// `DATABASE_MAX_CONNECTIONS`: the process's SQL pool size; unset or 0 is 20 on
    /// PostgreSQL, 8 on SQLite.
    pub db_max_connections: Option<u32>,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: how long a query waits for a pooled connection
    /// before it fails (503 from the API); default 2000.
    pub db_acquire_timeout: std::time::Duration,
    /// What schedules and sending windows are read against: the system clock, which
    /// tests move ahead.
    pub clock: crate::clock::Clock,
    /// `METRICS_TOKEN`: when set, `/metrics` (API and worker) answers only requests
    /// with `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// `WAPLIFY_SECRET_KEY` (base64 of 32 bytes) and `WAPLIFY_SECRET_KEYS_OLD` (comma-
    /// separated): what access tokens and webhook secrets are encrypted with at rest.
    /// Without a key they are stored in plain text (a warning at start).
    pub secrets: crate::secrets::Keyring,
}

impl CommonConfig {
    pub fn from_env() -> Result<CommonConfig, ConfigError> {
        let queue_prefix = string("WAPLIFY_QUEUE_PREFIX", DEFAULT_QUEUE_PREFIX);
        if queue_prefix.is_empty()
            || !queue_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
        {
            return Err(ConfigError::new(
                "WAPLIFY_QUEUE_PREFIX",
                "use letters, digits and _ - . : only",
            ));
        }
        let credits_per_message = parse("CREDITS_PER_MESSAGE", 1i64)?;
        if credits_per_message < 0 {
            return Err(ConfigError::new(
                "CREDITS_PER_MESSAGE",
                "must not be negative",
            ));
        }
        Ok(CommonConfig {
            database_url: string("DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url: string("REDIS_URL", DEFAULT_REDIS_URL),
            redis_ca_file: optional("REDIS_CA_FILE").map(Into::into),
            queue_prefix,
            credits_per_message,
            auto_migrate: flag("WAPLIFY_AUTO_MIGRATE", false)?,
            webhook_networks: AllowedNetworks::parse(&string("WEBHOOK_ALLOW_NETWORKS", ""))
                .map_err(|e| ConfigError::new("WEBHOOK_ALLOW_NETWORKS", e))?,
            db_max_connections: Some(parse("DATABASE_MAX_CONNECTIONS", 0u32)?).filter(|n| *n > 0),
            db_acquire_timeout: std::time::Duration::from_millis(parse(
                "DATABASE_ACQUIRE_TIMEOUT_MS",
                DEFAULT_ACQUIRE_TIMEOUT.as_millis() as u64,
            )?)
            .max(std::time::Duration::from_millis(100)),
            clock: crate::clock::Clock::system(),
            metrics_token: optional("METRICS_TOKEN"),
            secrets: crate::secrets::Keyring::from_env()?,
        })
    }
}

/// A URL with its password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// `scheme://user:***@host…`: the password of a URL's userinfo hidden.
fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("rediss://default:p@ss@h:6380/0"),
            "rediss://default:***@h:6380/0"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=verify-full&password=secret&sslpassword=x"),
            "postgres://u@h/db?sslmode=verify-full&password=***&sslpassword=***"
        );
    }
}
