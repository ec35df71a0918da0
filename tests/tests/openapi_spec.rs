//! The committed `openapi/openapi.json` is the code's spec, and the spec is complete
//! enough for generated clients. Regenerate with
//! `cargo run -p waplify-api -- openapi > openapi/openapi.json`
//! (or run this test with `UPDATE_OPENAPI=1`).

use serde_json::Value;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn committed_spec_matches_the_code() {
    let generated = waplify_api::http::spec::spec_json();
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(committed_path(), &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(committed_path()).expect("openapi/openapi.json exists");
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -p waplify-api -- openapi > openapi/openapi.json`"
    );
}

/// Every operation id, sorted.
const OPERATIONS: [&str; 24] = [
    "add_campaign_contacts",
    "cancel_campaign",
    "create_campaign",
    "create_webhook",
    "delete_webhook",
    "get_campaign",
    "get_campaign_message",
    "get_campaign_stats",
    "get_health",
    "get_ready",
    "get_webhook",
    "list_campaign_messages",
    "list_campaigns",
    "list_webhook_deliveries",
    "list_webhooks",
    "pause_campaign",
    "receive_whatsapp_webhook",
    "resume_campaign",
    "retry_failed_messages",
    "send_campaign",
    "send_test_message",
    "test_webhook",
    "update_campaign",
    "verify_whatsapp_webhook",
];

/// Whether the operation takes an API key; the others say so with an empty `security`.
fn takes_key(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|s| !s.is_empty())
}

#[test]
fn every_operation_is_named_tagged_summarised_and_documents_its_errors() {
    let spec: Value = serde_json::from_str(&waplify_api::http::spec::spec_json()).unwrap();
    let mut ids = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{id} is not snake_case"
            );
            ids.push(id.to_owned());
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id}: no tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{id}: no summary"
            );
            let responses = op["responses"].as_object().unwrap();
            if path.starts_with("/api/v1/whatsapp/") {
                // Meta calls it: no API key; the POST is signed instead.
                assert_eq!(
                    op["security"],
                    serde_json::json!([]),
                    "{id}: no bearer auth"
                );
                let refusal = if method == "get" { "403" } else { "401" };
                assert!(
                    responses.contains_key(refusal),
                    "{id}: {refusal} undocumented"
                );
            } else if !path.starts_with("/api/v1/") {
                // The probes: no API key, yet an answer to a refused request.
                assert_eq!(
                    op["security"],
                    serde_json::json!([]),
                    "{id}: no bearer auth"
                );
                assert!(responses.contains_key("413"), "{id}: 413 undocumented");
            } else {
                for code in ["400", "401", "500"] {
                    assert!(responses.contains_key(code), "{id}: {code} undocumented");
                }
                if path.contains("{campaign_id}") || path.contains("{webhook_id}") {
                    assert!(responses.contains_key("404"), "{id}: 404 undocumented");
                }
                assert_eq!(
                    op["security"],
                    serde_json::json!([{"ApiKeyAuth": []}]),
                    "{id}: bearer auth"
                );
            }
        }
    }
    ids.sort();
    assert_eq!(ids, OPERATIONS);
    let send = &spec["paths"]["/api/v1/campaigns/{campaign_id}/send"]["post"]["responses"];
    assert!(send["202"].is_object() && send["409"].is_object());
    let test = &spec["paths"]["/api/v1/campaigns/{campaign_id}/test"]["post"]["responses"];
    assert!(test["202"].is_object() && test["409"].is_object() && test["429"].is_object());
    for closed in [
        "CreateCampaignRequest",
        "AddContactsRequest",
        "ContactInput",
        "RetryFailedRequest",
        "TestMessageRequest",
    ] {
        assert_eq!(
            spec["components"]["schemas"][closed]["additionalProperties"],
            false
        );
    }
}

#[test]
fn every_keyed_operation_documents_the_rate_limit() {
    let spec: Value = serde_json::from_str(&waplify_api::http::spec::spec_json()).unwrap();
    let mut keyed = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if !takes_key(op) {
                assert!(!responses.contains_key("429"), "{method} {path}");
                continue;
            }
            keyed += 1;
            let limited = &responses["429"];
            assert_eq!(
                limited["content"]["application/json; charset=utf-8"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path}"
            );
            for header in [
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ] {
                assert_eq!(
                    limited["headers"][header]["required"], true,
                    "{method} {path}: 429 {header}"
                );
            }
            for (status, response) in responses {
                let has = response["headers"]["X-RateLimit-Remaining"].is_object();
                assert_eq!(has, status != "401", "{method} {path}: {status}");
            }
            let statuses: Vec<&String> = responses.keys().collect();
            assert!(statuses.is_sorted(), "{method} {path}: {statuses:?}");
        }
    }
    assert!(keyed >= 6);
}

#[test]
fn described_references_are_plain_references() {
    // `allOf: [{$ref}, {description}]` makes generators drop enum fields.
    fn walk(v: &Value, at: &str) {
        match v {
            Value::Object(map) => {
                if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
                    assert_eq!(parts.len(), 1, "{at}: {v}");
                }
                for (k, v) in map {
                    walk(v, &format!("{at}/{k}"));
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, at)),
            _ => {}
        }
    }
    let spec: Value = serde_json::from_str(&waplify_api::http::spec::spec_json()).unwrap();
    walk(&spec, "");
}

#[test]
fn every_keyed_post_takes_an_idempotency_key_and_documents_its_refusals() {
    let spec: Value = serde_json::from_str(&waplify_api::http::spec::spec_json()).unwrap();
    let mut taking = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let Some(op) = ops.get("post").filter(|op| takes_key(op)) else {
            continue;
        };
        let id = op["operationId"].as_str().unwrap();
        taking.push(id);
        let params = op["parameters"].as_array().unwrap();
        let key = params
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap_or_else(|| panic!("{id}: no Idempotency-Key"));
        assert_eq!(key["in"], "header", "{id}");
        assert_eq!(key["required"], false, "{id}");
        assert_eq!(key["schema"]["maxLength"], 255, "{id}");
        let responses = op["responses"].as_object().unwrap();
        for (status, code) in [
            ("409", "idempotency_key_in_use"),
            ("422", "idempotency_key_reused"),
        ] {
            let described = responses[status]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(described.contains(code), "{id}: {status} {described}");
        }
        let success = responses.keys().find(|s| s.starts_with('2')).unwrap();
        assert!(
            responses[success]["headers"]["Idempotent-Replayed"].is_object(),
            "{id} {path}: replay header"
        );
    }
    taking.sort();
    assert_eq!(
        taking,
        [
            "add_campaign_contacts",
            "cancel_campaign",
            "create_campaign",
            "create_webhook",
            "pause_campaign",
            "resume_campaign",
            "retry_failed_messages",
            "send_campaign",
            "send_test_message",
            "test_webhook",
        ]
    );
}
