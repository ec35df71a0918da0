//! Schema migrations, the same on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

// A migration reads best as one list of the tables it creates, and stays as it ran.
#[allow(clippy::too_many_lines)]
mod m20261126_000001_initial;
mod m20261126_000002_message_counts;
#[allow(clippy::too_many_lines)]
mod m20261126_000003_webhooks;
mod m20261201_000004_lifecycle;
mod m20261202_000005_callback_dead_letter;
mod m20261202_000006_key_expiry;
mod m20261205_000007_secret_encryption;
mod m20261205_000008_idempotency_keys;
mod m20261205_000009_message_listing;
mod m20261205_000010_test_messages;
mod m20261205_000011_retry_rounds;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_message_counts::Migration),
            Box::new(m20261126_000003_webhooks::Migration),
            Box::new(m20261201_000004_lifecycle::Migration),
            Box::new(m20261202_000005_callback_dead_letter::Migration),
            Box::new(m20261202_000006_key_expiry::Migration),
            Box::new(m20261205_000007_secret_encryption::Migration),
            Box::new(m20261205_000008_idempotency_keys::Migration),
            Box::new(m20261205_000009_message_listing::Migration),
            Box::new(m20261205_000010_test_messages::Migration),
            Box::new(m20261205_000011_retry_rounds::Migration),
        ]
    }
}

/// A cascading foreign key named `fk_{table}_{column}`.
fn foreign(
    from_table: &'static str,
    from_col: &'static str,
    to_table: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A plain index over `cols`.
fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    index.to_owned()
}
