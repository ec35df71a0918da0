//! `scripts/bench --schedule N`: how late scheduled campaigns fire. N one-recipient
//! campaigns are scheduled a few seconds ahead, spread over two seconds, with the API,
//! the fake Cloud API and the workers running as release processes; lateness is
//! `queued_at - scheduled_at` as SQL recorded it.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::EntityTrait;
use serde_json::json;
use waplify_shared::db::entities::campaign;

use crate::bench_stack::{common_env, start_api, start_fake, worker_env};
use crate::client::{Client, phone};
use crate::procs::{Proc, bin};
use crate::{TestDb, seed};

/// Schedules `campaigns` campaigns and prints min / median / max lateness.
pub async fn run(campaigns: usize, workers: usize) {
    let tdb = TestDb::new().await;
    let s = seed(&tdb.db, 10 * campaigns as i64, 10_000).await;
    let env = common_env(&tdb);
    let (_fake, fake_bind) = start_fake(0);
    let (_api, client) = start_api(&env).await;
    let worker_env = worker_env(&env, &fake_bind);
    let _workers: Vec<Proc> = (0..workers)
        .map(|i| {
            let mut e = worker_env.clone();
            e.push(("WORKER_NAME", format!("sched-{i}")));
            Proc::spawn(&bin("waplify-worker"), &[], &e)
        })
        .collect();

    let start = Utc::now() + chrono::Duration::seconds(5);
    for i in 0..campaigns {
        let at = start + chrono::Duration::milliseconds((i % 20) as i64 * 100);
        schedule(&client, &s.api_key, i, at).await;
    }
    let late = lateness(&tdb, campaigns).await;
    let ms: Vec<i64> = late.iter().map(|d| d.as_millis() as i64).collect();
    println!(
        "scheduled={campaigns} workers={workers} | lateness (queued_at - scheduled_at): \
         min={} ms median={} ms max={} ms",
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() - 1]
    );
}

async fn schedule(client: &Client, api_key: &str, i: usize, at: DateTime<Utc>) {
    let (status, body) = client
        .post(
            "/api/v1/campaigns",
            Some(api_key),
            Some(json!({
                "name": format!("scheduled {i}"), "template_name": "welcome",
                "body_data": {"1": "Ada"}, "contacts": [{"phone": phone(i)}],
                "scheduled_at": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            })),
        )
        .await;
    assert!(status.is_success(), "{body}");
}

/// Waits until every campaign was queued; returns their lateness, sorted.
async fn lateness(tdb: &TestDb, campaigns: usize) -> Vec<Duration> {
    let queued = crate::eventually(
        Duration::from_secs(120),
        "every campaign queued",
        || async {
            let n: i64 = tdb
                .scalar("SELECT COUNT(*) FROM campaigns WHERE queued_at IS NOT NULL")
                .await;
            (n as usize == campaigns).then_some(())
        },
    );
    queued.await;
    let rows = campaign::Entity::find()
        .all(&tdb.db)
        .await
        .expect("read campaigns");
    let mut late: Vec<Duration> = rows
        .into_iter()
        .filter_map(|c| {
            Some(
                (c.queued_at? - c.scheduled_at?)
                    .to_std()
                    .unwrap_or_default(),
            )
        })
        .collect();
    late.sort();
    late
}
