//! Name resolution for webhook requests that drops refused addresses, so a name that
//! resolved to a public address at registration cannot later lead a request into
//! our network (DNS rebinding). Redirects are off, so no other hop escapes the check.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use waplify_shared::webhooks::target::AllowedNetworks;

/// Why a webhook request was not made: every address of its host is refused.
#[derive(Debug, thiserror::Error)]
#[error("refused target: {0}")]
pub struct RefusedTarget(pub String);

pub struct GuardedResolver(pub AllowedNetworks);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let networks = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match networks.check_ip(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal.get_or_insert(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refusal.unwrap_or_else(|| "no address".into());
                return Err(Box::new(RefusedTarget(format!("{host} resolves to {why}")))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The client every webhook goes out with: guarded resolution, no redirects.
pub fn webhook_client(networks: AllowedNetworks) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver(networks)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(waplify_shared::webhooks::USER_AGENT)
        .pool_max_idle_per_host(16)
        .build()
        .expect("static client settings")
}

/// Whether a request failed because its target was refused (not worth retrying).
pub fn is_refusal(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<RefusedTarget>() {
            return Some(r.0.clone());
        }
        cur = e.source();
    }
    None
}
