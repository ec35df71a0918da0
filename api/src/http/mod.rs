//! Everything HTTP that is not one feature's: the application and its middleware
//! (`app`, with `json_guard`), the spec (`spec`), errors and their mapping (`errors`, `error_map`),
//! authentication and the rate limit (`auth`, `ratelimit`), idempotency keys
//! (`idempotency`), request ids, metrics,
//! shared parameter and body types (`paging`, `text`, `time`, `raw_json`, `optional_json`,
//! `envelope`), and the
//! health probes.

pub mod app;
pub mod auth;
pub mod conn_guard;
pub mod envelope;
pub mod error_map;
pub mod error_sets;
pub mod errors;
pub mod health;
pub mod idempotency;
pub mod json_guard;
pub mod known_routes;
pub mod metrics;
pub mod optional_json;
pub mod paging;
pub mod ratelimit;
pub mod raw_json;
pub mod request_id;
pub mod serve;
pub mod spec;
pub mod spec_extras;
pub mod tags;
pub mod text;
pub mod time;
