//! poem's and poem-openapi's own failures (bad JSON, wrong content type, a malformed
//! path id, unknown route, wrong method, missing key) as the JSON error body.

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};

use waplify_shared::ids::InvalidId;

use super::errors::ApiError;
use super::known_routes::KnownRoutes;

/// Turns any error raised outside a handler into the JSON error body.
pub fn error_response(
    e: poem::Error,
    method: &Method,
    path: &str,
    routes: &KnownRoutes,
) -> Response {
    if e.is_from_response() {
        return ensure_json_error(e.into_response(), method, path, routes);
    }
    let status = e.status();
    let message = if e.is::<AuthorizationError>() || status == StatusCode::UNAUTHORIZED {
        return ApiError::unauthorized().into_response();
    } else if let Some(p) = e.downcast_ref::<ParseRequestPayloadError>() {
        payload_error_message(&p.reason)
    } else if let Some(p) = e.downcast_ref::<ParsePathError>() {
        path_error_message(p.name, path, routes)
    } else if let Some(p) = e.downcast_ref::<ParseParamError>() {
        // Ids have a documented message of their own: `Invalid campaign_id`.
        match InvalidId::for_param(p.name) {
            Some(invalid) => invalid.to_string(),
            None => format!("Invalid parameter '{}': {}", p.name, p.reason),
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

/// The message for a path parameter that did not parse. poem-openapi names it by
/// position (`param0`); the route template gives its name, and an id gets its
/// documented message (`Invalid campaign_id`).
fn path_error_message(reported: &str, path: &str, routes: &KnownRoutes) -> String {
    let name = reported
        .strip_prefix("param")
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| routes.path_param(path, i))
        .unwrap_or(reported);
    match InvalidId::for_param(name) {
        Some(invalid) => invalid.to_string(),
        None => format!("Invalid path parameter '{name}'"),
    }
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
pub fn ensure_json_error(
    r: Response,
    method: &Method,
    path: &str,
    routes: &KnownRoutes,
) -> Response {
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

#[cfg(test)]
mod tests {
    use super::payload_error_message;

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
