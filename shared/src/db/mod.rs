//! Database access: connecting, migrating, the write-transaction helper, the tables
//! (entities) and the per-campaign counts. Status changes are `transition`'s, above it.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::config::{ConfigError, DEFAULT_ACQUIRE_TIMEOUT, redact_url};

pub mod counts;
pub mod entities;
pub mod migration;
pub mod sql;
mod transient;

pub use transient::is_transient;

pub use migration::Migrator;

pub type Db = DatabaseConnection;

/// Every table of the schema, parents before children.
pub const TABLES: [&str; 17] = [
    "accounts",
    "api_keys",
    "whatsapp_numbers",
    "templates",
    "contacts",
    "campaigns",
    "campaign_events",
    "messages",
    "message_counts",
    "message_events",
    "provider_calls",
    "wallet_ledger",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    "whatsapp_callbacks",
    "idempotency_keys",
];

/// Connects to `DATABASE_URL` with the default pool size.
pub async fn connect(url: &str) -> Result<Db, ConfigError> {
    connect_with(url, None, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// Whether an error says the database could not be reached (no connection within the
/// acquire timeout), as opposed to a query that failed.
pub fn is_unavailable(e: &DbErr) -> bool {
    matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
}

/// Connects to `DATABASE_URL`, creating the directory of a SQLite file if needed, with
/// a pool of `max_connections` (default 20 on PostgreSQL, 8 on SQLite) whose queries
/// wait at most `acquire_timeout` for a connection.
/// Fails with a `ConfigError` naming the variable, never a panic.
pub async fn connect_with(
    url: &str,
    max_connections: Option<u32>,
    acquire_timeout: Duration,
) -> Result<Db, ConfigError> {
    const VAR: &str = "DATABASE_URL";
    let is_sqlite = url.starts_with("sqlite:");
    if !is_sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(ConfigError::new(
            VAR,
            format!(
                "unsupported database URL '{}': use sqlite://… or postgres://…",
                redact_url(url)
            ),
        ));
    }
    let sqlite_dir = sqlite_file(url)
        .and_then(|f| std::path::Path::new(f).parent())
        .filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = sqlite_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            ConfigError::new(
                VAR,
                format!("cannot create directory {}: {e}", dir.display()),
            )
        })?;
    }
    if !is_sqlite {
        // One direct connection first: the pool would only say "timed out", this says why.
        use sea_orm::sqlx::Connection;
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            sea_orm::sqlx::PgConnection::connect(url),
        )
        .await;
        match attempt {
            Err(_) => {
                return Err(ConfigError::new(
                    VAR,
                    format!("cannot connect to {}: timed out after 5s", redact_url(url)),
                ));
            }
            Ok(Err(e)) => {
                return Err(ConfigError::new(
                    VAR,
                    format!(
                        "cannot connect to {}: {}",
                        redact_url(url),
                        strip_line(&e.to_string())
                    ),
                ));
            }
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
        }
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(acquire_timeout)
        .max_connections(max_connections.unwrap_or(if is_sqlite { 8 } else { 20 }))
        .min_connections(1)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    let db = Database::connect(opts).await.map_err(|e| {
        ConfigError::new(
            VAR,
            format!("cannot connect to {}: {}", redact_url(url), brief(&e)),
        )
    })?;
    db.execute_unprepared("SELECT 1").await.map_err(|e| {
        ConfigError::new(
            VAR,
            format!("cannot query {}: {}", redact_url(url), brief(&e)),
        )
    })?;
    Ok(db)
}

/// PostgreSQL errors end with the server's source line (" at line 768"): noise here.
fn strip_line(s: &str) -> &str {
    match s.rsplit_once(" at line ") {
        Some((head, tail)) if tail.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => s,
    }
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The database error without the driver's nested debug noise.
pub fn brief(e: &DbErr) -> String {
    let s = e.to_string();
    s.strip_prefix("Connection Error: ")
        .or_else(|| s.strip_prefix("Execution Error: "))
        .unwrap_or(&s)
        .to_owned()
}

/// Applies every pending migration.
pub async fn migrate(db: &Db) -> Result<usize, DbErr> {
    let pending = Migrator::get_pending_migrations(db).await?.len();
    Migrator::up(db, None).await?;
    Ok(pending)
}

/// Refuses to run on a schema that is behind, unless told to migrate at start.
pub async fn ensure_schema(db: &Db, auto_migrate: bool) -> Result<(), ConfigError> {
    if auto_migrate {
        migrate(db).await.map_err(|e| {
            ConfigError::new("DATABASE_URL", format!("migration failed: {}", brief(&e)))
        })?;
        return Ok(());
    }
    let pending = Migrator::get_pending_migrations(db).await.map_err(|e| {
        ConfigError::new(
            "DATABASE_URL",
            format!("cannot read schema version: {}", brief(&e)),
        )
    })?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::new(
            "DATABASE_URL",
            format!(
                "the database schema is behind ({} pending migration(s)); run `waplify-api migrate` \
                 or start with WAPLIFY_AUTO_MIGRATE=1",
                pending.len()
            ),
        ))
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing
/// when it upgrades a read lock.
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
    } else {
        db.begin().await
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(
            sqlite_file("sqlite://data/w.db?mode=rwc"),
            Some("data/w.db")
        );
        assert_eq!(sqlite_file("sqlite:w.db"), Some("w.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
