//! The Waplify Send HTTP API: campaigns in, dispatch jobs out.
//!
//! - `campaigns/`, `webhooks/`, `whatsapp/`: one folder per feature, each with its
//!   routes, views, use cases and (for campaigns and webhooks) its error type.
//! - `http/`: what the features share: the app and its middleware, the spec, errors,
//!   authentication, the rate limit, request ids, metrics, health.
//! - `config`, `state`, `startup`: settings, what handlers reach, and the one entry
//!   point, [`Application::build`].

pub mod campaigns;
pub mod config;
pub mod http;
pub mod startup;
pub mod state;
pub mod webhooks;
pub mod whatsapp;

pub use config::{ApiConfig, InboundConfig};
pub use startup::Application;
pub use state::AppState;
