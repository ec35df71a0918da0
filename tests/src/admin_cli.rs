//! `waplify-admin` run as a process, as operators run it.

use std::process::Command;

use serde_json::Value;

use crate::keys::TEST_SECRET_KEY;
use crate::procs::bin;

/// What one run printed.
pub struct Run {
    pub ok: bool,
    pub json: Value,
    pub stderr: String,
}

/// Runs `waplify-admin` with `args` on the database at `db_url`, with the test key.
pub fn admin(db_url: &str, args: &[&str]) -> Run {
    admin_with(db_url, args, &[("WAPLIFY_SECRET_KEY", TEST_SECRET_KEY)])
}

/// Runs `waplify-admin` with `args` on the database at `db_url` and only the secret
/// key settings of `keys` (none: no key at all).
pub fn admin_with(db_url: &str, args: &[&str], keys: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(bin("waplify-admin"));
    cmd.args(args)
        .env("DATABASE_URL", db_url)
        .env_remove("WAPLIFY_AUTO_MIGRATE")
        .env_remove("WAPLIFY_SECRET_KEY")
        .env_remove("WAPLIFY_SECRET_KEYS_OLD");
    for (k, v) in keys {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run waplify-admin");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        ok: out.status.success(),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A run that must succeed: its JSON.
pub fn ok(db: &str, args: &[&str]) -> Value {
    let r = admin(db, args);
    assert!(r.ok, "{args:?} failed: {}", r.stderr);
    r.json
}

/// A run that must fail with one line on stderr containing `needle`.
pub fn fails(db: &str, args: &[&str], needle: &str) {
    let r = admin(db, args);
    assert!(!r.ok, "{args:?} should fail");
    assert_eq!(r.json, Value::Null, "nothing on stdout on error");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert!(r.stderr.starts_with("waplify-admin: "), "{}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "{args:?}: {} lacks {needle}",
        r.stderr
    );
}
