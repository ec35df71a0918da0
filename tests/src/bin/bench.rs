//! `bench`: sends a campaign through the real processes (release builds) against the
//! fake Cloud API and prints throughput and the worker's peak memory. Run it through
//! `scripts/bench`, which builds everything and finds PostgreSQL and Redis.
//!
//! Each run gets its own PostgreSQL schema and Redis prefix, dropped afterwards.

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::Value;
use waplify_tests::bench_create::{Created, create};
use waplify_tests::bench_stack::{Env, common_env, start_api, start_fake};
use waplify_tests::client::{Client, wait_http};
use waplify_tests::procs::{Proc, bin, vm_hwm_kib};
use waplify_tests::{TestDb, seed};

#[derive(Parser)]
#[command(about = "Waplify Send throughput benchmark")]
struct Args {
    /// Recipients per campaign.
    #[arg(long, default_value_t = 20_000)]
    recipients: usize,
    /// Provider latencies to run, in milliseconds (one campaign each).
    #[arg(long, value_delimiter = ',', default_value = "0,100")]
    latency_ms: Vec<u64>,
    /// Worker processes.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Extra environment for the worker, KEY=VALUE.
    #[arg(long = "worker-env")]
    worker_env: Vec<String>,
    /// Kill the (first) worker with SIGKILL once this many messages were accepted, then
    /// start a new one: measures the duplicate window.
    #[arg(long)]
    kill_at: Option<u64>,
    /// Instead: schedule this many campaigns and report how late they fired.
    #[arg(long)]
    schedule: Option<usize>,
    /// Instead: walk and export (CSV) the recipient list of a campaign this large.
    #[arg(long)]
    list: Option<usize>,
    /// With --list: rows per page of the walk.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Instead: retry a settled campaign of this many failed recipients.
    #[arg(long)]
    retry: Option<usize>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if !waplify_tests::TestDb::is_postgres() {
        eprintln!("note: TEST_DATABASE=sqlite, measuring the embedded database");
    }
    match (args.schedule, args.list, args.retry) {
        (_, _, Some(n)) => waplify_tests::retry_bench::run(n).await,
        (_, Some(n), _) => waplify_tests::list_bench::run(n, args.limit).await,
        (Some(n), _, _) => waplify_tests::schedule_bench::run(n, args.workers).await,
        _ => {
            for &latency in &args.latency_ms {
                run(&args, latency).await;
            }
        }
    }
}

async fn run(args: &Args, latency_ms: u64) {
    let tdb = TestDb::new().await;
    let s = seed(&tdb.db, 10 * args.recipients as i64, 10_000).await;

    let (_fake, fake_bind) = start_fake(latency_ms);
    let env = common_env(&tdb);
    let (_api, client) = start_api(&env).await;
    let fake = Client::new(&format!("http://{fake_bind}"));
    wait_http(&fake, "/_fake/counters").await;

    let created = create(&client, &s.api_key, args.recipients).await;
    let worker_env = worker_env(&env, &fake_bind, &args.worker_env);
    let mut run = Run {
        args,
        tdb: &tdb,
        client: &client,
        fake: &fake,
        api_key: &s.api_key,
        campaign: &created.campaign,
        workers: Vec::new(),
        worker_env,
        kill_report: None,
        stats_times: Vec::new(),
        peak_rss: 0,
    };
    run.workers = (0..args.workers)
        .map(|i| run.spawn_worker(format!("bench-{i}")))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (stats, total) = run.send_and_wait().await;
    run.report(latency_ms, &created, &stats, total).await;
    drop(run.workers);
}

/// The worker's environment: the common one, the fake's address and `--worker-env`.
fn worker_env(env: &Env, fake_bind: &str, extra: &[String]) -> Env {
    let mut worker_env = env.clone();
    worker_env.push(("WHATSAPP_API_BASE_URL", format!("http://{fake_bind}")));
    for kv in extra {
        if let Some((k, v)) = kv.split_once('=') {
            worker_env.push((Box::leak(k.to_owned().into_boxed_str()), v.to_owned()));
        }
    }
    worker_env
}

/// One campaign being sent: the workers, and what is measured while it runs.
struct Run<'a> {
    args: &'a Args,
    tdb: &'a TestDb,
    client: &'a Client,
    fake: &'a Client,
    api_key: &'a str,
    campaign: &'a str,
    workers: Vec<Proc>,
    worker_env: Env,
    kill_report: Option<(u64, i64)>,
    stats_times: Vec<Duration>,
    peak_rss: u64,
}

impl Run<'_> {
    fn spawn_worker(&self, name: String) -> Proc {
        let mut e = self.worker_env.clone();
        e.push(("WORKER_NAME", name));
        Proc::spawn(&bin("waplify-worker"), &[], &e)
    }

    /// Sends the campaign and polls its stats until it finished, killing a worker on
    /// the way when asked; returns the final stats and the time from send to finish.
    async fn send_and_wait(&mut self) -> (Value, Duration) {
        let campaign = self.campaign;
        let sent_at = Instant::now();
        let (status, body) = self
            .client
            .post(
                &format!("/api/v1/campaigns/{campaign}/send"),
                Some(self.api_key),
                None,
            )
            .await;
        assert_eq!(status.as_u16(), 202, "{body}");
        let mut progress = waplify_tests::bench_progress::Progress::default();
        let stats = loop {
            self.kill_when_due().await;
            self.measure_rss();
            let asked = Instant::now();
            let (_, st) = self
                .client
                .get(
                    &format!("/api/v1/campaigns/{campaign}/stats"),
                    Some(self.api_key),
                )
                .await;
            self.stats_times.push(asked.elapsed());
            progress.show(&st);
            if st["campaign_status"] == "completed" || st["campaign_status"] == "failed" {
                progress.finish();
                break st;
            }
            if sent_at.elapsed() > Duration::from_secs(3600) {
                panic!("campaign did not finish: {st}");
            }
            tokio::time::sleep(Duration::from_millis(if self.args.kill_at.is_some() {
                10
            } else {
                100
            }))
            .await;
        };
        let total = sent_at.elapsed();
        self.measure_rss();
        (stats, total)
    }

    /// With `--kill-at`, once that many messages were accepted: SIGKILL the first
    /// worker, count what it left in flight, and start a rescuer.
    async fn kill_when_due(&mut self) {
        if let Some(at) = self.args.kill_at.filter(|_| self.kill_report.is_none()) {
            let (_, c) = self.fake.get("/_fake/counters", None).await;
            if c["accepted"].as_u64().unwrap_or(0) >= at {
                self.workers[0].kill9();
                let in_flight = self
                    .tdb
                    .scalar::<i64>("SELECT COUNT(*) FROM messages WHERE status = 'sending'")
                    .await;
                let rescuer = self.spawn_worker("bench-rescuer".into());
                self.workers.push(rescuer);
                self.kill_report = Some((c["accepted"].as_u64().unwrap_or(0), in_flight));
            }
        }
    }

    fn measure_rss(&mut self) {
        for w in &self.workers {
            self.peak_rss = self.peak_rss.max(vm_hwm_kib(w.pid()));
        }
    }

    async fn report(&mut self, latency_ms: u64, created: &Created, stats: &Value, total: Duration) {
        let args = self.args;
        let (_, counters) = self.fake.get("/_fake/counters", None).await;
        let accepted = counters["accepted"].as_u64().unwrap_or(0);
        let span_ms = counters["last_accepted_ms"].as_u64().unwrap_or(0)
            - counters["first_accepted_ms"].as_u64().unwrap_or(0);
        let rate = accepted as f64 / (span_ms.max(1) as f64 / 1000.0);
        let per_request = &created.per_request;
        let slowest_create = per_request.iter().max().copied().unwrap_or_default();
        let stats_times = &mut self.stats_times;
        println!(
            "recipients={} provider_latency_ms={latency_ms} workers={} status={} sent={} failed={} \
             accepted={accepted} duplicates={} | throughput={rate:.0} msg/s (first to last acceptance, {:.2} s) \
             | send-to-completed={:.2} s | worker peak RSS={:.1} MiB | creation={:.2} s ({} requests, slowest {:.0} ms) \
             | stats while running: {} calls, median {:.0} ms, max {:.0} ms",
            args.recipients,
            args.workers,
            stats["campaign_status"],
            stats["sent_count"],
            stats["failed_count"],
            counters["duplicates"],
            span_ms as f64 / 1000.0,
            total.as_secs_f64(),
            self.peak_rss as f64 / 1024.0,
            created.creation.as_secs_f64(),
            per_request.len(),
            slowest_create.as_secs_f64() * 1000.0,
            stats_times.len(),
            percentile(stats_times, 50).as_secs_f64() * 1000.0,
            percentile(stats_times, 100).as_secs_f64() * 1000.0,
        );
        if let Some((at, in_flight)) = self.kill_report {
            println!(
                "killed a worker at {at} accepted: {in_flight} messages were in flight (sending); duplicates after recovery: {}",
                counters["duplicates"]
            );
        }
    }
}

fn percentile(times: &mut [Duration], p: usize) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    times.sort();
    times[((times.len() - 1) * p / 100).min(times.len() - 1)]
}
