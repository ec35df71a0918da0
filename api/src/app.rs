//! Building the HTTP application: the OpenAPI service, Swagger UI, and the one
//! middleware that gives every response its request id, API version, rate-limit
//! headers and, on failure, the JSON error body.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParseRequestPayloadError,
};
use poem_openapi::{ExtraHeader, OpenApiService};
use tracing::Instrument as _;

use crate::errors::ApiError;
use crate::metrics::HttpMetrics;
use crate::routes::campaigns::CampaignsApi;
use crate::routes::health::HealthApi;
use crate::routes::webhooks::WebhooksApi;
use crate::routes::whatsapp::WhatsAppApi;
use crate::state::AppState;
use crate::{ratelimit, request_id};

pub const API_VERSION: &str = "v1";
/// Largest accepted request body: 10,000 contacts with long names fit with room to spare.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub type Service = OpenApiService<(CampaignsApi, WebhooksApi, WhatsAppApi, HealthApi), ()>;

/// The OpenAPI service; also what `waplify-api openapi` prints.
pub fn api_service() -> Service {
    OpenApiService::new(
        (CampaignsApi, WebhooksApi, WhatsAppApi, HealthApi),
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
             `Retry-After` in seconds.",
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
const CLOSED_SCHEMAS: [&str; 4] = [
    "CreateCampaignRequest",
    "AddContactsRequest",
    "ContactInput",
    "CreateWebhookRequest",
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
    simplify_described_refs(&mut spec);
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
            responses.insert("429".to_owned(), limited);
            let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            *responses = sorted.into_iter().collect::<Map<String, Value>>();
        }
    }
}

pub fn build_app(state: AppState) -> impl Endpoint<Output = Response> {
    let service = api_service();
    let spec = spec_json();
    let routes = Arc::new(KnownRoutes::from_spec(&spec));
    // Swagger UI embeds the spec; give it the same document /openapi.json serves.
    let docs = service.swagger_ui_html().replace(&service.spec(), &spec);
    let spec_endpoint = poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(spec.clone())
    });
    let docs_endpoint = poem::endpoint::make_sync(move |_| poem::web::Html(docs.clone()));
    let metrics = Arc::new(HttpMetrics::new());
    let scraped = metrics.clone();
    let metrics_endpoint = poem::endpoint::make_sync(move |req| {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        let (content_type, body) = scraped.render(accept);
        Response::builder().content_type(content_type).body(body)
    });
    let app = Route::new()
        .at("/openapi.json", poem::get(spec_endpoint))
        .at("/docs", poem::get(docs_endpoint))
        .at("/metrics", poem::get(metrics_endpoint))
        .nest("/", service)
        .data(state);
    app.into_endpoint().around(move |ep, req| {
        let routes = routes.clone();
        let metrics = metrics.clone();
        async move { Ok(handle(ep, req, &routes, &metrics).await) }
    })
}

async fn handle<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    routes: &KnownRoutes,
    metrics: &HttpMetrics,
) -> Response {
    let started = Instant::now();
    let rid = request_id::choose(
        req.headers()
            .get(request_id::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = routes.template(&path);
    let span = tracing::info_span!("request", request_id = %rid, %method, route);
    let (mut resp, rate) = request_id::scope(
        rid.clone(),
        ratelimit::scope(async {
            if let Err(e) = limit_body(&mut req).await {
                return e.into_response();
            }
            match ep.call(req).await {
                Ok(r) => {
                    let r = r.into_response();
                    if r.status().is_client_error() || r.status().is_server_error() {
                        ensure_json_error(r, &method, &path, routes)
                    } else {
                        r
                    }
                }
                Err(e) => error_response(e, &method, &path, routes),
            }
        }),
    )
    .instrument(span)
    .await;
    metrics.record(route, &method, resp.status(), started.elapsed());
    let headers = resp.headers_mut();
    if let Some(rate) = rate {
        rate.apply(headers);
    }
    if let Ok(v) = HeaderValue::from_str(&rid) {
        headers.insert("x-request-id", v);
    }
    headers.insert("api-version", HeaderValue::from_static(API_VERSION));
    resp
}

/// Rejects bodies over [`MAX_BODY_BYTES`]: by `Content-Length` when given, else while reading.
async fn limit_body(req: &mut Request) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body is larger than {MAX_BODY_BYTES} bytes"),
        )
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        return if len > MAX_BODY_BYTES {
            Err(too_large())
        } else {
            Ok(())
        };
    }
    if req.headers().get(header::TRANSFER_ENCODING).is_none() {
        return Ok(());
    }
    let mut stream = req.take_body().into_bytes_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    req.set_body(Body::from_vec(buf));
    Ok(())
}

/// Turns any error raised outside a handler into the JSON error body.
fn error_response(e: poem::Error, method: &Method, path: &str, routes: &KnownRoutes) -> Response {
    if e.is_from_response() {
        return ensure_json_error(e.into_response(), method, path, routes);
    }
    let status = e.status();
    let message = if e.is::<AuthorizationError>() || status == StatusCode::UNAUTHORIZED {
        return ApiError::unauthorized().into_response();
    } else if let Some(p) = e.downcast_ref::<ParseRequestPayloadError>() {
        payload_error_message(&p.reason)
    } else if let Some(p) = e.downcast_ref::<ParseParamError>() {
        if p.name.ends_with("_id") {
            // Ids have a documented message: `Invalid campaign_id`.
            format!("Invalid {}", p.name)
        } else {
            format!("Invalid parameter '{}': {}", p.name, p.reason)
        }
    } else if e.is::<ContentTypeError>() || status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return ApiError::bad_request("Content-Type must be application/json").into_response();
    } else if status == StatusCode::NOT_FOUND {
        format!("No route for {method} {path}")
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        return method_not_allowed(method, path, routes);
    } else if status.is_server_error() {
        return ApiError::internal(e).into_response();
    } else {
        e.to_string()
    };
    ApiError::new(status, message).into_response()
}

/// The message for a body that did not parse. A malformed id field gets the same
/// message as a malformed id anywhere else (`Invalid waba_phone_id`).
fn payload_error_message(reason: &str) -> String {
    let failed_field = reason
        .split("field `")
        .nth(1)
        .and_then(|rest| rest.split_once("` verification failed"))
        .map(|(field, _)| field);
    match failed_field {
        Some(field)
            if field.ends_with("_id")
                && field.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            format!("Invalid {field}")
        }
        // The URL pattern is long; say what it means instead of quoting it.
        Some("url") if reason.contains("pattern(") => {
            "Invalid url: use http(s)://host[:port][/path] \
             with a domain name or an IPv4 address"
                .to_owned()
        }
        _ => format!("Invalid request body: {reason}"),
    }
}

/// Keeps JSON error bodies; replaces anything else (poem's plain-text 404s and 405s).
fn ensure_json_error(r: Response, method: &Method, path: &str, routes: &KnownRoutes) -> Response {
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return r;
    }
    match r.status() {
        StatusCode::METHOD_NOT_ALLOWED => method_not_allowed(method, path, routes),
        StatusCode::NOT_FOUND => {
            ApiError::not_found(format!("No route for {method} {path}")).into_response()
        }
        StatusCode::UNAUTHORIZED => ApiError::unauthorized().into_response(),
        status if status.is_server_error() => {
            ApiError::internal(format!("{status} without body")).into_response()
        }
        status => ApiError::new(status, status.canonical_reason().unwrap_or("Bad request"))
            .into_response(),
    }
}

fn method_not_allowed(method: &Method, path: &str, routes: &KnownRoutes) -> Response {
    let allowed = routes.allowed(path);
    let mut resp = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "Method {method} is not allowed on {path}; allowed: {}",
            allowed.join(", ")
        ),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// Path templates and their methods, read from the spec, for `Allow` headers and
/// metric labels.
struct KnownRoutes(Vec<Known>);

struct Known {
    template: String,
    segments: Vec<String>,
    methods: Vec<String>,
}

impl Known {
    fn new(template: &str, methods: Vec<String>) -> Known {
        Known {
            template: template.to_owned(),
            segments: template
                .trim_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect(),
            methods,
        }
    }

    fn matches(&self, parts: &[&str]) -> bool {
        self.segments.len() == parts.len()
            && self
                .segments
                .iter()
                .zip(parts)
                .all(|(t, p)| is_param(t) || t == p)
    }

    fn params(&self) -> usize {
        self.segments.iter().filter(|t| is_param(t)).count()
    }
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

impl KnownRoutes {
    fn from_spec(spec: &str) -> KnownRoutes {
        let value: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut out = Vec::new();
        if let Some(paths) = value.get("paths").and_then(|p| p.as_object()) {
            for (template, ops) in paths {
                let methods = ops
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_uppercase()).collect())
                    .unwrap_or_default();
                out.push(Known::new(template, methods));
            }
        }
        for extra in ["/openapi.json", "/docs", "/metrics"] {
            out.push(Known::new(extra, vec!["GET".into()]));
        }
        KnownRoutes(out)
    }

    /// The template `path` matches, the most literal one if several do, else
    /// `unmatched`: a bounded set of metric labels.
    fn template(&self, path: &str) -> &str {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.0
            .iter()
            .filter(|k| k.matches(&parts))
            .min_by_key(|k| k.params())
            .map_or(crate::metrics::UNMATCHED, |k| k.template.as_str())
    }

    fn allowed(&self, path: &str) -> Vec<String> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut methods: Vec<String> = self
            .0
            .iter()
            .filter(|k| k.matches(&parts))
            .flat_map(|k| k.methods.iter().cloned())
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }
}

#[cfg(test)]
mod tests {
    use super::{KnownRoutes, payload_error_message, spec_json};

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
    }

    #[test]
    fn id_fields_get_the_id_message() {
        assert_eq!(
            payload_error_message(
                "failed to parse \"CreateCampaignRequest\": field `waba_phone_id` verification failed. pattern(\"^[0-9a-f]{24}$\")"
            ),
            "Invalid waba_phone_id"
        );
        assert!(
            payload_error_message("field `name` verification failed")
                .starts_with("Invalid request body: ")
        );
        assert!(payload_error_message("EOF while parsing").starts_with("Invalid request body: "));
    }
}
