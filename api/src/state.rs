//! What every request handler can reach.

use waplify_shared::db::Db;
use waplify_shared::queue::Queues;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub queues: Queues,
    /// `CREDITS_PER_MESSAGE`.
    pub credits_per_message: i64,
}
