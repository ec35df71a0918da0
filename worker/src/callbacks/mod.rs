//! WhatsApp callbacks, stored by the API and applied here: `parse` reads the body,
//! `apply` moves each status through `transition::reported` and `marks` records the
//! replies and button taps (`statuses` isolates a status that cannot be applied);
//! `dead_letter` gives up a callback that keeps failing.

pub mod apply;
pub mod dead_letter;
pub mod marks;
pub mod parse;
pub mod statuses;
pub mod summary;
