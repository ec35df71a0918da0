//! The Waplify Send API client, as progenitor generates it from openapi/openapi.json (see
//! build.rs). Nothing here is written by hand.

include!(concat!(env!("OUT_DIR"), "/client.rs"));
