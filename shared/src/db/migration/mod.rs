//! Schema migrations, the same on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_message_counts;
mod m20261126_000003_webhooks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_message_counts::Migration),
            Box::new(m20261126_000003_webhooks::Migration),
        ]
    }
}
