//! API settings, all from the environment with defaults (`docs/configuration.md`).

use waplify_shared::config::{self, CommonConfig, ConfigError};

use crate::http::ratelimit::{DEFAULT_PER_MINUTE, RateLimit};
use crate::http::serve::Limits;

/// `WHATSAPP_VERIFY_TOKEN` and `WHATSAPP_APP_SECRET`: what WhatsApp's callbacks are
/// checked against. Without them the handshake is refused and no callback is stored.
#[derive(Clone, Debug, Default)]
pub struct InboundConfig {
    pub verify_token: Option<String>,
    pub app_secret: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub common: CommonConfig,
    /// `API_BIND`: where to listen (`host:port`; port 0 picks a free one).
    pub bind: String,
    pub inbound: InboundConfig,
    /// `API_RATE_LIMIT_PER_MINUTE`, per API key (0 turns it off).
    pub rate_limit: RateLimit,
    /// Connection limits (see `http::serve`).
    pub limits: Limits,
}

impl ApiConfig {
    pub fn from_env() -> Result<ApiConfig, ConfigError> {
        Ok(ApiConfig {
            common: CommonConfig::from_env()?,
            bind: config::string("API_BIND", "127.0.0.1:8080"),
            inbound: InboundConfig {
                verify_token: config::optional("WHATSAPP_VERIFY_TOKEN"),
                app_secret: config::optional("WHATSAPP_APP_SECRET"),
            },
            rate_limit: RateLimit::per_minute(config::parse(
                "API_RATE_LIMIT_PER_MINUTE",
                DEFAULT_PER_MINUTE,
            )?),
            limits: limits()?,
        })
    }
}

/// `API_HEADER_READ_TIMEOUT_SECS`, `API_REQUEST_TIMEOUT_SECS`, `API_IDLE_TIMEOUT_SECS`,
/// `API_MAX_CONNECTIONS`.
fn limits() -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let secs = |name: &'static str, default: std::time::Duration| {
        let n: u64 = config::parse(name, default.as_secs())?;
        if n == 0 {
            return Err(ConfigError::new(name, "must be at least 1"));
        }
        Ok(std::time::Duration::from_secs(n))
    };
    let max_connections: usize = config::parse("API_MAX_CONNECTIONS", d.max_connections)?;
    if !(1..=1_000_000).contains(&max_connections) {
        return Err(ConfigError::new(
            "API_MAX_CONNECTIONS",
            "must be between 1 and 1000000",
        ));
    }
    Ok(Limits {
        header_read_timeout: secs("API_HEADER_READ_TIMEOUT_SECS", d.header_read_timeout)?,
        request_timeout: secs("API_REQUEST_TIMEOUT_SECS", d.request_timeout)?,
        idle_timeout: secs("API_IDLE_TIMEOUT_SECS", d.idle_timeout)?,
        max_connections,
    })
}
