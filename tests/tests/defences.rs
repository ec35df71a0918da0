//! Defences that only show under rare timing, each provoked on purpose: two worker
//! processes on one campaign at once, a record transaction that fails, a lease that
//! runs out while its call is still out, the worker's own trimming of finished jobs,
//! and a worker leaving the registry when it shuts down.

use std::time::Duration;

use redis::AsyncCommands;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use waplify_shared::db::entities::message_event;
use waplify_shared::jobs::QueueKind;
use waplify_shared::queue::Liveness;
use waplify_tests::stack::Stack;
use waplify_tests::{Fake, FakeConfig, TestApp, TestDb, eventually, seed, spawn_app};

#[tokio::test]
async fn two_worker_processes_send_one_campaign_together_and_nobody_twice() {
    let stack = Stack::start(FakeConfig {
        latency_ms: 30,
        ..Default::default()
    })
    .await;
    // Each process runs at most two send jobs at once and a campaign has eight lanes:
    // neither can take every lane, so both send it at the same time.
    let s = seed(&stack.tdb.db, 10_000, 300).await;
    let narrow = [("WORKER_CONCURRENCY", "2")];
    let _one = stack.spawn_worker_with("one", &narrow);
    let _two = stack.spawn_worker_with("two", &narrow);
    let set = format!("{}:send:workers", stack.prefix);
    let conn = redis::Client::open(stack.redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "both processes registered", || {
        let (mut conn, set) = (conn.clone(), set.clone());
        async move {
            let names: Vec<String> = conn.zrange(&set, 0, -1).await.unwrap();
            let both = ["one-", "two-"]
                .iter()
                .all(|p| names.iter().any(|n| n.starts_with(p)));
            both.then_some(())
        }
    })
    .await;
    let n = 2000;
    let id = stack.create_campaign(&s.api_key, n).await;
    assert_eq!(stack.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    let stats = stack
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(120))
        .await;
    assert_eq!(stats["sent_count"], n as i64, "{stats}");
    let c = stack.fake.counters();
    assert_eq!((c.unique_recipients, c.duplicates), (n as u64, 0), "{c:?}");
    // Both processes claimed messages of it.
    for who in ["one", "two"] {
        let claims = stack
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM message_events WHERE detail LIKE 'claimed by {who}-%'"
            ))
            .await;
        if claims == 0 {
            let claimers: Vec<String> = message_event::Entity::find()
                .select_only()
                .column(message_event::Column::Detail)
                .distinct()
                .filter(message_event::Column::Detail.like("claimed by %"))
                .into_tuple()
                .all(&stack.tdb.db)
                .await
                .unwrap();
            panic!("worker {who} claimed nothing: {claimers:?}");
        }
    }
}

/// Makes every insert into `provider_calls` (part of every record transaction) fail
/// while `record_blocker` has a row.
async fn block_records(app: &TestApp) {
    app.execute("CREATE TABLE record_blocker (x INTEGER)").await;
    if TestDb::is_postgres() {
        app.execute(
            "CREATE FUNCTION refuse_record() RETURNS trigger AS $$ BEGIN \
             IF EXISTS (SELECT 1 FROM record_blocker) THEN RAISE EXCEPTION 'record refused'; \
             END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        )
        .await;
        app.execute(
            "CREATE TRIGGER refuse_record BEFORE INSERT ON provider_calls \
             FOR EACH ROW EXECUTE FUNCTION refuse_record()",
        )
        .await;
    } else {
        app.execute(
            "CREATE TRIGGER refuse_record BEFORE INSERT ON provider_calls \
             WHEN EXISTS (SELECT 1 FROM record_blocker) \
             BEGIN SELECT RAISE(ABORT, 'record refused'); END",
        )
        .await;
    }
}

#[tokio::test]
async fn results_whose_record_fails_are_kept_and_written_once_it_works() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let worker = app.start_worker(app.worker_config(&url)).await;
    let n = 200;
    let id = app.create_campaign(&s.api_key, n).await;
    let recorded =
        format!("SELECT COUNT(*) FROM messages WHERE campaign_id = '{id}' AND status = 'sent'");
    // The lanes open once the probe's one message is on record; records fail from then.
    block_records(&app).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    eventually(Duration::from_secs(30), "the probe on record", || async {
        (app.scalar_i64(&recorded).await >= 1).then_some(())
    })
    .await;
    app.execute("INSERT INTO record_blocker VALUES (1)").await;
    let before = app.scalar_i64(&recorded).await;
    eventually(Duration::from_secs(30), "more calls accepted", || async {
        (fake.counters().accepted >= before as u64 + 50).then_some(())
    })
    .await;
    // Accepted by the provider, refused by the database: not on record yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = app.scalar_i64(&recorded).await;
    assert!(
        (during as u64) < fake.counters().accepted,
        "{during} recorded of {} accepted",
        fake.counters().accepted
    );
    app.execute("DELETE FROM record_blocker").await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], n as i64, "{stats}");
    let c = fake.counters();
    assert_eq!((c.accepted, c.duplicates), (n as u64, 0), "{c:?}");
    worker.shutdown().await;
}

/// Starts `n` recipients' calls (each answered after `latency_ms`), then ends their
/// claims' leases in SQL while the calls are still out, as if the worker had stalled
/// past its lease (or its database had been away that long).
async fn leases_run_out_mid_call(
    app: &TestApp,
    hold: Duration,
    n: usize,
) -> (String, String, Fake, waplify_worker::Worker) {
    let s = seed(&app.tdb.db, 1000, 1000).await;
    // Calls take 8 s: room for the test's expiry and a reconcile pass on a loaded machine.
    let fake = Fake::new(FakeConfig {
        latency_ms: 8000,
        ..Default::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut cfg = app.worker_config(&url);
    cfg.provider_timeout = Duration::from_secs(20);
    cfg.lease = Duration::from_secs(45);
    cfg.unknown_hold = hold;
    let worker = app.start_worker(cfg).await;
    let id = app.create_campaign(&s.api_key, n).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    eventually(Duration::from_secs(60), "every call out", || async {
        (fake.counters().requests >= n as u64).then_some(())
    })
    .await;
    app.execute(&format!(
        "UPDATE messages SET lease_until = '2000-01-01 00:00:00+00:00' \
         WHERE campaign_id = '{id}' AND status = 'sending'"
    ))
    .await;
    (s.api_key, id, fake, worker)
}

async fn moves(app: &TestApp, id: &str, from: &str, to: &str) -> i64 {
    let from = match from {
        "" => String::new(),
        f => format!("AND e.from_status = '{f}'"),
    };
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM message_events e JOIN messages m ON m.id = e.message_id \
         WHERE m.campaign_id = '{id}' {from} AND e.to_status = '{to}'"
    ))
    .await
}

#[tokio::test]
async fn a_result_that_arrives_after_its_lease_lands_and_nobody_is_sent_twice() {
    let app = spawn_app().await;
    let n = 3;
    let (key, id, fake, worker) = leases_run_out_mid_call(&app, Duration::from_secs(60), n).await;
    // The reconciler holds the expired messages under the same claim token; the
    // results, a few seconds late, land from there.
    let stats = app
        .wait_for_status(&key, &id, "completed", Duration::from_secs(90))
        .await;
    assert_eq!(stats["sent_count"], n as i64, "{stats}");
    let expired = moves(&app, &id, "sending", "pending").await;
    assert!(expired >= 1, "a lease expired mid-call");
    let late = moves(&app, &id, "pending", "sent").await;
    assert_eq!(late, expired, "every expired message's result landed late");
    let c = fake.counters();
    assert_eq!((c.requests, c.duplicates), (n as u64, 0), "{c:?}");
    worker.shutdown().await;
}

#[tokio::test]
async fn a_late_result_after_another_claim_changes_nothing() {
    let app = spawn_app().await;
    let n = 3;
    // No hold: the expired messages can be claimed again at once, so the first
    // results may come after the new claims: fenced out, counted nowhere.
    let (key, id, _fake, worker) = leases_run_out_mid_call(&app, Duration::ZERO, n).await;
    let stats = app
        .wait_for_status(&key, &id, "completed", Duration::from_secs(120))
        .await;
    assert_eq!(stats["sent_count"], n as i64, "{stats}");
    assert_eq!(
        moves(&app, &id, "", "sent").await,
        n as i64,
        "one move to sent each"
    );
    assert!(
        moves(&app, &id, "sending", "pending").await >= 1,
        "the expired leases were handed back"
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn a_starting_worker_trims_finished_jobs_past_their_retention() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let first = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 5).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    app.wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(30))
        .await;
    first.shutdown().await;
    let done = || async {
        let report = app.queues.stats().await.unwrap();
        report.queues.iter().map(|q| q.done + q.dead).sum::<u64>()
    };
    assert!(done().await > 0, "finished jobs are kept for the retention");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut cfg = app.worker_config(&url);
    cfg.retention = Duration::from_secs(1);
    let second = app.start_worker(cfg).await;
    eventually(Duration::from_secs(20), "finished jobs trimmed", || async {
        (done().await == 0).then_some(())
    })
    .await;
    second.shutdown().await;
}

#[tokio::test]
async fn a_worker_leaves_the_registry_when_it_shuts_down() {
    let app = spawn_app().await;
    let cfg = app.worker_config("http://127.0.0.1:9");
    let name = cfg.name.clone();
    let worker = app.start_worker(cfg).await;
    let registered = || async {
        let mut conn = app.queues.conn();
        let mut names = Vec::new();
        for kind in QueueKind::ALL {
            let set = app
                .queues
                .apalis_config(kind, Liveness::default())
                .workers_set();
            let members: Vec<String> = conn.zrange(set, 0, -1).await.unwrap();
            names.extend(members.into_iter().filter(|m| m.starts_with(&name)));
        }
        names
    };
    eventually(
        Duration::from_secs(15),
        "every queue's worker registered",
        || async { (registered().await.len() == QueueKind::ALL.len()).then_some(()) },
    )
    .await;
    worker.shutdown().await;
    // At once, not after a missed heartbeat (and no other worker runs to notice).
    assert_eq!(registered().await, Vec::<String>::new());
}
