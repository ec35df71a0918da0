//! What applying one callback did, stored as the row's `summary` and counted in
//! `waplify_callback_statuses_total`.

/// What one callback did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub moved: usize,
    pub unchanged: usize,
    pub unknown: usize,
    /// Statuses and replies naming a message of ours for another number or recipient.
    pub foreign: usize,
    /// Statuses that could not be applied (see `statuses`).
    pub failed: usize,
    pub replies: usize,
    pub clicks: usize,
    pub ignored: usize,
}

impl Applied {
    pub fn add(&mut self, o: &Applied) {
        self.moved += o.moved;
        self.unchanged += o.unchanged;
        self.unknown += o.unknown;
        self.foreign += o.foreign;
        self.failed += o.failed;
        self.replies += o.replies;
        self.clicks += o.clicks;
        self.ignored += o.ignored;
    }
}
