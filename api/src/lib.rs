//! The Waplify Send HTTP API: campaigns in, dispatch jobs out.

pub mod admin;
pub mod app;
pub mod append;
pub mod auth;
pub mod create;
pub mod errors;
pub mod inbound;
pub mod listing;
pub mod lookup;
pub mod metrics;
pub mod precheck;
pub mod ratelimit;
pub mod raw_json;
pub mod recipients;
pub mod request_id;
pub mod routes;
pub mod send;
pub mod state;
pub mod stats;
pub mod subscriptions;
pub mod text;
pub mod views;
pub mod webhook_views;

pub use app::{api_service, build_app, spec_json};
pub use state::AppState;
