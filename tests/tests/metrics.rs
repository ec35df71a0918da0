//! `/metrics` on the API and on the worker's own listener: request counters by route
//! template and status with latency histograms; job, provider-call and queue-depth
//! metrics after a campaign went through the fake WhatsApp server.

use std::time::Duration;

use reqwest::StatusCode;
use waplify_shared::jobs::QueueKind;
use waplify_tests::app::phone;
use waplify_tests::procs::free_port;
use waplify_tests::{Fake, FakeConfig, eventually, seed, spawn_app};

/// The value of the sample written exactly as `series` (name and labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split(' ').next()?.parse().ok()
    })
}

fn must(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

async fn scrape(url: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.expect("scrape");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn the_api_counts_requests_by_route_template_and_status() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 10).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    for _ in 0..2 {
        let (status, body) = app
            .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = app.get(&format!("/api/v1/campaigns/{id}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, content_type, text) = scrape(&app.url("/metrics"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let route = r#"route="/api/v1/campaigns/{campaign_id}",method="GET""#;
    assert_eq!(
        must(
            &text,
            &format!(r#"waplify_http_requests_total{{{route},status="200"}}"#)
        ),
        2.0
    );
    assert_eq!(
        must(
            &text,
            &format!(r#"waplify_http_requests_total{{{route},status="401"}}"#)
        ),
        1.0
    );
    assert_eq!(
        must(
            &text,
            &format!(r#"waplify_http_request_duration_seconds_count{{{route}}}"#)
        ),
        3.0
    );
    assert_eq!(
        must(
            &text,
            &format!(r#"waplify_http_request_duration_seconds_bucket{{le="+Inf",{route}}}"#)
        ),
        3.0
    );
    assert!(text.contains("# TYPE waplify_http_request_duration_seconds histogram"));
    // Raw paths never become labels; unknown routes share one.
    assert!(!text.contains(&id), "{text}");
    assert_eq!(
        must(
            &text,
            r#"waplify_http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        1.0
    );
    // The campaign creation was a POST on the collection.
    assert_eq!(
        must(
            &text,
            r#"waplify_http_requests_total{route="/api/v1/campaigns",method="POST",status="200"}"#
        ),
        1.0
    );

    let (_, content_type, text) =
        scrape(&app.url("/metrics"), Some("application/openmetrics-text")).await;
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    // The first scrape is counted too.
    assert_eq!(
        must(
            &text,
            r#"waplify_http_requests_total{route="/metrics",method="GET",status="200"}"#
        ),
        1.0
    );
}

#[tokio::test]
async fn the_worker_serves_job_provider_and_queue_metrics() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let fake = Fake::new(FakeConfig {
        fail_numbers: vec![phone(3)],
        ..Default::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let port = free_port();
    let mut cfg = app.worker_config(&url);
    cfg.metrics_bind = Some(format!("127.0.0.1:{port}"));
    let worker = app.start_worker(cfg).await;
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");

    // Before any work: every queue and job outcome is there, at zero.
    let text = eventually(Duration::from_secs(10), "the metrics listener", || async {
        let resp = reqwest::get(&metrics_url).await.ok()?;
        resp.text().await.ok()
    })
    .await;
    every_series_is_there_at_zero(&text);

    let id = app.create_campaign(&s.api_key, 10).await;
    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["failed_count"], 1, "{stats}");

    let (status, content_type, text) = scrape(&metrics_url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    jobs_and_provider_calls_are_counted(&text);

    let health = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    worker.shutdown().await;
}

/// Every queue and job outcome is there, at zero.
fn every_series_is_there_at_zero(text: &str) {
    for kind in QueueKind::ALL {
        let q = kind.suffix();
        for state in ["waiting", "scheduled", "inflight", "dead"] {
            must(
                text,
                &format!(r#"waplify_queue_jobs{{queue="{q}",state="{state}"}}"#),
            );
        }
        assert_eq!(
            must(
                text,
                &format!(r#"waplify_jobs_total{{queue="{q}",outcome="ok"}}"#)
            ),
            0.0
        );
    }
    assert_eq!(must(text, "waplify_queue_stats_up"), 1.0);
    for kind in QueueKind::ALL {
        let q = kind.suffix();
        must(
            text,
            &format!(r#"waplify_queue_oldest_waiting_seconds{{queue="{q}"}}"#),
        );
    }
    for outcome in ["delivered", "retry", "failed"] {
        assert_eq!(
            must(
                text,
                &format!(r#"waplify_webhook_attempts_total{{outcome="{outcome}"}}"#)
            ),
            0.0
        );
    }
}

/// One campaign of ten, one recipient rejected: its jobs and provider calls counted,
/// nothing dead, no restart.
fn jobs_and_provider_calls_are_counted(text: &str) {
    assert!(
        must(text, r#"waplify_jobs_total{queue="dispatch",outcome="ok"}"#) >= 1.0,
        "{text}"
    );
    assert!(
        must(text, r#"waplify_jobs_total{queue="send",outcome="ok"}"#) >= 2.0,
        "{text}"
    );
    assert!(must(text, r#"waplify_job_duration_seconds_count{queue="send"}"#) >= 2.0);
    assert_eq!(
        must(
            text,
            r#"waplify_provider_calls_total{outcome="accepted",code="none"}"#
        ),
        9.0
    );
    let rejected = must(
        text,
        r#"waplify_provider_calls_total{outcome="rejected",code="131026"}"#,
    );
    assert!(rejected >= 1.0, "{text}");
    assert_eq!(
        must(text, "waplify_provider_call_duration_seconds_count"),
        9.0 + rejected
    );
    assert!(text.contains("# TYPE waplify_provider_call_duration_seconds histogram"));
    for kind in QueueKind::ALL {
        let q = kind.suffix();
        assert_eq!(
            must(
                text,
                &format!(r#"waplify_queue_jobs{{queue="{q}",state="dead"}}"#)
            ),
            0.0,
            "{text}"
        );
    }
    assert_eq!(must(text, "waplify_worker_restarts_total"), 0.0);
}

/// A scrape's status and `WWW-Authenticate` header, with this `Authorization`.
async fn scrape_with(url: &str, authorization: Option<&str>) -> (StatusCode, Option<String>) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.expect("scrape");
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status(), challenge)
}

#[tokio::test]
async fn a_metrics_token_guards_the_api_and_worker_metrics() {
    let app = spawn_app().await;
    let common = waplify_shared::config::CommonConfig {
        metrics_token: Some("scrape-secret".into()),
        ..app.common()
    };
    let api = app.instance_with(common.clone()).await;
    let port = free_port();
    let mut cfg = app.worker_config("http://127.0.0.1:9");
    cfg.common = common;
    cfg.metrics_bind = Some(format!("127.0.0.1:{port}"));
    let worker = app.start_worker(cfg).await;
    let worker_url = format!("http://127.0.0.1:{port}/metrics");
    eventually(Duration::from_secs(10), "the metrics listener", || async {
        reqwest::get(&worker_url).await.ok()
    })
    .await;
    for url in [api.url("/metrics"), worker_url] {
        for refused in [None, Some("Bearer wrong"), Some("scrape-secret")] {
            let (status, challenge) = scrape_with(&url, refused).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{url} {refused:?}");
            assert_eq!(challenge.as_deref(), Some("Bearer realm=\"waplify\""));
        }
        let (status, _) = scrape_with(&url, Some("Bearer scrape-secret")).await;
        assert_eq!(status, StatusCode::OK, "{url}");
    }
    // Without a token, the API's metrics stay open.
    assert_eq!(
        scrape_with(&app.url("/metrics"), None).await.0,
        StatusCode::OK
    );
    worker.shutdown().await;
}
