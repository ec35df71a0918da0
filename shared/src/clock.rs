//! The clock schedules and sending windows are read against. It is the system clock,
//! optionally shifted, so a test moves a whole process hours ahead (a campaign's
//! time, a window's opening) without waiting; leases and retries keep real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    shift_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The system time plus whatever this clock was advanced by.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.shift_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) `by` ahead.
    pub fn advance(&self, by: Duration) {
        self.shift_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
