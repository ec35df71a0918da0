//! `waplify-admin`: the operator CLI. Prints JSON on stdout; on error, one line on
//! stderr and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

mod answer;
mod catalog;
mod secrets;

use clap::{Parser, Subcommand};
use serde_json::Value;

use waplify_shared::admin::{self, AdminError};
use waplify_shared::config::CommonConfig;
use waplify_shared::db;
use waplify_shared::secrets::Keyring;

use answer::json;
use catalog::{NumberCmd, TemplateCmd, run_number, run_template};
use secrets::{SecretsCmd, run_secrets};

#[derive(Parser)]
#[command(
    name = "waplify-admin",
    version,
    about = "Waplify Send operator CLI (JSON on stdout)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// WhatsApp numbers.
    #[command(subcommand)]
    Number(NumberCmd),
    /// Message templates.
    #[command(subcommand)]
    Template(TemplateCmd),
    /// Wallet credits.
    #[command(subcommand)]
    Credits(CreditsCmd),
    /// WhatsApp callbacks given up after failing to apply (the dead letter).
    #[command(subcommand)]
    Callbacks(CallbacksCmd),
    /// Stored access tokens and webhook secrets: encryption keys and rotation.
    #[command(subcommand)]
    Secrets(SecretsCmd),
    /// Create (once) the demo account, number and template; print them.
    Demo {
        #[arg(long, default_value = "data/demo.json")]
        state_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Create an account and its first API key (shown only here).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        credits: i64,
    },
    /// Show an account, its balance, keys, numbers and templates.
    Show {
        #[arg(long)]
        account: String,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Create another API key for an account.
    Create {
        #[arg(long)]
        account: String,
        /// Stop working after this long: 90d, 12h, 30m, 2w.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List an account's keys: prefix, state, created, last used, expiry, revoked.
    List {
        #[arg(long)]
        account: String,
    },
    /// Revoke the key with this prefix (`wapl_` + 8 characters).
    Revoke {
        #[arg(long)]
        key_prefix: String,
    },
}

#[derive(Subcommand)]
enum CreditsCmd {
    /// Add credits to an account's wallet.
    Add {
        #[arg(long)]
        account: String,
        #[arg(long, allow_negative_numbers = true)]
        amount: i64,
    },
}

#[derive(Subcommand)]
enum CallbacksCmd {
    /// List the given-up callbacks, newest first, with why they failed.
    Dead {
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Arm a given-up callback again (or all of them) once the cause is fixed.
    Retry {
        /// The callback id; every dead callback with `--all`.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(value) => {
            println!("{value:#}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("waplify-admin: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database of `DATABASE_URL`, migrated (or checked) as the services do, and
/// the secret keys. A command that writes or re-encrypts secrets first checks, as
/// the services do at start, that the keys of the stored ones are configured.
async fn open(command: &Command) -> Result<(db::Db, Keyring), AdminError> {
    let common = CommonConfig::from_env().map_err(|e| AdminError(e.to_string()))?;
    let pool = (common.db_max_connections, common.db_acquire_timeout);
    let db = db::connect_with(&common.database_url, pool.0, pool.1)
        .await
        .map_err(|e| AdminError(e.to_string()))?;
    db::ensure_schema(&db, common.auto_migrate)
        .await
        .map_err(|e| AdminError(e.to_string()))?;
    let touches_secrets = matches!(
        command,
        Command::Number(NumberCmd::Add { .. })
            | Command::Demo { .. }
            | Command::Secrets(SecretsCmd::Rotate)
    );
    if touches_secrets {
        waplify_shared::secrets::check_at_startup(&db, &common.secrets)
            .await
            .map_err(|e| AdminError(e.to_string()))?;
    }
    Ok((db, common.secrets))
}

async fn run(command: Command) -> Result<Value, AdminError> {
    let (db, keys) = open(&command).await?;
    match command {
        Command::Account(AccountCmd::Create { name, credits }) => {
            json(admin::account_create(&db, &name, credits).await)
        }
        Command::Account(AccountCmd::Show { account }) => {
            json(admin::account_show(&db, &account).await)
        }
        Command::Key(KeyCmd::Create {
            account,
            expires_in,
        }) => json(admin::key_create(&db, &account, expires_in.as_deref()).await),
        Command::Key(KeyCmd::List { account }) => json(admin::key_list(&db, &account).await),
        Command::Key(KeyCmd::Revoke { key_prefix }) => {
            json(admin::key_revoke(&db, &key_prefix).await)
        }
        Command::Number(cmd) => run_number(&db, &keys, cmd).await,
        Command::Template(cmd) => run_template(&db, cmd).await,
        Command::Credits(CreditsCmd::Add { account, amount }) => {
            json(admin::credits_add(&db, &account, amount).await)
        }
        Command::Callbacks(CallbacksCmd::Dead { limit }) => {
            json(admin::callbacks_dead(&db, limit).await)
        }
        Command::Callbacks(CallbacksCmd::Retry { id, .. }) => {
            json(admin::callbacks_retry(&db, id.as_deref()).await)
        }
        Command::Secrets(cmd) => run_secrets(&db, &keys, cmd).await,
        Command::Demo { state_file } => json(admin::demo(&db, &keys, &state_file).await),
    }
}
