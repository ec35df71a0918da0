//! Running the worker: settings (`config`), what handlers share (`context`), apalis
//! workers kept alive (`supervise`, woken by `poll`), queue housekeeping (`maintain`),
//! SQL compared with Redis (`reconcile`, `leases`), and metrics (`metrics`,
//! `queue_metrics`, `queue_gauges`, `metrics_server`).

pub mod config;
pub mod context;
pub mod leases;
pub mod maintain;
pub mod metrics;
pub mod metrics_server;
pub mod poll;
pub mod queue_gauges;
pub mod queue_metrics;
pub mod reconcile;
pub mod supervise;
pub mod test_sends;
