//! The documented error answers of each kind of operation, declared with
//! [`documented_errors!`](super::errors::documented_errors): what the spec lists per
//! operation. Re-exported by `errors`.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use super::errors::{ErrorBody, documented_errors};

documented_errors!(
    /// Errors of reading one campaign.
    ReadErrors {
        400 BadRequest "Malformed campaign_id: `Invalid campaign_id`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account: `Campaign not found`.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of listing campaigns.
    ListErrors {
        400 BadRequest "Invalid `page`, `limit` or `status`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of creating a campaign.
    CreateErrors {
        400 BadRequest "Invalid body: field validation, template not approved, missing variables or media, no valid contacts; an invalid `Idempotency-Key`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "Unknown template or WhatsApp number for this account.",
        409 Conflict "`idempotency_key_in_use`: a request with this `Idempotency-Key` is still in progress.",
        413 PayloadTooLarge "Request body over the size limit.",
        422 Unprocessable "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of changing a campaign.
    ChangeErrors {
        400 BadRequest "Malformed campaign_id, invalid body or a failed precheck (`Campaign cannot be sent: …`); an invalid `Idempotency-Key`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account: `Campaign not found`.",
        409 Conflict "The campaign is not a draft (`conflict`), or a request with this `Idempotency-Key` is still in progress (`idempotency_key_in_use`).",
        413 PayloadTooLarge "Request body over the size limit.",
        422 Unprocessable "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of changing a draft or scheduled campaign.
    UpdateErrors {
        400 BadRequest "Malformed campaign_id or invalid body: field validation, `scheduled_at must be in the future`, a local `scheduled_at` the clocks skip, a sending window that never opens.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account: `Campaign not found`.",
        409 Conflict "The campaign is neither a draft nor scheduled.",
        413 PayloadTooLarge "Request body over the size limit.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of cancelling, pausing or resuming a campaign.
    ControlErrors {
        400 BadRequest "Malformed campaign_id (`Invalid campaign_id`) or an invalid `Idempotency-Key`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such campaign in this account: `Campaign not found`.",
        409 Conflict "The campaign's status does not allow it (`conflict`; the message names the status and what does), or a request with this `Idempotency-Key` is still in progress (`idempotency_key_in_use`).",
        422 Unprocessable "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of registering a webhook endpoint.
    WebhookCreateErrors {
        400 BadRequest "Invalid body: field validation, or a URL that is not http(s) with a domain name or IPv4 address; an invalid `Idempotency-Key`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        403 Forbidden "The URL's host is or resolves to a loopback, private, link-local or non-routable address: `Webhook url is refused: …`.",
        409 Conflict "`idempotency_key_in_use`: a request with this `Idempotency-Key` is still in progress.",
        413 PayloadTooLarge "Request body over the size limit.",
        422 Unprocessable "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of one webhook endpoint.
    WebhookErrors {
        400 BadRequest "Malformed webhook_id or query: `Invalid webhook_id`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such endpoint in this account: `Webhook not found`.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of sending a test event to a webhook endpoint.
    WebhookTestErrors {
        400 BadRequest "Malformed webhook_id (`Invalid webhook_id`) or an invalid `Idempotency-Key`.",
        401 Unauthorized "Missing, malformed, unknown or revoked API key.",
        404 NotFound "No such endpoint in this account: `Webhook not found`.",
        409 Conflict "`idempotency_key_in_use`: a request with this `Idempotency-Key` is still in progress.",
        422 Unprocessable "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request.",
        500 Internal "Unexpected server error.",
    }
);

documented_errors!(
    /// Errors of the verification handshake.
    VerifyErrors {
        400 BadRequest "Malformed query.",
        403 Forbidden "Wrong mode or token: `Verification failed`.",
    }
);

documented_errors!(
    /// Errors of a callback POST.
    CallbackErrors {
        400 BadRequest "Not a JSON object, or not `application/json`.",
        401 Unauthorized "Missing or wrong `X-Hub-Signature-256`: `Invalid signature`.",
        413 PayloadTooLarge "Request body over the size limit.",
        500 Internal "Unexpected server error; WhatsApp retries.",
    }
);

documented_errors!(
    /// Errors of `/health` and `/ready`. They read no input, so only the refusals every
    /// request meets before its handler remain.
    ProbeErrors {
        400 BadRequest "A body sent as JSON with a NUL in a string or a key given twice.",
        413 PayloadTooLarge "Request body over the size limit.",
    }
);
