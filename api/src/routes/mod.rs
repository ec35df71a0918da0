//! HTTP operations. Handlers are thin: parse at the edge, call the module that does
//! the work, wrap the answer.

pub mod campaigns;
pub mod health;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum Tag {
    /// Create, inspect and send WhatsApp template campaigns.
    Campaigns,
    /// Liveness and readiness probes.
    Health,
}
