//! The API process: one entry point, [`Application::build`], used by `main.rs` and by
//! the tests alike. It connects, checks the schema, binds the listener (so a test can
//! ask for port 0 and read the port back), and serves until told to stop.

use std::future::Future;
use std::net::SocketAddr;

use waplify_shared::config::ConfigError;
use waplify_shared::db;
use waplify_shared::queue::{self, Queues};
use waplify_shared::secrets;

use crate::config::ApiConfig;
use crate::http::app::build_app;
use crate::http::serve::{self, Limits};
use crate::state::AppState;

/// A connected API with its listener bound, not serving yet.
pub struct Application {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    state: AppState,
    limits: Limits,
}

impl Application {
    pub async fn build(config: ApiConfig) -> Result<Application, ConfigError> {
        let db = db::connect_with(
            &config.common.database_url,
            config.common.db_max_connections,
            config.common.db_acquire_timeout,
        )
        .await?;
        db::ensure_schema(&db, config.common.auto_migrate).await?;
        let redis = queue::connect(
            &config.common.redis_url,
            config.common.redis_ca_file.as_deref(),
        )
        .await?;
        secrets::check_at_startup(&db, &config.common.secrets).await?;
        let state = AppState {
            db,
            queues: Queues::new(redis, config.common.queue_prefix.clone()),
            credits_per_message: config.common.credits_per_message,
            webhook_networks: config.common.webhook_networks,
            inbound: config.inbound,
            rate_limit: config.rate_limit,
            clock: config.common.clock.clone(),
            metrics_token: config.common.metrics_token.clone(),
            request_timeout: config.limits.request_timeout,
            secrets: config.common.secrets.clone(),
        };
        let bind = config.bind;
        let cannot = |e: std::io::Error| {
            ConfigError::new("API_BIND", format!("cannot serve on {bind}: {e}"))
        };
        let listener = tokio::net::TcpListener::bind(bind.clone())
            .await
            .map_err(cannot)?;
        let address = listener.local_addr().map_err(cannot)?;
        Ok(Application {
            listener,
            address,
            state,
            limits: config.limits,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then lets requests in hand finish (10 s).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        serve::serve(self.listener, build_app(self.state), self.limits, shutdown).await
    }
}
