//! `waplify-worker`: runs until SIGINT or SIGTERM, then finishes the jobs in hand.

use std::process::ExitCode;

use waplify_worker::{Worker, WorkerConfig};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                "info,sqlx=warn,sea_orm=warn,apalis=warn,apalis_core=warn,apalis_redis=warn".into()
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let worker = match WorkerConfig::from_env() {
        Ok(cfg) => match Worker::build(cfg).await {
            Ok(w) => w,
            Err(e) => return fail(e),
        },
        Err(e) => return fail(e),
    };
    tracing::info!(name = %worker.ctx.cfg.name, "worker started");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing jobs in hand");
    worker.shutdown().await;
    ExitCode::SUCCESS
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("waplify-worker: {e}");
    ExitCode::FAILURE
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
