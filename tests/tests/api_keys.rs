//! API keys that expire, and the list operators read: prefix, state, created, last
//! used (kept coarsely), expiry and revocation.

use reqwest::StatusCode;
use serde_json::Value;
use waplify_tests::admin_cli::{fails, ok};
use waplify_tests::spawn_app;

fn key_in<'a>(list: &'a Value, prefix: &str) -> &'a Value {
    list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_prefix"] == prefix)
        .unwrap_or_else(|| panic!("{prefix} not in {list}"))
}

#[tokio::test]
async fn an_expired_key_is_refused_like_an_unknown_one_and_listed_as_expired() {
    let app = spawn_app().await;
    let db = app.tdb.url.clone();
    let account = ok(
        &db,
        &["account", "create", "--name", "Acme", "--credits", "5"],
    );
    let id = account["account_id"].as_str().unwrap();
    let first = account["api_key"].as_str().unwrap().to_owned();
    let expiring = ok(
        &db,
        &["key", "create", "--account", id, "--expires-in", "90d"],
    );
    assert!(expiring["expires_at"].is_string(), "{expiring}");
    let second = expiring["api_key"].as_str().unwrap().to_owned();
    fails(
        &db,
        &["key", "create", "--account", id, "--expires-in", "5x"],
        "--expires-in",
    );
    fails(
        &db,
        &["key", "create", "--account", id, "--expires-in", "0d"],
        "--expires-in",
    );

    // Until it expires, it works; then it is refused with the same answer as any
    // unknown key.
    let (status, _) = app.get("/api/v1/campaigns", Some(&second)).await;
    assert_eq!(status, StatusCode::OK);
    app.execute(&format!(
        "UPDATE api_keys SET expires_at = '2000-01-01 00:00:00+00:00' WHERE key_prefix = '{}'",
        &second[..13]
    ))
    .await;
    let (status, body) = app.get("/api/v1/campaigns", Some(&second)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (_, unknown) = app
        .get(
            "/api/v1/campaigns",
            Some(&format!("wapl_{}", "x".repeat(40))),
        )
        .await;
    assert_eq!(body["message"], unknown["message"]);
    assert_eq!(body["message"], "Invalid or expired API key");

    let (status, _) = app.get("/api/v1/campaigns", Some(&first)).await;
    assert_eq!(status, StatusCode::OK);
    let list = ok(&db, &["key", "list", "--account", id]);
    let used = key_in(&list, &first[..13]);
    assert_eq!(used["state"], "active", "{list}");
    assert!(used["last_used_at"].is_string(), "{list}");
    assert!(used["expires_at"].is_null(), "{list}");
    let expired = key_in(&list, &second[..13]);
    assert_eq!(expired["state"], "expired", "{list}");
    assert!(
        list.to_string()
            .find("wapl_")
            .is_some_and(|_| !list.to_string().contains(&first)),
        "the list never shows a key itself"
    );

    ok(&db, &["key", "revoke", "--key-prefix", &first[..13]]);
    let list = ok(&db, &["key", "list", "--account", id]);
    assert_eq!(key_in(&list, &first[..13])["state"], "revoked", "{list}");
}
