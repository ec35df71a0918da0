//! A chaos run: several API and worker processes on PostgreSQL send campaigns to the
//! fake provider (latency, transient errors, status callbacks) while a seeded plan
//! kills and restarts workers, restarts Redis and takes PostgreSQL away; then it
//! waits for everything to settle and counts what went wrong (`report`).

pub mod cluster;
pub mod plan;
pub mod report;
mod setup;
pub mod watch;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::app::APP_SECRET;
use crate::fake::{Fake, FakeConfig};
use crate::fake_callbacks::CallbackConfig;
use crate::testdb::TestDb;
use cluster::Cluster;
use plan::{Fault, Planned};
use report::Report;
use setup::{balances, create, tenant};
use watch::{Progress, Webhooks};

/// The shape of a run.
#[derive(Clone, Debug)]
pub struct Options {
    pub recipients: usize,
    pub campaigns: usize,
    pub tenants: usize,
    pub apis: usize,
    pub workers: usize,
    /// How long the faults go on; sending is paced (numbers' rate) to last about as long.
    pub duration: Duration,
    pub seed: u64,
    /// Faults of each kind.
    pub rounds: usize,
    pub outage: Duration,
    pub latency_ms: u64,
    pub transient_rate: f64,
}

/// Runs the whole thing and returns what it found.
pub async fn run(o: &Options) -> Report {
    assert!(TestDb::is_postgres(), "chaos runs on PostgreSQL");
    let tdb = TestDb::new().await;
    let (fake, _fake_task) = start_fake(o).await;
    let mut cluster = Cluster::start(&tdb.url, &fake.1, o.apis, o.workers).await;
    fake.0
        .set_config(fake_config(o, Some(cluster.callback_url())));
    let webhooks = Webhooks::default();
    let hooks_url = webhooks.serve().await;
    // Paced so that sending lasts about as long as the faults.
    let per_second = o.recipients as f64 / (o.duration.as_secs_f64() * 0.8);
    let mps = (per_second / o.tenants as f64).ceil().max(10.0) as i32;
    let mut tenants = Vec::new();
    for t in 0..o.tenants {
        let key = tenant(&tdb, &cluster.clients[0], t, o.recipients, mps, &hooks_url).await;
        tenants.push(key);
    }
    let begun = Instant::now();
    let campaigns = create(&cluster.clients, &tenants, o).await;
    eprintln!("chaos: campaigns created in {:?}", begun.elapsed());
    let balances = balances(&tdb, &tenants).await;
    let totals: HashMap<String, i64> = campaigns.iter().map(|c| (c.0.clone(), c.2)).collect();
    let progress = Progress::default();
    let _sampler = progress.start(tdb.db.clone(), totals);
    for (i, (id, key, _)) in campaigns.iter().enumerate() {
        let client = &cluster.clients[i % cluster.clients.len()];
        let path = format!("/api/v1/campaigns/{id}/send");
        let (status, body) = client.post(&path, Some(key), None).await;
        assert_eq!(status.as_u16(), 202, "send {id}: {body}");
    }
    let started = Instant::now();
    eprintln!(
        "chaos: {} recipients in {} campaigns of {} accounts, {mps} msg/s per number; faults:",
        o.recipients, o.campaigns, o.tenants
    );
    let lead = Duration::from_secs(5).min(o.duration / 10);
    let planned = plan::plan(
        o.seed,
        o.rounds,
        o.workers,
        lead,
        o.duration - lead,
        o.outage,
    );
    for p in &planned {
        inflict(&mut cluster, p, started).await;
    }
    let ids: HashSet<String> = campaigns.iter().map(|c| c.0.clone()).collect();
    settle(&tdb, &ids, o.duration * 2 + Duration::from_secs(300)).await;
    eprintln!(
        "chaos: all campaigns finished after {:?}",
        started.elapsed()
    );
    // Status callbacks still on their way, and the webhooks they announce.
    tokio::time::sleep(Duration::from_secs(8)).await;
    drain_webhooks(&tdb).await;
    eprintln!("chaos: webhooks drained after {:?}", started.elapsed());
    let subscribed: Vec<(String, &[&str])> = (tenants.iter().enumerate())
        .map(|(t, (account, _))| (account.clone(), setup::message_statuses(t)))
        .collect();
    let mut out = measure(&tdb, &fake.0, &webhooks, &balances, &subscribed).await;
    (out.longest_stall, out.longest_stall_campaign, _) = progress.longest();
    cluster.stop();
    out
}

/// The fake provider, with callbacks off until the API that takes them is up.
async fn start_fake(o: &Options) -> ((Fake, String), tokio::task::JoinHandle<()>) {
    let fake = Fake::new(fake_config(o, None));
    let (url, task) = fake.serve("127.0.0.1:0").await.expect("fake server");
    ((fake, url), task)
}

/// Latency, transient errors and, once `callbacks` is known, Meta-like status
/// callbacks: most delivered, many read, a few failed after all, some reordered or
/// repeated.
fn fake_config(o: &Options, callbacks: Option<String>) -> FakeConfig {
    FakeConfig {
        latency_ms: o.latency_ms,
        transient_rate: o.transient_rate,
        callbacks: CallbackConfig {
            url: callbacks,
            app_secret: APP_SECRET.into(),
            delay_ms: 1500,
            delivered_rate: 0.9,
            read_rate: 0.6,
            late_fail_rate: 0.02,
            reorder_rate: 0.1,
            duplicate_rate: 0.1,
        },
        ..FakeConfig::default()
    }
}

async fn measure(
    tdb: &TestDb,
    fake: &Fake,
    webhooks: &Webhooks,
    balances: &[(String, i64)],
    subscribed: &[(String, &[&str])],
) -> Report {
    let mut out = Report::default();
    report::recipients(&tdb.db, fake, &mut out)
        .await
        .expect("recipients");
    report::credits(&tdb.db, balances, &mut out)
        .await
        .expect("credits");
    report::webhooks(&tdb.db, subscribed, webhooks.counts(), &mut out)
        .await
        .expect("webhooks");
    out
}

/// Waits for the planned time of `p`, then inflicts it.
async fn inflict(cluster: &mut Cluster, p: &Planned, started: Instant) {
    if let Some(wait) = p.at.checked_sub(started.elapsed()) {
        tokio::time::sleep(wait).await;
    }
    let at = started.elapsed().as_secs();
    match p.fault {
        Fault::KillWorker { worker, down } => {
            eprintln!("  [{at:>4}s] kill -9 worker {worker}, back after {down:?}");
            cluster.kill_worker(worker, down).await;
        }
        Fault::RestartWorker { worker } => {
            eprintln!("  [{at:>4}s] SIGTERM worker {worker}, then start it again");
            if !cluster.restart_worker(worker).await {
                eprintln!("         worker {worker} did not exit within a minute");
            }
        }
        Fault::RestartRedis { down } => {
            eprintln!("  [{at:>4}s] kill -9 Redis, restart from its AOF after {down:?}");
            cluster.restart_redis(down).await;
        }
        Fault::DatabaseOutage { down } => {
            eprintln!("  [{at:>4}s] PostgreSQL unreachable for {down:?}");
            cluster.database_outage(down).await;
        }
    }
}

/// Waits until every campaign is final (or `limit` passed: the report shows it).
async fn settle(tdb: &TestDb, ids: &HashSet<String>, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if report::unfinished_campaigns(&tdb.db, ids).await == Ok(0) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!("chaos: campaigns still unfinished after {limit:?}");
}

/// Waits (up to ten minutes) for every stored status callback to be applied and every
/// customer webhook delivered.
async fn drain_webhooks(tdb: &TestDb) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(600) {
        let callbacks = report::unapplied_callbacks(&tdb.db).await;
        if callbacks == Ok(0) && report::unfinished_deliveries(&tdb.db).await == Ok(0) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
