//! Building the HTTP application: the OpenAPI service, Swagger UI, `/metrics`, and the
//! one middleware that gives every response its request id, API version, rate-limit
//! headers and, on failure, the JSON error body (`error_map`), after refusing bodies
//! too large (`limit_body`) or with NUL or repeated keys (`json_guard`).

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Body, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route};
use tracing::Instrument as _;

use super::error_map::{ensure_json_error, error_response};
use super::errors::ApiError;
use super::known_routes::KnownRoutes;
use super::metrics::HttpMetrics;
use super::spec::{api_service, spec_json};
use super::{json_guard, ratelimit, request_id};
use crate::state::AppState;

pub const API_VERSION: &str = "v1";
/// Largest accepted request body: 10,000 contacts with long names fit with room to spare.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

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
    let token = state.metrics_token.clone();
    let metrics_endpoint = poem::endpoint::make_sync(move |req| {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        if !waplify_shared::metrics::scrape_allowed(token.as_deref(), header(header::AUTHORIZATION))
        {
            return ApiError::new(StatusCode::UNAUTHORIZED, "Invalid or missing metrics token")
                .into_response();
        }
        let (content_type, body) = scraped.render(header(header::ACCEPT));
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
            if let Err(e) = guard_json(&mut req).await {
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
    // No answer is ever meant to be sniffed into HTML (the handshake echoes input).
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if resp.status() == StatusCode::UNAUTHORIZED && path != crate::whatsapp::routes::PATH {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"waplify\""),
        );
    }
    resp
}

/// Refuses a JSON body with NUL in a string or a key given twice (see `json_guard`).
/// Meta's signed callbacks are stored exactly as they came; the worker reads them.
async fn guard_json(req: &mut Request) -> Result<(), ApiError> {
    // What poem-openapi's `Json` takes: `application/json` and `application/*+json`.
    let json = req
        .content_type()
        .and_then(|ct| ct.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|e| {
            e == "application/json" || (e.starts_with("application/") && e.ends_with("+json"))
        });
    if !json || req.uri().path() == crate::whatsapp::routes::PATH {
        return Ok(());
    }
    let body = req
        .take_body()
        .into_vec()
        .await
        .map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
    if let Some(why) = json_guard::refusal(&body) {
        return Err(ApiError::bad_request(why));
    }
    req.set_body(Body::from_vec(body));
    Ok(())
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
