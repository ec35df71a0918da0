//! `waplify-admin`: the operator CLI. Prints JSON on stdout; on error, one line on
//! stderr and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use serde_json::Value;

use waplify_shared::admin::{self, AdminError, NewNumber, NewTemplate};
use waplify_shared::config::CommonConfig;
use waplify_shared::db;

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
enum NumberCmd {
    /// Register a WhatsApp Business phone number.
    Add {
        #[arg(long)]
        account: String,
        /// Meta's phone number id (the path segment of the Cloud API).
        #[arg(long)]
        phone_number_id: String,
        #[arg(long)]
        access_token: String,
        #[arg(long)]
        display_phone: Option<String>,
        /// Messages per second this number may send.
        #[arg(long, default_value_t = 80)]
        mps: i32,
        #[arg(long)]
        inactive: bool,
    },
    /// Activate or deactivate a number.
    SetStatus {
        #[arg(long)]
        id: String,
        /// active | inactive
        status: String,
    },
}

#[derive(Subcommand)]
enum TemplateCmd {
    /// Register a template.
    Add {
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "en")]
        language: String,
        #[arg(long, default_value = "APPROVED")]
        status: String,
        #[arg(long, default_value = "MARKETING")]
        category: String,
        /// NONE | TEXT | IMAGE | VIDEO | DOCUMENT
        #[arg(long, default_value = "NONE")]
        header: String,
        #[arg(long, default_value_t = 0)]
        body_vars: i32,
        #[arg(long, default_value_t = 0)]
        header_vars: i32,
        /// The number this template belongs to.
        #[arg(long)]
        number: Option<String>,
    },
    /// Change a template's review status.
    SetStatus {
        #[arg(long)]
        id: String,
        /// APPROVED | PENDING | REJECTED | PAUSED | DISABLED
        status: String,
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

/// The database of `DATABASE_URL`, migrated (or checked) as the services do.
async fn open() -> Result<db::Db, AdminError> {
    let common = CommonConfig::from_env().map_err(|e| AdminError(e.to_string()))?;
    let pool = (common.db_max_connections, common.db_acquire_timeout);
    let db = db::connect_with(&common.database_url, pool.0, pool.1)
        .await
        .map_err(|e| AdminError(e.to_string()))?;
    db::ensure_schema(&db, common.auto_migrate)
        .await
        .map_err(|e| AdminError(e.to_string()))?;
    Ok(db)
}

async fn run(command: Command) -> Result<Value, AdminError> {
    let db = open().await?;
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
        Command::Number(cmd) => run_number(&db, cmd).await,
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
        Command::Demo { state_file } => json(admin::demo(&db, &state_file).await),
    }
}

async fn run_number(db: &db::Db, cmd: NumberCmd) -> Result<Value, AdminError> {
    match cmd {
        NumberCmd::Add {
            account,
            phone_number_id,
            access_token,
            display_phone,
            mps,
            inactive,
        } => json(
            admin::number_add(
                db,
                NewNumber {
                    account: &account,
                    phone_number_id: &phone_number_id,
                    access_token: &access_token,
                    display_phone: display_phone.as_deref(),
                    mps,
                    active: !inactive,
                },
            )
            .await,
        ),
        NumberCmd::SetStatus { id, status } => {
            json(admin::number_set_status(db, &id, &status).await)
        }
    }
}

async fn run_template(db: &db::Db, cmd: TemplateCmd) -> Result<Value, AdminError> {
    match cmd {
        TemplateCmd::Add {
            account,
            name,
            language,
            status,
            category,
            header,
            body_vars,
            header_vars,
            number,
        } => json(
            admin::template_add(
                db,
                NewTemplate {
                    account: &account,
                    name: &name,
                    language: &language,
                    status: &status,
                    category: &category,
                    header: &header,
                    body_vars,
                    header_vars,
                    number: number.as_deref(),
                },
            )
            .await,
        ),
        TemplateCmd::SetStatus { id, status } => {
            json(admin::template_set_status(db, &id, &status).await)
        }
    }
}

/// A command's answer as the JSON printed on stdout.
fn json<T: Serialize>(result: Result<T, AdminError>) -> Result<Value, AdminError> {
    result.map(|v| serde_json::to_value(v).expect("answers serialise"))
}
