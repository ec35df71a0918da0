//! `waplify-api serve | migrate | openapi`

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use waplify_api::http::spec::spec_json;
use waplify_api::{ApiConfig, Application};
use waplify_shared::config::{CommonConfig, ConfigError};
use waplify_shared::db;

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
    let app = Application::build(ApiConfig::from_env()?).await?;
    let address = app.address();
    tracing::info!("listening on http://{address} (Swagger UI at /docs)");
    app.run_until(async {
        shutdown_signal().await;
        tracing::info!("shutting down");
    })
    .await
    .map_err(|e| ConfigError::new("API_BIND", format!("cannot serve on {address}: {e}")))
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
