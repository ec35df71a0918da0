//! What every answer says besides its payload.

use poem_openapi::Enum;

/// Always `success` on a successful answer.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Success {
    Success,
}

/// Always `accepted`: the work continues in the background.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Accepted {
    Accepted,
}
