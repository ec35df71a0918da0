//! The OpenAPI document: the poem-openapi service and the few things added to what it
//! emits (closed request bodies, plain `$ref`s, the rate limit on every keyed
//! operation). `/openapi.json`, Swagger UI and `openapi/openapi.json` all show this.

use poem_openapi::{ExtraHeader, LicenseObject, OpenApiService, ServerObject};

use super::spec_extras::{document_open_operations, document_patterns};

use crate::campaigns::lifecycle_routes::CampaignLifecycleApi;
use crate::campaigns::messages::routes::CampaignMessagesApi;
use crate::campaigns::routes::CampaignsApi;
use crate::http::health::HealthApi;
use crate::webhooks::routes::WebhooksApi;
use crate::whatsapp::routes::WhatsAppApi;

pub type Service = OpenApiService<
    (
        CampaignsApi,
        CampaignLifecycleApi,
        CampaignMessagesApi,
        WebhooksApi,
        WhatsAppApi,
        HealthApi,
    ),
    (),
>;

/// The OpenAPI service; also what `waplify-api openapi` prints.
pub fn api_service() -> Service {
    OpenApiService::new(
        (
            CampaignsApi,
            CampaignLifecycleApi,
            CampaignMessagesApi,
            WebhooksApi,
            WhatsAppApi,
            HealthApi,
        ),
        "Waplify Send",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Send WhatsApp template campaigns. Create a campaign, send it, and follow its \
             progress; delivery runs in the background with per-recipient retries.\n\n\
             Authenticate with `Authorization: Bearer wapl_…`. Every error answers \
             `{\"error\", \"message\", \"request_id\", \"timestamp\"}`.\n\n\
             Each API key may make a limited number of requests per minute (100 by \
             default). Authenticated responses carry `X-RateLimit-Limit`, \
             `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix time the window \
             ends); past the limit the answer is 429 `rate_limit_exceeded` with \
             `Retry-After` in seconds.\n\n\
             The POSTs that create or start something take an optional \
             `Idempotency-Key` (1 to 255 printable ASCII characters): a retry with the \
             same key and request gets the first answer (kept 24 hours) with \
             `Idempotent-Replayed: true` instead of running again; the key for another \
             request is 422 `idempotency_key_reused`, while the first still runs 409 \
             `idempotency_key_in_use`.",
    )
    .license(LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
    .server(
        ServerObject::new("http://127.0.0.1:8080")
            .description("A local API on its default address (`API_BIND`)."),
    )
    .extra_request_header::<Option<String>, _>(
        ExtraHeader::new("X-Request-ID")
            .description("Your id for this request (a UUID); echoed back."),
    )
    .extra_response_header::<String, _>(
        ExtraHeader::new("X-Request-ID")
            .description("The caller's UUID if it sent one, else a new one."),
    )
    .extra_response_header::<String, _>(ExtraHeader::new("API-Version").description("`v1`."))
}

/// Request bodies that reject unknown fields (`deny_unknown_fields`). poem-openapi does
/// not say so in the spec; [`spec_json`] adds `additionalProperties: false` for them, so
/// clients and fuzzers know an extra field is an error.
const CLOSED_SCHEMAS: [&str; 8] = [
    "CreateCampaignRequest",
    "AddContactsRequest",
    "ContactInput",
    "CreateWebhookRequest",
    "UpdateCampaignRequest",
    "SendWindowInput",
    "RetryFailedRequest",
    "TestMessageRequest",
];

/// Fields where `null` means something (`MaybeUndefined`: absent keeps, `null` clears;
/// a list's `next_cursor`: the last page). poem-openapi shows them as plain optional
/// fields; [`spec_json`] marks them `nullable` (a named type: one of it or `null`), so
/// generated clients can send and read the `null`.
const NULLABLE_FIELDS: [(&str, &str); 4] = [
    ("UpdateCampaignRequest", "description"),
    ("UpdateCampaignRequest", "scheduled_at"),
    ("UpdateCampaignRequest", "send_window"),
    ("ListMessagesResponse", "next_cursor"),
];

/// The spec as served at `/openapi.json` and committed in `openapi/openapi.json`:
/// pretty JSON with a trailing newline.
pub fn spec_json() -> String {
    let mut spec: serde_json::Value =
        serde_json::from_str(&api_service().spec()).expect("poem-openapi emits valid JSON");
    for name in CLOSED_SCHEMAS {
        let schema = &mut spec["components"]["schemas"][name];
        assert!(schema.is_object(), "schema {name} is missing from the spec");
        schema["additionalProperties"] = serde_json::Value::Bool(false);
    }
    for (name, field) in NULLABLE_FIELDS {
        let prop = spec["components"]["schemas"][name]["properties"][field].clone();
        assert!(
            prop.is_object(),
            "field {name}.{field} is missing from the spec"
        );
        let nullable = match prop.get("$ref").and_then(serde_json::Value::as_str) {
            // `nullable` only counts beside a `type`, and the referenced schema refuses
            // `null`: the form OAS 3.0.3 gives for "this schema or null".
            Some(target) => serde_json::json!({ "oneOf": [
                { "$ref": target },
                { "type": "object", "nullable": true, "enum": [null] },
            ] }),
            None => {
                let mut prop = prop;
                prop["nullable"] = serde_json::Value::Bool(true);
                prop
            }
        };
        spec["components"]["schemas"][name]["properties"][field] = nullable;
    }
    document_patterns(&mut spec);
    document_open_operations(&mut spec);
    simplify_described_refs(&mut spec);
    document_unavailable(&mut spec);
    document_rate_limit(&mut spec);
    let mut text = serde_json::to_string_pretty(&spec).expect("serialisable");
    text.push('\n');
    text
}

/// poem-openapi documents a described field of a named type as
/// `allOf: [{$ref}, {description}]`. Generators read that as a composition and fail
/// when the named type is not an object (openapi-python-client drops the whole schema
/// of an enum field). `allOf: [{$ref}]` beside the description says the same thing.
fn simplify_described_refs(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get_mut("allOf")
                && parts.len() == 2
                && parts[0].get("$ref").is_some()
                && parts[1]
                    .as_object()
                    .is_some_and(|o| o.keys().all(|k| k == "description"))
            {
                parts.truncate(1);
            }
            map.values_mut().for_each(simplify_described_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(simplify_described_refs),
        _ => {}
    }
}

/// Adds the 503 to every operation that takes an API key: checking the key needs the
/// database, so while it cannot be reached within the acquire timeout every such
/// request fails fast with `service_unavailable` (the other answers of the operation
/// keep their own descriptions).
fn document_unavailable(spec: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|methods| methods.values_mut())
    {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        let Some(mut unavailable) = responses.get("401").cloned() else {
            continue;
        };
        unavailable["description"] = json!(
            "The database could not be reached in time (`service_unavailable`). Retry \
             shortly; a retried change answers according to what it then finds."
        );
        responses.entry("503").or_insert(unavailable);
    }
}

/// Adds the rate limit to every operation that takes an API key: the `X-RateLimit-*`
/// headers on its responses (present whenever the limit is enforced, hence optional)
/// and the 429 answer with `Retry-After`. Done on the spec rather than per operation
/// because the limit is applied by authentication, not by the handlers.
fn document_rate_limit(spec: &mut serde_json::Value) {
    use serde_json::{Map, Value, json};
    let header = |description: &str, required: bool| {
        json!({
            "description": description,
            "required": required,
            "deprecated": false,
            "schema": {"type": "integer", "format": "int64", "minimum": 0},
        })
    };
    let rate_headers = |required: bool| {
        [
            (
                "X-RateLimit-Limit",
                header("Requests this API key may make per window.", required),
            ),
            (
                "X-RateLimit-Remaining",
                header("Requests left in the current window.", required),
            ),
            (
                "X-RateLimit-Reset",
                header(
                    "When the current window ends and the budget is whole again (Unix seconds).",
                    required,
                ),
            ),
        ]
    };
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for methods in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in methods.values_mut() {
            let keyed = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("ApiKeyAuth").is_some()));
            if !keyed {
                continue;
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(unauthorized) = responses.get("401").cloned() else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                if status == "401" {
                    continue;
                }
                if !response["headers"].is_object() {
                    response["headers"] = json!({});
                }
                for (name, h) in rate_headers(false) {
                    response["headers"][name] = h;
                }
            }
            let mut limited = unauthorized;
            limited["description"] = json!(
                "Rate limit exceeded: this API key has used its requests for the current \
                 window (`rate_limit_exceeded`). Retry after `Retry-After` seconds."
            );
            if !limited["headers"].is_object() {
                limited["headers"] = json!({});
            }
            for (name, h) in rate_headers(true) {
                limited["headers"][name] = h;
            }
            limited["headers"]["Retry-After"] = header("Seconds until the window ends.", true);
            // An operation's own limit (test messages per hour) is said after the key's.
            if let Some(own) = responses.get("429").and_then(|r| r["description"].as_str()) {
                let key_limit = limited["description"].as_str().unwrap_or_default();
                limited["description"] = json!(format!("{key_limit} Or: {own}"));
            }
            responses.insert("429".to_owned(), limited);
            let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            *responses = sorted.into_iter().collect::<Map<String, Value>>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::spec_json;
    use crate::http::known_routes::KnownRoutes;

    #[test]
    fn paths_map_to_their_route_templates() {
        let routes = KnownRoutes::from_spec(&spec_json());
        assert_eq!(
            routes.template("/api/v1/campaigns/cmp_01HZY0000000000000000000"),
            "/api/v1/campaigns/{campaign_id}"
        );
        assert_eq!(routes.template("/health"), "/health");
        assert_eq!(routes.template("/metrics"), "/metrics");
        assert_eq!(routes.template("/nope/at/all"), "unmatched");
        assert_eq!(
            routes.path_param("/api/v1/webhooks/xyz/deliveries", 0),
            Some("webhook_id")
        );
        assert_eq!(
            routes.path_param("/api/v1/webhooks/xyz/deliveries", 1),
            None
        );
    }
}
