//! Checking a webhook URL at registration. Customers choose it, so without the check
//! a webhook could probe our own network; delivery checks again on every attempt,
//! since DNS answers change.

use std::time::Duration;

use url::Url;

use waplify_shared::webhooks::target::AllowedNetworks;

use super::error::WebhookError;

/// How long registration waits for DNS before leaving the check to delivery time.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// Parses the URL (the spec's pattern admits only URLs that parse) and refuses
/// internal targets: by address when the host is one, and by every address the name
/// resolves to now.
pub async fn target_url(networks: AllowedNetworks, raw: &str) -> Result<Url, WebhookError> {
    let url =
        Url::parse(raw).map_err(|e| WebhookError::Invalid(format!("Invalid webhook url: {e}")))?;
    networks.check_url(&url).map_err(WebhookError::Refused)?;
    if let Some(url::Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let lookup = tokio::net::lookup_host((name.to_owned(), port));
        if let Ok(Ok(addrs)) = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            for addr in addrs {
                networks
                    .check_ip(addr.ip())
                    .map_err(|why| WebhookError::Refused(format!("{name} resolves to {why}")))?;
            }
        }
    }
    Ok(url)
}
