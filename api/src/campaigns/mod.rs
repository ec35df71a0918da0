//! Campaigns over HTTP, in the order of their life: `create` (with `resolve` and
//! `recipients`), `append` more recipients to a draft, `send` it (prechecks and reservation in
//! `waplify_shared::sending`),
//! read it back (`listing`, `stats`); then its lifecycle: `update` a draft or scheduled
//! one (`schedule` reads times), `control` (cancel, pause, resume), `retry_failed`
//! (a finished campaign's failed recipients sent again), `test_send` (one test message
//! before sending). `routes` and
//! `lifecycle_routes` are the HTTP surface, `views` and `lifecycle_views` its bodies,
//! `messages` its recipients one by one; `error` the one mapping of [`error::CampaignError`] to HTTP answers.

pub mod append;
pub mod control;
pub mod create;
pub mod error;
pub mod lifecycle_routes;
pub mod lifecycle_views;
pub mod listing;
pub mod lookup;
pub mod messages;
pub mod recipients;
pub mod resolve;
pub mod retry_failed;
pub mod routes;
pub mod schedule;
pub mod send;
pub mod stats;
pub mod test_send;
pub mod update;
pub mod views;
