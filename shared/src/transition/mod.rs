//! The one place that changes a campaign's or a message's status.
//!
//! Every change is a guarded `UPDATE … WHERE status IN (allowed predecessors)` (the
//! tables in [`crate::status`]); only rows the update actually changed count. For each
//! of them, in the caller's transaction, this module writes the `message_events`
//! history row, moves the campaign's `message_counts` and writes the webhook outbox
//! rows the change announces. That is what makes retried jobs, duplicate deliveries
//! and late callbacks harmless: a loser changes nothing and announces nothing.
//!
//! - [`campaign()`]: a campaign's status, with its `campaign_events` row and its
//!   `campaign.*` event; cancelling one also cancels its unsent messages.
//! - [`messages()`]: many messages of one campaign from one status to another (claims,
//!   provider results, expired leases, a stopped campaign's leftovers).
//! - [`reported()`]: messages moved forward by the statuses of a WhatsApp callback, filling
//!   the gap (`sent` to `read` also announces `delivered`), if the callback came for
//!   that message's number (`bound`).
//! - Test messages (`messages.test`) move like any other, with their history rows, but
//!   are no recipients: their moves change no counts and announce no `message.*`
//!   events, campaign-wide sweeps leave them alone, and one that fails gets its own
//!   charge back in the same transaction (`test_messages`).
//! - [`locks`]: the order in which a transaction moving several messages takes its
//!   locks, so records and callbacks do not deadlock.
//!
//! It sits above `db` (tables, counts) and `webhooks` (the outbox); neither imports it.

mod bound;
mod campaign;
mod history;
pub mod locks;
mod messages;
mod report;
mod reported;
mod reported_walk;
mod test_messages;

pub use bound::{Senders, same_recipient};
pub use campaign::{CANCEL_AT_ONCE, CANCEL_CHUNK, CampaignMove, campaign, cancel_unsent};
pub use history::Detail;
pub use messages::{MessageMove, Moved, Target, messages};
pub use report::{Report, Settled, steps};
pub use reported::{Reported, refund_failed_tests, reported};
