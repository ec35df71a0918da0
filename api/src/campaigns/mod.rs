//! Campaigns over HTTP, in the order of their life: `create` (with `resolve` and
//! `recipients`), `append` more recipients to a draft, `send` it (prechecks and reservation in
//! `waplify_shared::sending`),
//! read it back (`listing`, `stats`). `routes` is the HTTP surface, `views` its
//! bodies, `error` the one mapping of [`error::CampaignError`] to HTTP answers.

pub mod append;
pub mod create;
pub mod error;
pub mod listing;
pub mod lookup;
pub mod recipients;
pub mod resolve;
pub mod routes;
pub mod send;
pub mod stats;
pub mod views;
