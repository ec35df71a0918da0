//! The tags operations are grouped by in the spec (and in generated SDKs).

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
