//! What every request handler can reach.

use waplify_shared::clock::Clock;
use waplify_shared::db::Db;
use waplify_shared::queue::Queues;
use waplify_shared::secrets::Keyring;
use waplify_shared::webhooks::target::AllowedNetworks;

use crate::config::InboundConfig;
use crate::http::ratelimit::RateLimit;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub queues: Queues,
    /// `CREDITS_PER_MESSAGE`.
    pub credits_per_message: i64,
    /// `WEBHOOK_ALLOW_NETWORKS`.
    pub webhook_networks: AllowedNetworks,
    pub inbound: InboundConfig,
    pub rate_limit: RateLimit,
    /// What schedules and sending windows are read against.
    pub clock: Clock,
    /// `METRICS_TOKEN`, guarding `/metrics`.
    pub metrics_token: Option<String>,
    /// `API_REQUEST_TIMEOUT_SECS`: no request runs longer, so an idempotency key in
    /// progress for longer was abandoned.
    pub request_timeout: std::time::Duration,
    /// What webhook secrets are encrypted with before they are stored.
    pub secrets: Keyring,
}
