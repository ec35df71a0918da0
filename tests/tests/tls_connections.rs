//! Redis and PostgreSQL over TLS only, with passwords, for every process that talks to
//! them: `waplify-api` (migrate, serve), `waplify-admin`, `waplify-worker` and the Redis
//! ops scripts. The servers are private ones that refuse plain connections, with a CA
//! made by the test. A wrong CA stops a process with one line naming the variable, and
//! no password ever shows in a log or an error.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use waplify_tests::client::Client;
use waplify_tests::procs::{Proc, bin, free_port};
use waplify_tests::stack::worker_env;
use waplify_tests::tls::{Certs, TlsPostgres, TlsRedis};
use waplify_tests::{Fake, FakeConfig, keys, unique_prefix};

const REDIS_PASSWORD: &str = "r3dis-Secret-x9";
const PG_PASSWORD: &str = "pg-Secret-k7";

struct Servers {
    certs: Certs,
    wrong: Certs,
    redis: TlsRedis,
    pg: TlsPostgres,
}

impl Servers {
    fn start() -> Servers {
        let certs = Certs::make("waplify-test-ca");
        let wrong = Certs::make("some-other-ca");
        let redis = TlsRedis::start(&certs, "waplify", REDIS_PASSWORD);
        let pg = TlsPostgres::start(&certs, "waplify", PG_PASSWORD);
        Servers {
            certs,
            wrong,
            redis,
            pg,
        }
    }

    fn db_url(&self, ca: &Certs) -> String {
        let query = format!("sslmode=verify-full&sslrootcert={}", ca.ca().display());
        self.pg.url("waplify", PG_PASSWORD, &query)
    }

    /// The environment every process gets: both URLs, the CA, a prefix, the secret key.
    fn env(&self, prefix: &str, ca: &Certs) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.db_url(&self.certs)),
            ("REDIS_URL", self.redis.url("waplify", REDIS_PASSWORD)),
            ("REDIS_CA_FILE", ca.ca().display().to_string()),
            ("WAPLIFY_QUEUE_PREFIX", prefix.to_owned()),
            ("WAPLIFY_SECRET_KEY", keys::TEST_SECRET_KEY.to_owned()),
            ("RUST_LOG", "info".into()),
        ]
    }
}

/// Runs a binary or script to the end; (success, stdout + stderr).
fn run(program: PathBuf, args: &[&str], env: &[(&'static str, String)]) -> (bool, String) {
    let out = Command::new(&program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name)
}

fn no_password(what: &str, text: &str) {
    for secret in [REDIS_PASSWORD, PG_PASSWORD] {
        assert!(!text.contains(secret), "{what} shows a password: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_works_over_tls_and_no_password_is_ever_shown() {
    let s = Servers::start();
    let prefix = unique_prefix();
    let env = s.env(&prefix, &s.certs);
    let (ok, out) = run(bin("waplify-api"), &["migrate"], &env);
    assert!(ok, "migrate over TLS: {out}");
    no_password("waplify-api migrate", &out);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo.json");
    let (ok, demo) = run(
        bin("waplify-admin"),
        &["demo", "--state-file", state.to_str().unwrap()],
        &env,
    );
    assert!(ok, "waplify-admin over TLS: {demo}");
    no_password("waplify-admin", &demo);
    let demo: serde_json::Value = serde_json::from_str(demo.trim()).expect("demo JSON");
    let key = demo["api_key"].as_str().expect("api_key").to_owned();

    let bind = format!("127.0.0.1:{}", free_port());
    let mut api_env = env.clone();
    api_env.push(("API_BIND", bind.clone()));
    let api = Proc::spawn(&bin("waplify-api"), &["serve"], &api_env);
    let client = Client::new(&format!("http://{bind}"));
    waplify_tests::eventually(
        Duration::from_secs(30),
        "the API ready over TLS",
        || async {
            let r = client.http.get(client.url("/ready")).send().await;
            matches!(r, Ok(r) if r.status() == StatusCode::OK).then_some(())
        },
    )
    .await;

    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _server) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut wenv = worker_env(&env[0].1, &env[1].1, &prefix, &fake_url, "tls-worker");
    wenv.extend(env[2..].iter().cloned());
    let worker = Proc::spawn(&bin("waplify-worker"), &[], &wenv);

    let id = client.create_campaign(&key, 3).await;
    let (status, body) = client.send(&key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let stats = client
        .wait_for_status(&key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 3, "{stats}");
    assert_eq!(fake.counters().accepted, 3);

    // The ops scripts: redis-cli over TLS with the same URL and CA.
    let (ok, out) = run(script("queue-stats"), &["--json"], &env);
    assert!(ok, "queue-stats over TLS: {out}");
    assert!(out.contains("\"dispatch\""), "{out}");
    no_password("queue-stats", &out);

    for p in [&api, &worker] {
        let log = p.log();
        assert!(!log.is_empty(), "{} logged nothing", p.name);
        no_password(&p.name, &log);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_stops_each_process_with_one_line_naming_the_variable() {
    let s = Servers::start();
    let prefix = unique_prefix();
    let good = s.env(&prefix, &s.certs);
    let (ok, out) = run(bin("waplify-api"), &["migrate"], &good);
    assert!(ok, "{out}");

    // PostgreSQL: the CA in the URL is not the server's.
    let mut env = good.clone();
    env[0].1 = s.db_url(&s.wrong);
    for (program, args) in [
        (bin("waplify-api"), vec!["migrate"]),
        (
            bin("waplify-admin"),
            vec!["account", "show", "--account", "0123456789abcdef01234567"],
        ),
    ] {
        let (ok, out) = run(program.clone(), &args, &env);
        assert!(!ok, "{} trusted the wrong CA: {out}", program.display());
        let line = out.trim();
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        assert!(
            line.contains("DATABASE_URL") && line.contains("sslrootcert="),
            "{line}"
        );
        no_password("a refused database", line);
    }

    // Redis: REDIS_CA_FILE is not the server's CA.
    let env = s.env(&prefix, &s.wrong);
    let mut api_env = env.clone();
    api_env.extend([
        ("API_BIND", format!("127.0.0.1:{}", free_port())),
        ("RUST_LOG", "warn".into()),
    ]);
    let mut api = Proc::spawn(&bin("waplify-api"), &["serve"], &api_env);
    let status = api.wait(Duration::from_secs(60)).expect("the API stops");
    assert!(!status.success());
    let log = api.log();
    let last = log.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains("REDIS_URL") && last.contains("REDIS_CA_FILE"),
        "{log}"
    );
    no_password("a refused Redis", &log);
    let (ok, out) = run(script("queue-stats"), &[], &env);
    assert!(!ok, "queue-stats trusted the wrong CA: {out}");
    no_password("queue-stats", &out);

    // Without TLS, the servers do not answer at all.
    let mut plain = good.clone();
    plain[1].1 = format!(
        "redis://waplify:{REDIS_PASSWORD}@127.0.0.1:{}",
        s.redis.port
    );
    plain.retain(|(k, _)| *k != "REDIS_CA_FILE");
    plain.push(("API_BIND", format!("127.0.0.1:{}", free_port())));
    let mut api = Proc::spawn(&bin("waplify-api"), &["serve"], &plain);
    assert!(
        !api.wait(Duration::from_secs(60))
            .expect("the API stops")
            .success()
    );
    no_password("plain Redis", &api.log());
}
