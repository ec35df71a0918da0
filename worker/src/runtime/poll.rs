//! When an idle apalis worker looks for jobs. apalis-redis' interval strategy forgets
//! to re-arm its timer, so idle workers slept until their next heartbeat. This one
//! ticks every `every` and also wakes at once when this process pushes a job.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Instant, Sleep};

/// A handle that wakes one worker's fetch loop.
#[derive(Clone, Default)]
pub struct Wake(Arc<WakeInner>);

#[derive(Default)]
struct WakeInner {
    waker: Mutex<Option<Waker>>,
    pending: AtomicBool,
}

impl Wake {
    pub fn wake(&self) {
        self.0.pending.store(true, Ordering::Release);
        if let Some(w) = self.0.waker.lock().expect("waker").as_ref() {
            w.wake_by_ref();
        }
    }
}

pub struct TickOrWake {
    every: Duration,
    sleep: Pin<Box<Sleep>>,
    wake: Wake,
}

impl TickOrWake {
    pub fn new(every: Duration, wake: Wake) -> TickOrWake {
        TickOrWake {
            every,
            sleep: Box::pin(tokio::time::sleep(every)),
            wake,
        }
    }
}

impl PollStrategy for TickOrWake {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        {
            let mut slot = self.wake.0.waker.lock().expect("waker");
            if slot.as_ref().is_none_or(|w| !w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        let mut fired = self.wake.0.pending.swap(false, Ordering::AcqRel);
        while self.sleep.as_mut().poll(cx).is_ready() {
            fired = true;
            let next = Instant::now() + self.every;
            self.sleep.as_mut().reset(next);
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
