//! Calling the provider for every claimed message at once. Each call runs as its own
//! task and reports as soon as it returns, so its result can be recorded without
//! waiting for the slowest call of the batch.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::claim::Claimed;
use super::provider::Call;
use super::spec::Spec;
use crate::runtime::context::Ctx;

/// Starts one provider call per message; results arrive in completion order and the
/// channel closes after the last.
pub fn start(
    ctx: &Ctx,
    spec: &Arc<Spec>,
    messages: Vec<Claimed>,
) -> mpsc::UnboundedReceiver<(Claimed, Call)> {
    let (tx, rx) = mpsc::unbounded_channel();
    for m in messages {
        let tx = tx.clone();
        let provider = ctx.provider.clone();
        let spec = spec.clone();
        tokio::spawn(async move {
            let body = spec.template.body(&m.phone, &m.send);
            let call = provider.send(&spec.sender, body).await;
            let _ = tx.send((m, call));
        });
    }
    rx
}
