//! HTTP conventions every response follows: request ids, the API version header, and
//! the JSON error body for failures poem itself raises.

use reqwest::StatusCode;
use serde_json::Value;
use waplify_tests::app::read;
use waplify_tests::{TestApp, seed, spawn_app};

#[tokio::test]
async fn request_id_is_echoed_or_generated_and_api_version_is_set() {
    let app = spawn_app().await;
    let mine = "5b1a1c2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d";
    let get = |path: &'static str, id: &'static str| {
        app.http
            .get(app.url(path))
            .header("X-Request-ID", id)
            .send()
    };
    let resp = get("/health", mine).await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], mine);
    assert_eq!(resp.headers()["api-version"], "v1");
    let resp = get("/health", "<script>").await.unwrap();
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(generated, "<script>");
    assert!(uuid::Uuid::parse_str(&generated).is_ok());
    // Errors carry the same id in the body.
    let resp = get("/api/v1/campaigns", mine).await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], mine);
    assert_eq!(resp.headers()["api-version"], "v1");
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"waplify\""
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["request_id"], mine);
}

fn assert_json_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["request_id"].is_string(), "{body}");
    assert!(body["timestamp"].is_string(), "{body}");
}

#[tokio::test]
async fn framework_failures_answer_with_the_json_error_body() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 80).await;
    let before = app.row_counts().await;
    let key = s.api_key.as_str();

    let (status, body) = app.get("/api/v1/nothing-here", Some(key)).await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = app.get("/nope", None).await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND, "not_found");

    wrong_methods_are_refused_naming_the_allowed_ones(&app, key).await;
    unreadable_bodies_are_bad_requests(&app, key).await;

    let huge = "x".repeat(9 * 1024 * 1024);
    let resp = app
        .http
        .post(app.url("/api/v1/campaigns"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let (status, got) = read(resp).await;
    assert_json_error(
        status,
        &got,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    // Auth comes before body parsing: a bad key with a bad body is a 401.
    bad_credentials_are_refused_before_the_body_is_read(&app).await;

    assert_eq!(app.row_counts().await, before);
}

/// A known path with a method it does not serve: 405, with `Allow`.
async fn wrong_methods_are_refused_naming_the_allowed_ones(app: &TestApp, key: &str) {
    let resp = app
        .http
        .delete(app.url("/api/v1/campaigns"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = read(resp).await;
    assert_json_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_eq!(allow.as_deref(), Some("GET, POST"));
    let resp = app
        .http
        .get(app.url("/api/v1/campaigns/0123456789abcdef01234567/send"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get("allow").unwrap(), "POST");
    let (status, body) = read(resp).await;
    assert_json_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

/// Bodies that are not JSON, or not labelled as JSON: 400, saying which.
async fn unreadable_bodies_are_bad_requests(app: &TestApp, key: &str) {
    let post = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = app
            .http
            .post(app.url("/api/v1/campaigns"))
            .bearer_auth(key)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req
    };
    for (body, ct) in [
        ("{\"name\": ", Some("application/json")),
        ("not json at all", Some("application/json")),
        ("", Some("application/json")),
        ("{}", Some("text/plain")),
        ("{}", None),
        ("name=x", Some("application/x-www-form-urlencoded")),
    ] {
        let (status, got) = read(post(body, ct).send().await.unwrap()).await;
        assert_json_error(status, &got, StatusCode::BAD_REQUEST, "bad_request");
    }
    let (status, got) = read(post("{}", Some("text/plain")).send().await.unwrap()).await;
    assert_eq!(got["message"], "Content-Type must be application/json");
    let (_, got) = read(
        post("{\"name\": ", Some("application/json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        got["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid request body"),
        "{got}"
    );
    let _ = status;
}

/// A wrong body with no key, and a key of the wrong scheme: both 401.
async fn bad_credentials_are_refused_before_the_body_is_read(app: &TestApp) {
    let resp = app
        .http
        .post(app.url("/api/v1/campaigns"))
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .unwrap();
    let (status, got) = read(resp).await;
    assert_json_error(status, &got, StatusCode::UNAUTHORIZED, "unauthorized");
    let resp = app
        .http
        .get(app.url("/api/v1/campaigns"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    let (status, got) = read(resp).await;
    assert_json_error(status, &got, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn health_ready_spec_and_docs() {
    let app = spawn_app().await;
    let (status, body) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = app.get("/ready", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["redis"], "ok");
    let (status, spec) = app.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(spec["info"]["title"], "Waplify Send");
    let resp = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("SwaggerUIBundle"));
    assert!(
        html.contains("send_campaign"),
        "the UI embeds the served spec"
    );
}

#[tokio::test]
async fn ready_reports_an_unreachable_redis() {
    let mut redis = waplify_tests::procs::RedisServer::start();
    let app = waplify_tests::app::spawn_app_with(&redis.url()).await;
    redis.stop();
    let (status, body) = app.get("/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "service_unavailable");
    assert!(
        body["message"].as_str().unwrap().contains("redis"),
        "{body}"
    );
    // Liveness does not depend on Redis.
    let (status, _) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
}
