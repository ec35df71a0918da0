//! Customer webhooks going out: the `relay` gives each outbox row a job, `attempt`
//! runs one try (lease, `post`, record), `guarded_dns` keeps requests out of our own
//! network.

pub mod attempt;
pub mod guarded_dns;
pub mod post;
pub mod relay;
