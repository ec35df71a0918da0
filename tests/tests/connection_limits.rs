//! The API's connections are bounded: a request head must arrive in time, a silent
//! connection is closed, at most so many are open, and an oversized head is a JSON 431.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use waplify_api::http::serve::Limits;
use waplify_tests::{eventually, spawn_app};

async fn connect(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    TcpStream::connect(addr).await.unwrap()
}

/// Reads until the server closes the connection (or 60 s pass: then the test fails).
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server kept the connection open: {out:?}");
    String::from_utf8_lossy(&out).into_owned()
}

fn json_body(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[tokio::test]
async fn stalled_connections_are_closed() {
    let app = spawn_app().await;
    let api = app
        .instance_with_limits(Limits {
            header_read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(2),
            max_connections: 64,
        })
        .await;
    let base = api.url("");
    // Nothing at all, half a head, and a body that stops coming.
    let mut silent = connect(&base).await;
    let mut half = connect(&base).await;
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut short_body = connect(&base).await;
    short_body
        .write_all(
            b"POST /api/v1/campaigns HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"name\":",
        )
        .await
        .unwrap();
    assert_eq!(until_closed(&mut silent).await, "");
    assert_eq!(until_closed(&mut half).await, "");
    assert_eq!(until_closed(&mut short_body).await, "");
}

#[tokio::test]
async fn one_connection_over_the_cap_is_answered_503_and_closed() {
    let app = spawn_app().await;
    let api = app
        .instance_with_limits(Limits {
            max_connections: 3,
            ..Limits::default()
        })
        .await;
    let base = api.url("");
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&base).await);
    }
    // It sends its request, as a client would, and still reads the answer.
    let mut over = connect(&base).await;
    over.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut over).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert_eq!(json_body(&answer)["error"], "service_unavailable");
    // A slot comes back when a connection ends.
    drop(held.pop());
    eventually(Duration::from_secs(30), "a free slot", || async {
        let resp = reqwest::get(api.url("/health")).await.ok()?;
        (resp.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_oversized_request_head_is_a_json_431() {
    let app = spawn_app().await;
    let mut stream = connect(&app.url("")).await;
    let big = "a".repeat(1024 * 1024);
    let head = format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let answer = until_closed(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    let body = json_body(&answer);
    assert_eq!(body["error"], "request_header_fields_too_large");
    assert_eq!(
        body["request_id"].as_str().map(str::len),
        Some(36),
        "{body}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_may_wait_longer_than_the_head_timeout() {
    let app = spawn_app().await;
    let api = app
        .instance_with_limits(Limits {
            header_read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(120),
            max_connections: 64,
        })
        .await;
    let mut alive = connect(&api.url("")).await;
    for _ in 0..2 {
        alive
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = alive.read(&mut buf).await.unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        // Quiet between requests for longer than a head may take: not a slow head.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}
