//! WhatsApp callbacks, stored by the API and applied here: `parse` reads the body,
//! `apply` moves each status through `transition::reported` and `marks` records the
//! replies and button taps.

pub mod apply;
pub mod marks;
pub mod parse;
