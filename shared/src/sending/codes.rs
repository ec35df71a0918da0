//! Provider error codes, classified once: the worker judges each answer by them
//! (`worker/src/send/verdict.rs`), and `retry_failed_messages` picks by them which
//! failed recipients are worth sending again. Two lists would drift apart.

/// Error codes worth another try: throttling, temporary unavailability.
pub const TRANSIENT_CODES: &[i64] = &[1, 2, 4, 80007, 130429, 131000, 131056, 131057];

/// Error codes that doom every recipient of the campaign (template, token, account).
/// Their cause can be fixed (a template approved again, a new token), so a recipient
/// failed by one is not failed for good.
pub const FATAL_CODES: &[i64] = &[132000, 132001, 132015, 132016, 190, 131048, 368];

/// How the error text of a message whose outcome stayed unknown begins: WhatsApp may
/// have taken it, so it is never sent again on its own.
pub const UNKNOWN_OUTCOME: &str = "outcome unknown";

/// The stored error text of an unknown outcome.
pub fn unknown_outcome(detail: &str) -> String {
    format!("{UNKNOWN_OUTCOME} ({detail})")
}

/// An HTTP status that says "later", whatever the code: throttled or unavailable.
pub fn transient_status(status: u16) -> bool {
    status == 429 || status >= 500
}

/// The codes a failed recipient's last error may have for it to be sent again by
/// default: transient ones it ran out of attempts on, and campaign-fatal ones.
pub fn retried_by_default() -> impl Iterator<Item = i64> {
    TRANSIENT_CODES.iter().chain(FATAL_CODES).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_code_is_both_transient_and_fatal() {
        for c in TRANSIENT_CODES {
            assert!(!FATAL_CODES.contains(c), "{c}");
        }
        assert!(unknown_outcome("timeout").starts_with(UNKNOWN_OUTCOME));
        assert!(transient_status(429) && transient_status(503) && !transient_status(400));
    }
}
