//! Webhook endpoints over HTTP: `endpoints` (register with the `target` check, read,
//! delete, test) and their `deliveries`. `routes` is the HTTP surface, `views` its
//! bodies, `error` the one mapping of [`error::WebhookError`] to HTTP answers.

pub mod deliveries;
pub mod endpoints;
pub mod error;
pub mod routes;
pub mod target;
pub mod views;
