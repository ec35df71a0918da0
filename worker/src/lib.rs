//! The Waplify Send worker: dispatches campaigns, sends their messages through the
//! WhatsApp Cloud API with per-recipient retries, applies WhatsApp callbacks, delivers
//! customer webhooks, and reconciles SQL with Redis.
//!
//! - `send/`: a campaign from its dispatch job to its last provider call and settlement.
//! - `callbacks/`: WhatsApp statuses and replies onto messages.
//! - `webhooks/`: the outbox relay and each signed delivery attempt.
//! - `runtime/`: settings, the shared context, supervised apalis workers, the
//!   reconciler, housekeeping and metrics.

pub mod backoff;
pub mod callbacks;
pub mod error;
pub mod runtime;
pub mod send;
pub mod startup;
pub mod webhooks;

pub use runtime::config::WorkerConfig;
pub use runtime::context::Ctx;
pub use startup::Worker;
