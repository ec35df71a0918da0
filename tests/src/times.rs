//! Times as every answer writes them: RFC 3339 in UTC with `Z` and at most
//! milliseconds.

use serde_json::Value;

/// Asserts that every `timestamp` and `…_at` field of `v`, however deep, is written
/// as the API writes times. Returns how many there were.
pub fn assert_api_times(v: &Value) -> usize {
    let mut times = Vec::new();
    collect_times(v, &mut times);
    for t in &times {
        assert!(is_api_time(t), "{t} in {v}");
    }
    times.len()
}

/// The values of every `timestamp` and `…_at` field, however deep.
fn collect_times(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if let (true, Some(s)) = (k == "timestamp" || k.ends_with("_at"), v.as_str()) {
                    out.push(s.to_owned());
                }
                collect_times(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_times(v, out)),
        _ => {}
    }
}

/// `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$`: RFC 3339 in UTC with `Z` and at
/// most milliseconds, as the documentation writes times.
pub fn is_api_time(s: &str) -> bool {
    let Some(rest) = s.strip_suffix('Z') else {
        return false;
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (rest, None),
    };
    let shaped = whole.len() == 19
        && whole.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    shaped
        && fraction
            .is_none_or(|f| (1..=3).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
}
