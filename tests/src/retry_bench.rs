//! `scripts/bench --retry N`: `retry_failed_messages` on a settled campaign of N failed
//! recipients, through the release API and worker. The recipients are seeded in SQL
//! (as `--list` does) with a permanent code, and picked by that code, so every one of
//! them goes through the pick's checks. Measured: the request (the count and the
//! charge), then the dispatch job's moves back to `pending` until the campaign is
//! `running` again. The campaign is then cancelled (the request's part timed); sending is
//! measured elsewhere.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::bench_stack::{common_env, start_api, start_fake, worker_env};
use crate::client::Client;
use crate::procs::{Proc, bin};
use crate::{TestDb, seed};

pub async fn run(recipients: usize) {
    let tdb = TestDb::new().await;
    let s = seed(&tdb.db, 2 * recipients as i64 + 10, 10_000).await;
    let (_fake, fake_bind) = start_fake(0);
    let env = common_env(&tdb);
    let (_api, client) = start_api(&env).await;
    let campaign = failed_campaign(&tdb, &client, &s.api_key, recipients).await;
    let _worker = Proc::spawn(&bin("waplify-worker"), &[], &worker_env(&env, &fake_bind));

    let path = format!("/api/v1/campaigns/{campaign}");
    let t = Instant::now();
    let (status, body) = client
        .post(
            &format!("{path}/retry-failed"),
            Some(&s.api_key),
            Some(json!({"error_codes": [131026]})),
        )
        .await;
    let request = t.elapsed();
    assert!(status.is_success(), "{body}");
    assert_eq!(body["count"].as_u64(), Some(recipients as u64), "{body}");
    loop {
        let (_, c) = client.get(&path, Some(&s.api_key)).await;
        if c["campaign_status"] != "queued" {
            assert_eq!(c["campaign_status"], "running", "{c}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "retry of {recipients} failed recipients: request {:.0} ms (count and charge) | \
         all back to pending and the campaign running after {secs:.1} s ({:.0} per second)",
        request.as_secs_f64() * 1000.0,
        recipients as f64 / secs,
    );
    // Timed too: the request cancels up to `CANCEL_AT_ONCE`, the reconciler the rest.
    let t = Instant::now();
    let (status, body) = client
        .post(&format!("{path}/cancel"), Some(&s.api_key), None)
        .await;
    assert!(status.is_success(), "{body}");
    println!(
        "cancel of the running campaign: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// A settled, completed campaign of `n` recipients that all failed with 131026, seeded
/// in SQL, with its counts and credits as a real one would have them.
async fn failed_campaign(tdb: &TestDb, client: &Client, key: &str, n: usize) -> String {
    let (status, body) = client
        .post(
            "/api/v1/campaigns",
            Some(key),
            Some(json!({"name": "retry bench", "template_name": "welcome",
                "body_data": {"1": "Ada"}, "contacts": [{"phone": "15550000000"}]})),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let campaign = body["campaign_id"].as_str().unwrap().to_owned();
    let seeded = Instant::now();
    crate::list_bench::fill(tdb, &campaign, n.saturating_sub(1), 1).await;
    for sql in [
        format!(
            "UPDATE messages SET status = 'failed', error_code = 131026, \
             error_message = 'Undeliverable' WHERE campaign_id = '{campaign}'"
        ),
        format!(
            "UPDATE campaigns SET status = 'completed', total_contacts = {n}, \
             credits_reserved = {n}, credits_refunded = {n}, started_at = created_at, \
             completed_at = created_at, settled_at = created_at WHERE id = '{campaign}'"
        ),
        format!("DELETE FROM message_counts WHERE campaign_id = '{campaign}'"),
        format!(
            "INSERT INTO message_counts (campaign_id, shard, status, n) \
             SELECT campaign_id, 0, status, COUNT(*) FROM messages \
             WHERE campaign_id = '{campaign}' GROUP BY campaign_id, status"
        ),
        "ANALYZE messages".to_owned(),
    ] {
        tdb.execute(&sql).await;
    }
    println!(
        "seeded {n} failed recipients in SQL in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    campaign
}
