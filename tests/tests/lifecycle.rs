//! Cancel, pause and resume of a running campaign, with real workers, SQL, Redis and
//! the fake WhatsApp server: no claim after a cancel or pause has been answered, no
//! recipient sent twice across pause and resume, refunds exactly once, and one
//! campaign event per transition.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use waplify_tests::receiver::{Receiver, wait_received};
use waplify_tests::{Fake, FakeConfig, TestApp, eventually, seed, spawn_app};

async fn fake(latency_ms: u64) -> (Fake, String) {
    let fake = Fake::new(FakeConfig {
        latency_ms,
        ..FakeConfig::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, url)
}

/// Claims ever made for the campaign: one `sending` history row per claim.
async fn claims(app: &TestApp, id: &str) -> i64 {
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM message_events WHERE campaign_id = '{id}' AND to_status = 'sending'"
    ))
    .await
}

async fn in_flight(app: &TestApp, id: &str) -> i64 {
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM messages WHERE campaign_id = '{id}' AND status = 'sending'"
    ))
    .await
}

async fn wait_sent(app: &TestApp, key: &str, id: &str, at_least: i64) {
    eventually(Duration::from_secs(60), "some messages sent", || async {
        let stats = app.stats(key, id).await;
        (stats["sent_count"].as_i64().unwrap() >= at_least).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_cancel_stops_every_claim_and_refunds_the_unsent_once() {
    let app = spawn_app().await;
    // 200 messages a second: the cancel comes long before the campaign could finish.
    let s = seed(&app.tdb.db, 10_000, 200).await;
    let (fake, url) = fake(200).await;
    let workers = [
        app.start_worker(app.worker_config(&url)).await,
        app.start_worker(app.worker_config(&url)).await,
    ];
    let id = app.create_campaign(&s.api_key, 3000).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    wait_sent(&app, &s.api_key, &id, 50).await;

    let (status, body) = app.control(&s.api_key, &id, "cancel").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["campaign_status"], "cancelled");
    assert!(body["cancelled_at"].is_string(), "{body}");
    let claimed_at_answer = claims(&app, &id).await;

    // Calls in flight at the answer finish and are recorded; nothing is claimed again.
    eventually(Duration::from_secs(60), "the campaign settled", || async {
        let settled = app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM campaigns WHERE id = '{id}' AND settled_at IS NOT NULL"
            ))
            .await;
        (settled == 1 && in_flight(&app, &id).await == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(claims(&app, &id).await, claimed_at_answer);
    let c = fake.counters();
    assert_eq!(
        c.requests as i64, claimed_at_answer,
        "one call per claim, none after"
    );
    assert_eq!(c.duplicates, 0);

    let stats = app.stats(&s.api_key, &id).await;
    let (sent, failed, cancelled) = (
        stats["sent_count"].as_i64().unwrap(),
        stats["failed_count"].as_i64().unwrap(),
        stats["cancelled_count"].as_i64().unwrap(),
    );
    assert!(cancelled > 0, "{stats}");
    assert_eq!(sent + failed + cancelled, 3000, "{stats}");
    assert_eq!(stats["success_count"], 3000 - failed - cancelled);
    // Reserved 3000, spent one per sent recipient; the rest came back exactly once.
    assert_eq!(app.balance(&s.account_id).await, 10_000 - sent);
    assert_eq!(app.ledger_sum(&s.account_id).await, 10_000 - sent);

    let (status, body) = app.control(&s.api_key, &id, "cancel").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        "Campaign is cancelled; only a draft, scheduled, queued, running or paused campaign can be cancelled"
    );
    for w in workers {
        w.shutdown().await;
    }
}

/// `LIFECYCLE_RECIPIENTS` and `LIFECYCLE_CYCLES` scale the pause/resume test up
/// (the figures in docs/benchmarks.md come from 20,000 and 20).
fn scale(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test]
async fn pause_and_resume_cycles_send_every_recipient_exactly_once() {
    let app = spawn_app().await;
    // 300 a second: between seeing a step reached and pausing, a loaded machine must
    // not let the whole campaign finish.
    let s = seed(&app.tdb.db, 100_000, 300).await;
    let (fake, url) = fake(20).await;
    let workers = [
        app.start_worker(app.worker_config(&url)).await,
        app.start_worker(app.worker_config(&url)).await,
    ];
    let n = scale("LIFECYCLE_RECIPIENTS", 2000);
    let rounds = scale("LIFECYCLE_CYCLES", 8);
    let step = (n / (rounds + 2)) as i64;
    let id = app.create_campaign(&s.api_key, n).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    let mut cycles = 0;
    for round in 1..=rounds as i64 {
        wait_sent(&app, &s.api_key, &id, round * step).await;
        let (status, body) = app.control(&s.api_key, &id, "pause").await;
        if status == StatusCode::CONFLICT {
            assert_eq!(
                body["message"].as_str().unwrap().split(';').next(),
                Some("Campaign is completed")
            );
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["campaign_status"], "paused");
        let claimed = claims(&app, &id).await;
        eventually(
            Duration::from_secs(30),
            "in-flight calls recorded",
            || async { (in_flight(&app, &id).await == 0).then_some(()) },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(claims(&app, &id).await, claimed, "a claim while paused");
        assert_eq!(
            app.stats(&s.api_key, &id).await["campaign_status"],
            "paused"
        );
        let (status, body) = app.control(&s.api_key, &id, "resume").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["campaign_status"], "running");
        cycles += 1;
    }
    assert!(
        cycles >= rounds / 2,
        "only {cycles} cycles before the campaign completed"
    );
    eprintln!("pause/resume: {cycles} cycles over {n} recipients");
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(120))
        .await;
    assert_eq!(stats["sent_count"], n as i64, "{stats}");
    let c = fake.counters();
    assert_eq!((c.unique_recipients, c.duplicates), (n as u64, 0));
    let (status, body) = app.control(&s.api_key, &id, "resume").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        "Campaign is completed; only a paused campaign can be resumed"
    );
    for w in workers {
        w.shutdown().await;
    }
}

#[tokio::test]
async fn campaign_events_reach_the_endpoints_that_chose_them_once_per_transition() {
    let app = spawn_app().await;
    // 20 messages a second: the campaign is still running when it is paused.
    let s = seed(&app.tdb.db, 10_000, 20).await;
    let (_fake, url) = fake(20).await;
    let (receiver, hook_url) = Receiver::start().await;
    let events = [
        "campaign.started",
        "campaign.paused",
        "campaign.resumed",
        "campaign.completed",
        "campaign.cancelled",
        "campaign.failed",
    ];
    let (status, body) = app
        .post(
            "/api/v1/webhooks",
            Some(&s.api_key),
            Some(json!({"name": "Ops", "url": hook_url, "events": events})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let worker = app.start_worker(app.worker_config(&url)).await;

    let paused = app.create_campaign(&s.api_key, 300).await;
    assert_eq!(app.send(&s.api_key, &paused).await.0, StatusCode::ACCEPTED);
    wait_sent(&app, &s.api_key, &paused, 1).await;
    assert_eq!(
        app.control(&s.api_key, &paused, "pause").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.control(&s.api_key, &paused, "resume").await.0,
        StatusCode::OK
    );
    app.wait_for_status(&s.api_key, &paused, "completed", Duration::from_secs(60))
        .await;
    let draft = app.create_campaign(&s.api_key, 5).await;
    assert_eq!(
        app.control(&s.api_key, &draft, "cancel").await.0,
        StatusCode::OK
    );

    wait_received(&receiver, 5, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got: Vec<_> = receiver.received().iter().map(|r| r.json()).collect();
    assert_eq!(got.len(), 5, "{got:?}");
    let of = |campaign: &str| -> Vec<String> {
        got.iter()
            .filter(|e| e["campaign_id"] == campaign)
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut seen = of(&paused);
    seen.sort();
    assert_eq!(
        seen,
        [
            "campaign.completed",
            "campaign.paused",
            "campaign.resumed",
            "campaign.started"
        ]
    );
    assert_eq!(of(&draft), ["campaign.cancelled"]);
    let completed = got
        .iter()
        .find(|e| e["event"] == "campaign.completed")
        .unwrap();
    assert_eq!(completed["campaign"]["status"], "completed");
    assert_eq!(completed["campaign"]["previous_status"], "running");
    assert_eq!(completed["campaign"]["counts"]["sent"], 300);
    let cancelled = got
        .iter()
        .find(|e| e["event"] == "campaign.cancelled")
        .unwrap();
    assert_eq!(cancelled["campaign"]["counts"]["cancelled"], 5);
    assert_eq!(cancelled["campaign"]["name"], "Test campaign");
    worker.shutdown().await;
}
