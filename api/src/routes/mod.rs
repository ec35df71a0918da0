//! HTTP operations. Handlers are thin: parse at the edge, call the module that does
//! the work, wrap the answer.

pub mod campaigns;
pub mod health;
pub mod webhooks;
pub mod whatsapp;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum Tag {
    /// Create, inspect and send WhatsApp template campaigns.
    Campaigns,
    /// Endpoints that receive signed message events.
    Webhooks,
    /// The callback URL WhatsApp sends statuses and replies to.
    #[oai(rename = "WhatsApp")]
    WhatsApp,
    /// Liveness and readiness probes.
    Health,
}

/// `?page=` when absent.
fn default_page() -> u64 {
    1
}

/// `?limit=` when absent.
fn default_limit() -> u64 {
    20
}
