//! The per-key request limit: counted in Redis, shared by API instances, reported in
//! `X-RateLimit-*` headers, refused with 429 and `Retry-After`, and failing open when
//! Redis is gone.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_api::http::ratelimit::RateLimit;
use waplify_tests::app::{Client, read, spawn_app_limited};
use waplify_tests::procs::RedisServer;
use waplify_tests::{redis_url, seed};

const MISSING: &str = "/api/v1/campaigns/0123456789abcdef01234567";

/// Status, body and the rate-limit headers of one call.
struct Answer {
    status: StatusCode,
    body: Value,
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<u64>,
    retry_after: Option<u64>,
}

async fn call(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("request");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap())
    };
    let (limit, remaining, reset, retry_after) = (
        header("x-ratelimit-limit"),
        header("x-ratelimit-remaining"),
        header("x-ratelimit-reset"),
        header("retry-after"),
    );
    let (status, body) = read(resp).await;
    Answer {
        status,
        body,
        limit,
        remaining,
        reset,
        retry_after,
    }
}

async fn list(client: &Client, key: &str) -> Answer {
    call(
        client
            .http
            .get(client.url("/api/v1/campaigns"))
            .bearer_auth(key),
    )
    .await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits, if need be, so that at least `margin` of the current `window` is left: the
/// test's requests then all fall in one window.
async fn start_of_window(window: Duration, margin: Duration) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = Duration::from_millis((now.as_millis() % window.as_millis()) as u64);
    if window - into < margin {
        tokio::time::sleep(window - into + Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_authenticated_response_carries_the_budget_and_the_limit_answers_429() {
    let app = spawn_app_limited(&redis_url(), RateLimit::per_minute(6)).await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let key = s.api_key.as_str();
    start_of_window(Duration::from_secs(60), Duration::from_secs(10)).await;

    // Successes, failed lookups, bad ids and bad bodies all count and all carry headers.
    let http = &app.http;
    let calls = [
        http.get(app.url("/api/v1/campaigns")),
        http.get(app.url(MISSING)),
        http.get(app.url("/api/v1/campaigns/not-an-id/stats")),
        http.post(app.url("/api/v1/campaigns"))
            .json(&json!({"name": ""})),
        http.post(app.url(&format!("{MISSING}/send"))),
        http.post(app.url("/api/v1/campaigns")).json(&json!({
            "name": "Hello", "template_name": "welcome", "body_data": {"1": "Ada"},
            "contacts": [{"phone": "+1 555 010 0001"}],
        })),
    ];
    let expected = [200, 404, 400, 400, 404, 200];
    let mut resets = Vec::new();
    for (i, (req, status)) in calls.into_iter().zip(expected).enumerate() {
        let a = call(req.bearer_auth(key)).await;
        assert_eq!(a.status.as_u16(), status, "{}", a.body);
        assert_eq!(a.limit, Some(6));
        assert_eq!(a.remaining, Some(5 - i as u64), "call {i}");
        assert_eq!(a.retry_after, None);
        let reset = a.reset.expect("X-RateLimit-Reset");
        assert_eq!(reset % 60, 0, "windows end on the minute: {reset}");
        assert!(reset > unix_now() && reset <= unix_now() + 60, "{reset}");
        resets.push(reset);
    }
    resets.dedup();
    assert_eq!(resets.len(), 1, "one window: {resets:?}");

    let refused = list(&app.client, key).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["error"], "rate_limit_exceeded");
    assert_eq!(
        refused.body["message"],
        "Rate limit exceeded. Limit: 6 requests per minute"
    );
    assert!(refused.body["request_id"].is_string(), "{}", refused.body);
    assert!(refused.body["timestamp"].is_string(), "{}", refused.body);
    assert_eq!(refused.limit, Some(6));
    assert_eq!(refused.remaining, Some(0));
    assert_eq!(refused.reset, Some(resets[0]));
    let retry_after = refused.retry_after.expect("Retry-After on a 429");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(resets[0] - unix_now() <= retry_after + 1);
    // Refused requests do not reach the handler: nothing was created by this one.
    let (status, _) = app
        .post(
            "/api/v1/campaigns",
            Some(key),
            Some(
                json!({"name": "Late", "template_name": "welcome", "body_data": {"1": "Ada"},
                        "contacts": [{"phone": "+1 555 010 0002"}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM campaigns").await, 1);

    // Without a known key there is no budget to report; health checks are not limited.
    for a in [
        call(http.get(app.url("/api/v1/campaigns"))).await,
        call(
            http.get(app.url("/api/v1/campaigns"))
                .bearer_auth("wapl_nope"),
        )
        .await,
        call(http.get(app.url("/health"))).await,
    ] {
        assert_ne!(a.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!((a.limit, a.remaining, a.reset), (None, None, None));
    }
}

#[tokio::test]
async fn two_api_instances_on_one_redis_share_a_keys_budget() {
    let app = spawn_app_limited(&redis_url(), RateLimit::per_minute(4)).await;
    let other = app.another_instance(RateLimit::per_minute(4)).await;
    let s = seed(&app.tdb.db, 100, 80).await;
    start_of_window(Duration::from_secs(60), Duration::from_secs(10)).await;

    let mut remaining = Vec::new();
    for client in [&app.client, &other.client, &app.client, &other.client] {
        let a = list(client, &s.api_key).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        remaining.push(a.remaining.unwrap());
    }
    assert_eq!(remaining, [3, 2, 1, 0]);
    for client in [&app.client, &other.client] {
        let a = list(client, &s.api_key).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    }
}

#[tokio::test]
async fn keys_have_budgets_of_their_own() {
    let app = spawn_app_limited(&redis_url(), RateLimit::per_minute(3)).await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let second = waplify_shared::admin::key_create(&app.tdb.db, &s.account_id, None)
        .await
        .unwrap()
        .api_key
        .to_owned();
    start_of_window(Duration::from_secs(60), Duration::from_secs(10)).await;

    for _ in 0..3 {
        assert_eq!(list(&app.client, &s.api_key).await.status, StatusCode::OK);
    }
    let refused = list(&app.client, &s.api_key).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    // Another key of the same account still has its whole budget.
    let a = list(&app.client, &second).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.remaining, Some(2));
}

#[tokio::test]
async fn the_budget_is_whole_again_when_the_window_ends() {
    let window = Duration::from_secs(2);
    let app = spawn_app_limited(&redis_url(), RateLimit::new(2, window)).await;
    let s = seed(&app.tdb.db, 100, 80).await;
    start_of_window(window, Duration::from_millis(1500)).await;

    assert_eq!(list(&app.client, &s.api_key).await.remaining, Some(1));
    assert_eq!(list(&app.client, &s.api_key).await.remaining, Some(0));
    let refused = list(&app.client, &s.api_key).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.body["message"],
        "Rate limit exceeded. Limit: 2 requests per 2 seconds"
    );
    let retry_after = refused.retry_after.unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let reset = refused.reset.unwrap();

    // Waiting until X-RateLimit-Reset is enough.
    let reset_at = UNIX_EPOCH + Duration::from_secs(reset);
    if let Ok(wait) = reset_at.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait + Duration::from_millis(50)).await;
    }
    let a = list(&app.client, &s.api_key).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.remaining, Some(1));
    assert!(a.reset.unwrap() > reset);
}

#[tokio::test]
async fn requests_go_through_uncounted_while_redis_is_unreachable() {
    let mut redis = RedisServer::start();
    // One request an hour: the window cannot end while the test runs.
    let hour = Duration::from_secs(3600);
    let app = spawn_app_limited(&redis.url(), RateLimit::new(1, hour)).await;
    let s = seed(&app.tdb.db, 100, 80).await;
    start_of_window(hour, Duration::from_secs(60)).await;
    let a = list(&app.client, &s.api_key).await;
    assert_eq!((a.status, a.remaining), (StatusCode::OK, Some(0)));

    redis.stop();
    let started = Instant::now();
    for _ in 0..5 {
        let a = list(&app.client, &s.api_key).await;
        assert_eq!(a.status, StatusCode::OK, "fails open: {}", a.body);
        assert_eq!((a.limit, a.remaining), (None, None), "nothing was counted");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "an outage must not slow every call: {:?}",
        started.elapsed()
    );

    // Back in service, the limit applies again (a new server starts from zero).
    redis.restart();
    waplify_tests::eventually(Duration::from_secs(20), "counting to resume", || async {
        let a = list(&app.client, &s.api_key).await;
        a.limit.is_some().then_some(())
    })
    .await;
    let a = list(&app.client, &s.api_key).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
}
