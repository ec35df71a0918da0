//! What the spec says beyond what poem-openapi emits for fields and operations: the
//! form of values the handlers parse themselves, and which operations take no API key.

use serde_json::Value;

/// Operations open without an API key: the probes, and Meta's callbacks, which are
/// checked by their verify token or body signature instead. poem-openapi leaves
/// `security` out when an operation has no scheme, which reads as "not said";
/// [`document_open_operations`] writes the empty list, which says "none".
const OPEN_OPERATIONS: [(&str, &str); 4] = [
    ("/health", "get"),
    ("/ready", "get"),
    ("/api/v1/whatsapp/webhook", "get"),
    ("/api/v1/whatsapp/webhook", "post"),
];

/// The form of values the handlers parse themselves (with their own messages): every
/// value of the pattern is accepted, so clients and fuzzers know what is valid. A
/// cursor is 12 bytes in unpadded base64url; a phone is digits with the country code,
/// spaces and dashes allowed between them (the handler also trims blanks around).
pub fn document_patterns(spec: &mut Value) {
    const PHONE: &str = r"^\+?[1-9]([ -]*[0-9]){7,14}[ -]*$";
    let phone = &mut spec["components"]["schemas"]["TestMessageRequest"]["properties"]["phone"];
    assert!(phone.is_object(), "TestMessageRequest.phone is missing");
    phone["pattern"] = PHONE.into();
    let list = &mut spec["paths"]["/api/v1/campaigns/{campaign_id}/messages"]["get"];
    let params = list["parameters"].as_array_mut().expect("list parameters");
    let after = params
        .iter_mut()
        .find(|p| p["name"] == "after")
        .expect("after");
    after["schema"]["pattern"] = "^[A-Za-z0-9_-]{16}$".into();
    // A window's hours, as `SendWindow::parse` reads them; the request's own validator
    // stays looser, so an hour out of range gets the parser's message naming the field.
    for field in ["start", "end"] {
        let time = &mut spec["components"]["schemas"]["SendWindowInput"]["properties"][field];
        assert!(time.is_object(), "SendWindowInput.{field} is missing");
        time["pattern"] = "^([01][0-9]|2[0-3]):[0-5][0-9]$".into();
    }
}

/// Gives the operations of [`OPEN_OPERATIONS`] an explicit empty `security`, and checks
/// that every other operation names a scheme, so that none is left unsaid.
pub fn document_open_operations(spec: &mut Value) {
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for (path, methods) in paths.iter_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        for (method, op) in methods.iter_mut() {
            let open = OPEN_OPERATIONS.contains(&(path.as_str(), method.as_str()));
            let keyed = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert!(
                open != keyed,
                "{method} {path}: an operation either takes an API key or is listed as open"
            );
            if open {
                op["security"] = Value::Array(Vec::new());
            }
        }
    }
}
