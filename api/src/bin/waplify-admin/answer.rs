//! What a command prints.

use serde::Serialize;
use serde_json::Value;

use waplify_shared::admin::AdminError;

/// A command's answer as the JSON printed on stdout.
pub fn json<T: Serialize>(result: Result<T, AdminError>) -> Result<Value, AdminError> {
    result.map(|v| serde_json::to_value(v).expect("answers serialise"))
}
