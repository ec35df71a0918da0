//! `X-Request-ID`: echoed when the caller sent a UUID, generated otherwise, and
//! visible to everything that runs for the request (error bodies, logs).

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

pub const HEADER: &str = "x-request-id";

/// The caller's id if it is a UUID, else a fresh one.
pub fn choose(incoming: Option<&str>) -> String {
    incoming
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(uuid::Uuid::new_v4)
        .hyphenated()
        .to_string()
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The current request id, or a fresh one outside a request.
pub fn current() -> String {
    REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn echoes_uuids_and_replaces_anything_else() {
        let id = "0b0e5a8c-8f2e-4d5e-9c3b-1f2a3b4c5d6e";
        assert_eq!(choose(Some(id)), id);
        assert_ne!(choose(Some("not-a-uuid")), "not-a-uuid");
        assert_eq!(choose(None).len(), 36);
    }
}
