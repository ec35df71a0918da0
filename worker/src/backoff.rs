//! The one back-off rule of the worker: `base × 2^step`, capped at `max`, with an
//! optional ± jitter. Provider retries, webhook retries and worker restarts each pick
//! their own numbers; the rule is the same.

use std::time::Duration;

use rand::RngExt;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// Fraction of the delay added or taken at random (0.2: ±20%), so the retries of
    /// one burst do not all land in the same second.
    pub jitter: f64,
}

impl Backoff {
    /// The delay before retry number `step + 1` (`step` 0 is the first retry),
    /// without jitter.
    pub fn nominal(&self, step: u32) -> Duration {
        self.base
            .saturating_mul(2u32.saturating_pow(step.min(20)))
            .min(self.max)
    }

    /// [`Backoff::nominal`] with the jitter applied.
    pub fn delay(&self, step: u32) -> Duration {
        let plain = self.nominal(step);
        if self.jitter <= 0.0 {
            return plain;
        }
        let factor = rand::rng().random_range((1.0 - self.jitter)..=(1.0 + self.jitter));
        plain.mul_f64(factor)
    }
}

/// Runs `f` up to `tries` times while it fails, for a transaction that rolled back
/// whole (a PostgreSQL deadlock) and can simply run again. Between tries it pauses a
/// short random time that grows with each try (20–100 ms × try), so two transactions
/// that deadlocked do not meet again at once. Returns the last result.
pub async fn retry_rolled_back<T, E, F, Fut>(tries: u32, what: &str, mut f: F) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < tries => {
                tracing::debug!(attempt, "{what} failed, again: {e}");
                let pause = rand::random_range(20..100u64) * u64::from(attempt);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_within_the_jitter() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
            jitter: 0.0,
        };
        let steps: Vec<u64> = (0..8).map(|s| b.nominal(s).as_millis() as u64).collect();
        assert_eq!(steps, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(b.delay(3), Duration::from_millis(800));
        let jittered = Backoff { jitter: 0.2, ..b };
        for _ in 0..100 {
            let d = jittered.delay(2);
            assert!(
                d >= Duration::from_millis(320) && d <= Duration::from_millis(480),
                "{d:?}"
            );
        }
    }
}
