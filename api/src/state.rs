//! What every request handler can reach.

use waplify_shared::db::Db;
use waplify_shared::queue::Queues;
use waplify_shared::webhooks::target::AllowedNetworks;

use crate::inbound::InboundConfig;

use crate::ratelimit::RateLimit;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub queues: Queues,
    /// `CREDITS_PER_MESSAGE`.
    pub credits_per_message: i64,
    /// `WEBHOOK_ALLOW_NETWORKS`.
    pub webhook_networks: AllowedNetworks,
    /// `WHATSAPP_VERIFY_TOKEN` and `WHATSAPP_APP_SECRET`.
    pub inbound: InboundConfig,
    /// `API_RATE_LIMIT_PER_MINUTE`, per API key.
    pub rate_limit: RateLimit,
}
