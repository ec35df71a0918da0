//! The faults of a chaos run, drawn from a fixed seed: which, in what order and when.
//! One seed always gives the same plan, so a bad run can be repeated.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` a worker; a new one starts after `down`.
    KillWorker { worker: usize, down: Duration },
    /// SIGTERM a worker, wait for its exit, start a new one.
    RestartWorker { worker: usize },
    /// `kill -9` Redis; it restarts from its append-only file after `down`.
    RestartRedis { down: Duration },
    /// PostgreSQL unreachable for `down`.
    DatabaseOutage { down: Duration },
}

/// A fault and when it starts, from the start of the run.
#[derive(Clone, Copy, Debug)]
pub struct Planned {
    pub at: Duration,
    pub fault: Fault,
}

/// `rounds` of each kind of fault, shuffled, spread evenly over `span` after a quiet
/// `lead` (so sending is under way), with a jitter of a third of the spacing.
pub fn plan(
    seed: u64,
    rounds: usize,
    workers: usize,
    lead: Duration,
    span: Duration,
    outage: Duration,
) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut faults = Vec::new();
    for _ in 0..rounds {
        faults.push(Fault::KillWorker {
            worker: rng.random_range(0..workers),
            down: Duration::from_millis(rng.random_range(500..3000)),
        });
        faults.push(Fault::RestartWorker {
            worker: rng.random_range(0..workers),
        });
        faults.push(Fault::RestartRedis {
            down: Duration::from_millis(rng.random_range(200..2000)),
        });
        faults.push(Fault::DatabaseOutage { down: outage });
    }
    // Fisher-Yates, from the same generator.
    for i in (1..faults.len()).rev() {
        faults.swap(i, rng.random_range(0..=i));
    }
    let step = span / faults.len().max(1) as u32;
    faults
        .into_iter()
        .enumerate()
        .map(|(i, fault)| {
            let jitter = step.as_millis() as u64 / 3;
            let offset = Duration::from_millis(rng.random_range(0..=jitter));
            Planned {
                at: lead + step * i as u32 + offset,
                fault,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_gives_one_plan_with_every_fault_in_order() {
        let p = |seed| {
            plan(
                seed,
                2,
                3,
                Duration::from_secs(10),
                Duration::from_secs(200),
                Duration::from_secs(10),
            )
        };
        let (a, b) = (p(7), p(7));
        assert_eq!(
            a.iter().map(|x| (x.at, x.fault)).collect::<Vec<_>>(),
            b.iter().map(|x| (x.at, x.fault)).collect::<Vec<_>>()
        );
        assert_eq!(a.len(), 8);
        assert!(a.windows(2).all(|w| w[0].at < w[1].at));
        let outages = a
            .iter()
            .filter(|x| matches!(x.fault, Fault::DatabaseOutage { .. }))
            .count();
        assert_eq!(outages, 2);
    }
}
