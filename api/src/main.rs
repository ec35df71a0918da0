//! `waplify-api serve | migrate | openapi`

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use poem::listener::TcpListener;

use waplify_api::inbound::InboundConfig;
use waplify_api::ratelimit::{self, RateLimit};
use waplify_api::{AppState, build_app, spec_json};
use waplify_shared::config::{self, CommonConfig, ConfigError};
use waplify_shared::{db, queue};

#[derive(Parser)]
#[command(name = "waplify-api", version, about = "Waplify Send HTTP API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on API_BIND (the default command).
    Serve,
    /// Apply pending database migrations to DATABASE_URL.
    Migrate,
    /// Print the OpenAPI spec (the committed openapi/openapi.json).
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::Openapi => {
            print!("{}", spec_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("waplify-api: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate() -> Result<(), ConfigError> {
    let common = CommonConfig::from_env()?;
    let db = db::connect(&common.database_url).await?;
    let applied = db::migrate(&db).await.map_err(|e| {
        ConfigError::new(
            "DATABASE_URL",
            format!("migration failed: {}", db::brief(&e)),
        )
    })?;
    println!("{{\"migrations_applied\":{applied}}}");
    Ok(())
}

async fn serve() -> Result<(), ConfigError> {
    let common = CommonConfig::from_env()?;
    let bind = config::string("API_BIND", "127.0.0.1:8080");
    let db = db::connect(&common.database_url).await?;
    db::ensure_schema(&db, common.auto_migrate).await?;
    let rate_limit = config::parse("API_RATE_LIMIT_PER_MINUTE", ratelimit::DEFAULT_PER_MINUTE)?;
    let redis = queue::connect(&common.redis_url).await?;
    let state = AppState {
        db,
        queues: queue::Queues::new(redis, common.queue_prefix.clone()),
        credits_per_message: common.credits_per_message,
        webhook_networks: common.webhook_networks,
        inbound: InboundConfig {
            verify_token: config::optional("WHATSAPP_VERIFY_TOKEN"),
            app_secret: config::optional("WHATSAPP_APP_SECRET"),
        },
        rate_limit: RateLimit::per_minute(rate_limit),
    };
    let listener = TcpListener::bind(bind.clone());
    tracing::info!("listening on http://{bind} (Swagger UI at /docs)");
    poem::Server::new(listener)
        .run_with_graceful_shutdown(
            build_app(state),
            async {
                shutdown_signal().await;
                tracing::info!("shutting down");
            },
            Some(std::time::Duration::from_secs(10)),
        )
        .await
        .map_err(|e| ConfigError::new("API_BIND", format!("cannot serve on {bind}: {e}")))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
