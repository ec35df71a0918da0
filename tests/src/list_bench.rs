//! `scripts/bench --list N`: reading a campaign of N recipients back. The rows are
//! seeded in SQL directly (one `INSERT … SELECT` per table, copying one real recipient
//! created through the API, then `ANALYZE`d), because this measures reading, not
//! creating; then, through the release API process: every page of
//! `list_campaign_messages` at `--limit` rows (1,000 by default) (p50 / p99 / max per page), and the whole
//! `text/csv` export (time, bytes, and the API's peak RSS from `/proc/<pid>/status`
//! before and after it).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::bench_stack::{common_env, start_api};
use crate::client::Client;
use crate::procs::vm_hwm_kib;
use crate::{TestDb, seed};

/// Walks a campaign of `recipients` at `page` rows per page, then exports it.
pub async fn run(recipients: usize, page: usize) {
    let tdb = TestDb::new().await;
    let s = seed(&tdb.db, 10, 10_000).await;
    let (api, client) = start_api(&common_env(&tdb)).await;
    let (status, body) = client
        .post(
            "/api/v1/campaigns",
            Some(&s.api_key),
            Some(json!({"name": "list bench", "template_name": "welcome",
                "body_data": {"1": "Ada"}, "contacts": [{"phone": "15550000000", "name": "First"}]})),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let campaign = body["campaign_id"].as_str().unwrap().to_owned();
    let seeded = Instant::now();
    fill(&tdb, &campaign, recipients.saturating_sub(1), 10).await;
    println!(
        "seeded {recipients} recipients in SQL in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let rss_start = vm_hwm_kib(api.pid());
    let (mut pages, rows) = walk(&client, &s.api_key, &campaign, page).await;
    assert_eq!(rows, recipients, "the walk saw every row once");
    let rss_walk = vm_hwm_kib(api.pid());
    let (took, bytes, lines) = export(&client, &s.api_key, &campaign).await;
    assert_eq!(lines, recipients + 1, "header and every row");
    let rss_export = vm_hwm_kib(api.pid());
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "list: {} pages of {page} | p50={:.1} ms p99={:.1} ms max={:.1} ms",
        pages.len(),
        ms(percentile(&mut pages, 50)),
        ms(percentile(&mut pages, 99)),
        ms(percentile(&mut pages, 100)),
    );
    println!(
        "csv: {lines} lines, {:.1} MiB in {:.2} s | API peak RSS (VmHWM): {:.1} MiB at start, \
         {:.1} MiB after the walk, {:.1} MiB after the export",
        bytes as f64 / 1048576.0,
        took.as_secs_f64(),
        rss_start as f64 / 1024.0,
        rss_walk as f64 / 1024.0,
        rss_export as f64 / 1024.0,
    );
}

/// `n` more contacts and messages like the campaign's first, in two statements. Every
/// `failed_every`th is `failed` with an error (131026), so the filters have something
/// to find.
pub async fn fill(tdb: &TestDb, campaign: &str, n: usize, failed_every: usize) {
    let (hex16, phone) = if TestDb::is_postgres() {
        ("lpad(to_hex(i), 16, '0')", "'1' || lpad(i::text, 10, '0')")
    } else {
        ("printf('%016x', i)", "printf('1%010d', i)")
    };
    let series =
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})");
    let first = format!("(SELECT * FROM messages WHERE campaign_id = '{campaign}') m");
    let id = |of: &str| format!("substr({of}, 1, 8) || {hex16}");
    tdb.execute(&format!(
        "{series} INSERT INTO contacts (id, account_id, phone, name, created_at) \
         SELECT {}, c.account_id, {phone}, 'Name ' || i || ', \"quoted\"', c.created_at \
         FROM n CROSS JOIN {first} JOIN contacts c ON c.id = m.contact_id",
        id("c.id")
    ))
    .await;
    tdb.execute(&format!(
        "{series} INSERT INTO messages (id, campaign_id, contact_id, phone, status, attempts, \
         next_attempt_at, error_code, error_message, created_at, updated_at) \
         SELECT {}, m.campaign_id, {}, {phone}, \
         CASE WHEN i % {failed_every} = 0 THEN 'failed' ELSE 'pending' END, 0, m.next_attempt_at, \
         CASE WHEN i % {failed_every} = 0 THEN 131026 END, \
         CASE WHEN i % {failed_every} = 0 THEN 'Undeliverable' END, \
         m.created_at, m.updated_at FROM n CROSS JOIN {first}",
        id("m.id"),
        id("m.contact_id")
    ))
    .await;
    // What autovacuum does soon after a bulk load: without statistics the planner
    // takes a million-row campaign for a small one and sorts instead of walking the index.
    for table in ["messages", "contacts"] {
        tdb.execute(&format!("ANALYZE {table}")).await;
    }
}

/// Every page at `limit=page`, each timed from request to parsed body.
async fn walk(client: &Client, key: &str, campaign: &str, page: usize) -> (Vec<Duration>, usize) {
    let (mut times, mut rows, mut after) = (Vec::new(), 0, String::new());
    loop {
        let t = Instant::now();
        let (status, page) = client
            .get(
                &format!("/api/v1/campaigns/{campaign}/messages?limit={page}{after}"),
                Some(key),
            )
            .await;
        times.push(t.elapsed());
        assert!(status.is_success(), "{page}");
        rows += page["items"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => return (times, rows),
        }
    }
}

/// The whole CSV, read as it streams: time, bytes and lines.
async fn export(client: &Client, key: &str, campaign: &str) -> (Duration, usize, usize) {
    let t = Instant::now();
    let mut resp = client
        .http
        .get(client.url(&format!("/api/v1/campaigns/{campaign}/messages")))
        .bearer_auth(key)
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("export");
    assert!(resp.status().is_success());
    let (mut bytes, mut lines) = (0, 0);
    while let Some(chunk) = resp.chunk().await.expect("export body") {
        bytes += chunk.len();
        // Names hold no line breaks here, so every LF ends a record.
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    (t.elapsed(), bytes, lines)
}

fn percentile(times: &mut [Duration], p: usize) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    times.sort();
    times[((times.len() - 1) * p / 100).min(times.len() - 1)]
}
