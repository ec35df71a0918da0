//! A campaign's recipients, one message each: `list` pages them by a keyset `cursor`
//! (or `csv` streams them all), `detail` shows one with its history and provider calls.
//! `routes` is the HTTP surface, `views` its bodies, `errors` its documented
//! error answers; failures are [`super::error::CampaignError`]s.

pub mod csv;
pub mod cursor;
pub mod detail;
pub mod errors;
pub mod list;
pub mod routes;
pub mod views;
