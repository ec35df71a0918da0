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
