//! Migrations on both databases, and how the binaries start: refusing a schema that is
//! behind, migrating on request, and one clear line for an unusable setting.

use std::process::Command;
use std::time::Duration;

use sea_orm_migration_check::pending;
use waplify_shared::db;
use waplify_tests::TestDb;
use waplify_tests::procs::{Proc, bin, free_port};

mod sea_orm_migration_check {
    use waplify_shared::db::Db;
    pub async fn pending(db: &Db) -> usize {
        use waplify_shared::db::Migrator;
        use waplify_shared::sea_orm_migration::MigratorTrait;
        Migrator::get_pending_migrations(db).await.unwrap().len()
    }
}

#[tokio::test]
async fn migrations_apply_once_and_again_do_nothing() {
    let t = TestDb::empty().await;
    assert!(pending(&t.db).await > 0);
    let applied = db::migrate(&t.db).await.unwrap();
    assert!(applied > 0);
    assert_eq!(pending(&t.db).await, 0);
    assert_eq!(
        db::migrate(&t.db).await.unwrap(),
        0,
        "re-running is a no-op"
    );
    for table in db::TABLES {
        sea_orm::ConnectionTrait::execute_unprepared(
            &t.db,
            &format!("SELECT COUNT(*) FROM {table}"),
        )
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
}

fn run(program: &str, args: &[&str], env: &[(&str, String)]) -> (bool, String, String) {
    let mut cmd = Command::new(bin(program));
    cmd.args(args).env_remove("WAPLIFY_AUTO_MIGRATE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn services_refuse_a_schema_that_is_behind_until_migrated() {
    let t = TestDb::empty().await;
    let port = free_port();
    let env = vec![
        ("DATABASE_URL", t.url.clone()),
        ("REDIS_URL", waplify_tests::redis_url()),
        ("API_BIND", format!("127.0.0.1:{port}")),
        ("WAPLIFY_QUEUE_PREFIX", waplify_tests::unique_prefix()),
    ];
    for program in ["waplify-api", "waplify-worker"] {
        let mut p = Proc::spawn(&bin(program), &[], &env);
        let status = p.wait(Duration::from_secs(20)).expect("exits");
        assert!(!status.success(), "{program} must refuse to start");
        let log = p.log();
        assert!(
            log.contains("run `waplify-api migrate`"),
            "{program}: {log}"
        );
        assert!(!log.contains("panicked"), "{program}: {log}");
    }
    let (ok, stdout, stderr) = run("waplify-api", &["migrate"], &env);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("migrations_applied"), "{stdout}");
    let mut api = Proc::spawn(&bin("waplify-api"), &["serve"], &env);
    let client = reqwest::Client::new();
    waplify_tests::eventually(Duration::from_secs(20), "the API to serve", || async {
        client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    api.terminate(Duration::from_secs(10))
        .expect("stops on SIGTERM");
}

#[tokio::test]
async fn auto_migrate_applies_the_schema_at_start() {
    let t = TestDb::empty().await;
    let port = free_port();
    let env = vec![
        ("DATABASE_URL", t.url.clone()),
        ("API_BIND", format!("127.0.0.1:{port}")),
        ("WAPLIFY_QUEUE_PREFIX", waplify_tests::unique_prefix()),
        ("REDIS_URL", waplify_tests::redis_url()),
        ("WAPLIFY_AUTO_MIGRATE", "1".to_owned()),
    ];
    let _api = Proc::spawn(&bin("waplify-api"), &["serve"], &env);
    let client = reqwest::Client::new();
    waplify_tests::eventually(Duration::from_secs(20), "the API to serve", || async {
        client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .ok()
    })
    .await;
    assert_eq!(pending(&t.db).await, 0);
}

/// A binary, its arguments, its environment, and what its one line must say.
type Case = (
    &'static str,
    Vec<&'static str>,
    Vec<(&'static str, String)>,
    &'static str,
);

#[test]
fn unusable_settings_stop_with_one_line_naming_the_variable() {
    let cases: Vec<Case> = vec![
        (
            "waplify-api",
            vec!["migrate"],
            vec![("DATABASE_URL", "postgres://nobody@127.0.0.1:1/x".into())],
            "DATABASE_URL: cannot connect",
        ),
        (
            "waplify-api",
            vec!["migrate"],
            vec![("DATABASE_URL", "mysql://localhost/x".into())],
            "DATABASE_URL: unsupported database URL",
        ),
        (
            "waplify-api",
            vec!["serve"],
            vec![
                ("DATABASE_URL", "sqlite::memory:".into()),
                ("WAPLIFY_AUTO_MIGRATE", "1".into()),
                ("REDIS_URL", "redis://127.0.0.1:1".into()),
            ],
            "REDIS_URL: cannot connect",
        ),
        (
            "waplify-api",
            vec!["serve"],
            vec![
                ("REDIS_URL", "not a url".into()),
                ("DATABASE_URL", "sqlite::memory:".into()),
                ("WAPLIFY_AUTO_MIGRATE", "1".into()),
            ],
            "REDIS_URL: invalid Redis URL",
        ),
        (
            "waplify-worker",
            vec![],
            vec![("WORKER_CONCURRENCY", "lots".into())],
            "WORKER_CONCURRENCY: cannot parse 'lots'",
        ),
        (
            "waplify-worker",
            vec![],
            vec![("SEND_LEASE_SECS", "5".into())],
            "SEND_LEASE_SECS: must be more than twice",
        ),
        (
            "waplify-worker",
            vec![],
            vec![("WHATSAPP_API_BASE_URL", "ftp://x".into())],
            "WHATSAPP_API_BASE_URL: must be an http(s) URL",
        ),
        (
            "waplify-api",
            vec!["serve"],
            vec![("WAPLIFY_QUEUE_PREFIX", "has space".into())],
            "WAPLIFY_QUEUE_PREFIX: use letters",
        ),
    ];
    for (program, args, env, needle) in cases {
        let (ok, _, stderr) = run(program, &args, &env);
        assert!(!ok, "{program} {env:?} should fail");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{program} {env:?}: one line, got: {stderr}");
        assert!(lines[0].starts_with(&format!("{program}: ")), "{stderr}");
        assert!(lines[0].contains(needle), "{program} {env:?}: {stderr}");
    }
}
