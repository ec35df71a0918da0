//! The documented error answers of the recipient operations.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use crate::http::errors::{ErrorBody, documented_errors};

documented_errors!(
    /// Errors of listing a campaign's recipients.
    MessageListErrors {
        400 BadRequest "Malformed campaign_id, or an invalid `status`, `error_code`, `limit` or `after` (`Invalid after: not a cursor of this list`).",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account: `Campaign not found`.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of reading one recipient's message.
    MessageReadErrors {
        400 BadRequest "Malformed campaign_id or message_id.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account (`Campaign not found`), or no such message in that campaign (`Message not found`).",
        500 Internal "Unexpected server error.",
    }
);
