//! Customer webhooks: where they may be sent (`target`) and the outbox rows that
//! announce a transition (`outbox`). The events themselves are in `crate::events`,
//! a delivery's state in `crate::status`.

pub mod campaign_events;
pub mod outbox;
pub mod target;

pub use crate::events::{EventFilter, EventKind};
pub use crate::status::DeliveryState;

/// The `User-Agent` of every webhook request.
pub const USER_AGENT: &str = "Waplify-Webhook/1.0";
