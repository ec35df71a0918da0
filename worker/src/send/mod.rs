//! Sending a campaign, in the order it happens:
//!
//! 0. `schedule`: a scheduled campaign, due, is queued as `send_campaign` queues a draft.
//! 1. `dispatch`: the job `send_campaign` queued; `queued -> running`, then a probe.
//! 2. `lane`: a send lane's step; it takes the number's budget (`throttle`), claims a
//!    batch (`claim`), and `deliver`s it.
//! 3. `deliver`: provider calls for the claimed messages (`calls`, through the Cloud
//!    API client `provider` with bodies from `template`), each answer judged
//!    (`verdict`), recorded as it returns (`record`, `record_move`, kept through a
//!    database outage by `record_retry`), retries scheduled (`retry_job`).
//! 4. `finalize`: completion, a campaign-fatal stop, and credit settlement.
//!
//! `spec` caches how to send each campaign (template, sender, rate). `test_send` sends
//! a test message (`send_test_message`) outside any lane, one job per attempt.

pub mod calls;
pub mod claim;
pub mod deliver;
pub mod dispatch;
pub mod finalize;
pub mod lane;
pub mod provider;
pub mod record;
mod record_move;
pub mod record_retry;
pub mod retry_job;
pub mod schedule;
pub mod spec;
pub mod template;
pub mod test_send;
pub mod throttle;
pub mod verdict;
