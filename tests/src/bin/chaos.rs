//! `chaos`: a soak of the whole system under faults (see `waplify_tests::chaos`). Run it
//! through `scripts/chaos`, which builds everything and finds PostgreSQL and Redis.
//! Exits non-zero when the run misses the bar (`Report::passed`): a recipient lost,
//! unfinished, sent twice or failed by us after the provider accepted it, a campaign
//! unfinished, credits unbalanced, or a webhook missing, doubled or undelivered.

use std::time::Duration;

use clap::Parser;
use waplify_tests::chaos::report::Report;
use waplify_tests::chaos::{Options, run};

#[derive(Parser)]
#[command(about = "Waplify Send chaos soak")]
struct Args {
    #[arg(long, default_value_t = 200_000)]
    recipients: usize,
    #[arg(long, default_value_t = 10)]
    campaigns: usize,
    /// Seconds the faults go on (sending is paced to last about as long).
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// The plan's seed: one seed, one sequence of faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Faults of each kind (worker kill, worker restart, Redis restart, PostgreSQL outage).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds PostgreSQL is unreachable each time.
    #[arg(long, default_value_t = 10)]
    outage: u64,
    #[arg(long, default_value_t = 2)]
    apis: usize,
    #[arg(long, default_value_t = 3)]
    workers: usize,
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    #[arg(long, default_value_t = 0.1)]
    transient_rate: f64,
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    let options = Options {
        recipients: a.recipients,
        campaigns: a.campaigns,
        tenants: 2,
        apis: a.apis,
        workers: a.workers,
        duration: Duration::from_secs(a.duration),
        seed: a.seed,
        rounds: a.rounds,
        outage: Duration::from_secs(a.outage),
        latency_ms: a.latency_ms,
        transient_rate: a.transient_rate,
    };
    let report = run(&options).await;
    print(&report);
    if !report.passed() {
        eprintln!("chaos: FAILED the bar");
        std::process::exit(1);
    }
    eprintln!("chaos: passed");
}

fn print(r: &Report) {
    println!("recipients            {}", r.recipients);
    println!("lost                  {}", r.lost);
    println!("unfinished            {}", r.unfinished);
    println!("duplicates            {}", r.duplicates);
    println!(
        "failed                {} (transient errors exhausted {}, no known outcome {}, failed after sending {}, other {})",
        r.failed_exhausted + r.failed_unknown + r.failed_late + r.failed_other,
        r.failed_exhausted,
        r.failed_unknown,
        r.failed_late,
        r.failed_other
    );
    println!("accepted, on record failed {}", r.accepted_but_failed);
    println!("campaigns completed   {} of {}", r.completed, r.campaigns);
    println!(
        "credits balanced      {}",
        if r.credit_mismatches == 0 {
            "yes".to_owned()
        } else {
            format!("NO ({} mismatches)", r.credit_mismatches)
        }
    );
    println!(
        "webhooks              {} transitions, {} deliveries, {} announced twice, {} undelivered",
        r.transitions, r.deliveries, r.announced_twice, r.deliveries_unfinished
    );
    println!(
        "webhook requests      {} distinct received, {} redelivered (at least once)",
        r.webhooks_received, r.webhooks_redelivered
    );
    println!(
        "longest no progress   {:.1} s (campaign {})",
        r.longest_stall.as_secs_f64(),
        r.longest_stall_campaign
    );
}
