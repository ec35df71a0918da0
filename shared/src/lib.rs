//! Shared by the API and the worker: domain types, configuration, the database
//! schema, the ledger, and the queue layout.

pub mod admin;
pub mod apikey;
pub mod clock;
pub mod config;
pub mod db;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod ledger;
pub mod metrics;
pub mod phone;
pub mod queue;
pub mod secrets;
pub mod sending;
pub mod signing;
pub mod status;
pub mod string_enum;
pub mod transition;
pub mod webhooks;
pub mod window;

pub use sea_orm;
pub use sea_orm_migration;
