//! `scripts/campaign ID --watch`, run as a process against a running API and worker:
//! plain lines when stdout is not a terminal, a line redrawn in place on one (a pty from
//! `script(1)`), and its exit status saying how the campaign ended.

use std::path::PathBuf;
use std::process::{Command, Output};

use reqwest::StatusCode;
use waplify_tests::{Fake, FakeConfig, TestApp, seed, spawn_app};

/// Runs the script with the API's address and `key`; `pty` runs it under `script(1)`.
fn watch(app: &TestApp, key: &str, campaign: &str, pty: bool) -> Output {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/campaign");
    let line = format!("{} {campaign} --watch --interval 0.2", path.display());
    let mut cmd = if pty {
        let mut c = Command::new("script");
        c.args(["-qefc", &line, "/dev/null"]);
        c
    } else {
        let mut c = Command::new(&path);
        c.args([campaign, "--watch", "--interval", "0.2"]);
        c
    };
    cmd.env("REDIS_URL", &app.redis_url)
        .env("WAPLIFY_QUEUE_PREFIX", &app.prefix)
        .env("WAPLIFY_API_URL", &app.client.base)
        .env("WAPLIFY_API_KEY", key)
        .output()
        .expect("run scripts/campaign")
}

/// `sent N` of a line.
fn sent(line: &str) -> u64 {
    let rest = line.split("  sent ").nth(1).expect("a sent count");
    rest.split_whitespace()
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_a_campaign_prints_its_progress_until_it_completes() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 5000, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let _worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 1200).await;
    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let (app, key, campaign) = (std::sync::Arc::new(app), s.api_key.clone(), id.clone());
    let out = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || watch(&app, &key, &campaign, false))
            .await
            .unwrap()
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\r'),
        "plain lines: {stdout:?}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let last = lines.last().expect("at least one line");
    assert!(
        last.contains("completed")
            && last.contains("100%")
            && last.contains("sent 1,200")
            && last.contains("failed 0")
            && last.contains("of 1,200"),
        "{last}"
    );
    // Progress only moves forward, and a line is printed only when something changed.
    let counts: Vec<u64> = lines.iter().map(|l| sent(l)).collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    let texts: Vec<&str> = lines.iter().map(|l| &l[10..]).collect();
    assert!(texts.windows(2).all(|w| w[0] != w[1]), "{stdout}");

    // On a terminal: the same line redrawn, ended by a newline; exit 0 again.
    let out = tokio::task::spawn_blocking({
        let (app, key) = (app.clone(), s.api_key.clone());
        move || watch(&app, &key, &id, true)
    })
    .await
    .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{tty:?}");
    assert!(
        tty.starts_with("\r\x1b[K") && tty.contains("completed"),
        "{tty:?}"
    );
    assert_eq!(
        tty.trim_end().lines().count(),
        1,
        "one line redrawn: {tty:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_campaign_ends_the_watch_with_status_3_and_a_wrong_id_with_1() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 10).await;
    let id = app.create_campaign(&s.api_key, 5).await;
    let (status, body) = app.control(&s.api_key, &id, "cancel").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let other = seed(&app.tdb.db, 100, 10).await;

    let (app, key) = (std::sync::Arc::new(app), s.api_key.clone());
    let (cancelled, foreign) = tokio::task::spawn_blocking(move || {
        (
            watch(&app, &key, &id, false),
            watch(&app, &other.api_key, &id, false),
        )
    })
    .await
    .unwrap();
    let text = String::from_utf8(cancelled.stdout).unwrap();
    assert_eq!(cancelled.status.code(), Some(3), "{text}");
    assert!(
        text.contains("cancelled") && text.contains("cancelled 5"),
        "{text}"
    );
    // Another account's key: the API's 404, said once, exit 1.
    let err = String::from_utf8(foreign.stderr).unwrap();
    assert_eq!(foreign.status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 404"), "{err}");
}
