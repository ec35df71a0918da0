//! Classifying provider answers: sent, retry later, failed for this recipient, or
//! fatal for the whole campaign. The backend's own retry loop (25 attempts, 1 s apart)
//! is never used: every handler succeeds, and a retry is a new delayed job timed here.

use std::time::Duration;

use waplify_shared::sending::codes::{FATAL_CODES, TRANSIENT_CODES, transient_status};
use waplify_shared::status::ProviderOutcome;

use super::provider::Answer;
use crate::backoff::Backoff;

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// What to do with a recipient after one provider call.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Sent {
        wamid: String,
    },
    /// Try again after `delay`.
    Retry {
        delay: Duration,
    },
    /// The outcome is unknown (WhatsApp may have taken it): wait `delay` for a status
    /// callback to settle the message before it is sent again.
    Hold {
        delay: Duration,
    },
    /// The last allowed call's outcome stayed unknown and no callback settled it
    /// within the hold: failed, without another call.
    GaveUp,
    /// This recipient cannot be sent to.
    Failed,
    /// Nobody in this campaign can be sent to: stop it.
    Fatal,
}

impl Verdict {
    /// How the call is recorded in `provider_calls` (`None`: no call was made).
    pub fn outcome(&self) -> Option<ProviderOutcome> {
        Some(match self {
            Verdict::Sent { .. } => ProviderOutcome::Sent,
            Verdict::Retry { .. } => ProviderOutcome::Retry,
            Verdict::Hold { .. } => ProviderOutcome::Unknown,
            Verdict::Failed => ProviderOutcome::Failed,
            Verdict::Fatal => ProviderOutcome::Fatal,
            Verdict::GaveUp => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    /// Delay before the second attempt, doubling per attempt up to its cap, ±20%.
    pub backoff: Backoff,
    /// How long an unknown outcome waits for a status callback before the next call.
    pub hold: Duration,
}

impl RetryPolicy {
    pub fn new(max_attempts: i32, base: Duration, max: Duration, hold: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            backoff: Backoff {
                base,
                max,
                jitter: 0.2,
            },
            hold,
        }
    }

    /// Whether `attempt` is past the allowed calls: only a message whose last allowed
    /// call had no known outcome (a timeout, a worker that died mid-call) gets here.
    pub fn exhausted(&self, attempt: i32) -> bool {
        attempt > self.max_attempts
    }

    /// `attempt` is the number of the call just made (1 for the first).
    pub fn verdict(&self, answer: &Answer, attempt: i32) -> Verdict {
        let (http_status, code, retry_after) = match answer {
            Answer::Accepted { wamid } => {
                return Verdict::Sent {
                    wamid: wamid.clone(),
                };
            }
            // Even on the last attempt: a callback may still settle it, and if none
            // does, the next claim gives up without calling (`exhausted`).
            Answer::Unknown { .. } => return Verdict::Hold { delay: self.hold },
            Answer::Rejected {
                http_status,
                code,
                retry_after,
                ..
            } => (*http_status, *code, *retry_after),
        };
        let transient = match code {
            Some(c) if FATAL_CODES.contains(&c) => return Verdict::Fatal,
            Some(c) if TRANSIENT_CODES.contains(&c) => true,
            Some(_) => http_status.is_some_and(transient_status),
            None => match http_status {
                None => true,
                Some(401) => return Verdict::Fatal,
                Some(s) => transient_status(s) || (200..300).contains(&s),
            },
        };
        if !transient || attempt >= self.max_attempts {
            return Verdict::Failed;
        }
        // A provider's `Retry-After` is honoured up to a bound: a wild value must not
        // park a recipient (and its credit) for days.
        let delay = self
            .backoff
            .delay(attempt.max(1) as u32 - 1)
            .max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
        Verdict::Retry { delay }
    }

    /// The schedule without jitter, for documentation and tests.
    pub fn nominal(&self) -> Vec<Duration> {
        (0..self.max_attempts.max(1) as u32 - 1)
            .map(|step| self.backoff.nominal(step))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(
            4,
            Duration::from_secs(2),
            Duration::from_secs(5),
            Duration::from_secs(60),
        )
    }

    fn rejected(status: Option<u16>, code: Option<i64>) -> Answer {
        Answer::Rejected {
            http_status: status,
            code,
            message: "x".into(),
            retry_after: None,
        }
    }

    #[test]
    fn classifies() {
        let p = policy();
        assert!(matches!(
            p.verdict(&rejected(Some(503), Some(2)), 1),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            p.verdict(&rejected(Some(429), Some(130429)), 1),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            p.verdict(&rejected(None, None), 1),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            p.verdict(&rejected(Some(500), None), 1),
            Verdict::Retry { .. }
        ));
        assert_eq!(
            p.verdict(&rejected(Some(400), Some(131026)), 1),
            Verdict::Failed
        );
        assert_eq!(
            p.verdict(&rejected(Some(400), Some(100)), 1),
            Verdict::Failed
        );
        assert_eq!(
            p.verdict(&rejected(Some(400), Some(132001)), 1),
            Verdict::Fatal
        );
        assert_eq!(
            p.verdict(&rejected(Some(401), Some(190)), 1),
            Verdict::Fatal
        );
        assert_eq!(p.verdict(&rejected(Some(503), Some(2)), 4), Verdict::Failed);
        assert_eq!(
            p.verdict(&Answer::Accepted { wamid: "w".into() }, 1),
            Verdict::Sent { wamid: "w".into() }
        );
    }

    #[test]
    fn an_unknown_outcome_is_held_even_on_the_last_attempt_then_given_up() {
        let p = policy();
        let unknown = Answer::Unknown {
            http_status: None,
            message: "provider timeout".into(),
        };
        for attempt in [1, 4] {
            assert_eq!(
                p.verdict(&unknown, attempt),
                Verdict::Hold {
                    delay: Duration::from_secs(60)
                }
            );
        }
        assert!(!p.exhausted(4));
        assert!(p.exhausted(5));
        assert_eq!(Verdict::GaveUp.outcome(), None);
    }

    #[test]
    fn backs_off_exponentially_with_jitter_and_honours_retry_after() {
        let p = policy();
        assert_eq!(
            p.nominal(),
            vec![
                Duration::from_secs(2),
                Duration::from_secs(4),
                Duration::from_secs(5)
            ]
        );
        for _ in 0..100 {
            let d = p.backoff.delay(1);
            assert!(
                d >= Duration::from_millis(3200) && d <= Duration::from_millis(4800),
                "{d:?}"
            );
        }
        let answer = Answer::Rejected {
            http_status: Some(429),
            code: Some(130429),
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            p.verdict(&answer, 1),
            Verdict::Retry {
                delay: Duration::from_secs(30)
            }
        );
        let wild = Answer::Rejected {
            http_status: Some(429),
            code: Some(130429),
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(86_400)),
        };
        assert_eq!(
            p.verdict(&wild, 1),
            Verdict::Retry {
                delay: MAX_RETRY_AFTER
            }
        );
    }
}
