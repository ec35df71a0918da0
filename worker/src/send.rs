//! Calling the provider for every claimed message at once.

use futures::StreamExt;

use crate::claim::Claimed;
use crate::context::{Ctx, Spec};
use crate::provider::Call;

/// One provider call per message, all in flight together. Results come back in
/// completion order.
pub async fn all(ctx: &Ctx, spec: &Spec, messages: Vec<Claimed>) -> Vec<(Claimed, Call)> {
    let width = messages.len().max(1);
    futures::stream::iter(messages)
        .map(|m| async move {
            let body = spec.template.body(&m.phone, &m.id);
            let call = ctx.provider.send(&spec.sender, body).await;
            (m, call)
        })
        .buffer_unordered(width)
        .collect()
        .await
}
