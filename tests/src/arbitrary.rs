//! Generators for the property tests: any JSON value (keys drawn mostly from the
//! names WhatsApp uses, so that generated trees reach the parser's inner paths) and
//! notifications of Meta's shape whose fields hold anything. `mutated` changes the
//! published payloads and makes callback bodies of them.

use proptest::prelude::*;
use serde_json::Value;

const KEYS: &[&str] = &[
    "object",
    "entry",
    "changes",
    "field",
    "value",
    "statuses",
    "messages",
    "metadata",
    "phone_number_id",
    "id",
    "status",
    "timestamp",
    "recipient_id",
    "errors",
    "code",
    "title",
    "message",
    "error_data",
    "details",
    "context",
    "biz_opaque_callback_data",
    "type",
    "interactive",
    "button",
    "from",
    "0",
];

const WORDS: &[&str] = &[
    "sent",
    "delivered",
    "read",
    "failed",
    "played",
    "deleted",
    "button",
    "interactive",
    "button_reply",
    "list_reply",
    "text",
    "messages",
];

/// Strings that parsers get wrong: empty, NUL, non-ASCII, status words, numbers as
/// text (including ones out of any range), ids of ours.
pub fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ".{0,12}",
        2 => prop::sample::select(WORDS).prop_map(String::from),
        1 => "[a-z]{0,3}\0[a-z]{0,3}",
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "-?[0-9]{12,30}",
        1 => Just(waplify_shared::ids::MessageId::generate().to_string()),
    ]
}

/// Null, booleans, integers at their limits, finite floats and tricky strings.
pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        tricky_string().prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(String::from),
        1 => ".{0,8}",
    ]
}

/// Any JSON value, nested up to six levels.
pub fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A field's value: mostly a string, sometimes any scalar or a small tree.
fn field() -> impl Strategy<Value = Value> + Clone {
    prop_oneof![
        4 => tricky_string().prop_map(Value::from),
        2 => scalar(),
        1 => json_value(),
    ]
}

/// `pairs` as an object, each key kept three times in four.
fn some_of(pairs: Vec<(&str, Value)>, mask: u16) -> Value {
    let kept = pairs.into_iter().enumerate();
    let kept = kept.filter(|(i, _)| (mask >> (2 * i)) & 3 != 0);
    Value::Object(kept.map(|(_, (k, v))| (k.to_owned(), v)).collect())
}

fn status() -> impl Strategy<Value = Value> {
    let error =
        (field(), field(), field(), field(), any::<u16>()).prop_map(|(c, t, m, d, mask)| {
            let details = serde_json::json!({ "details": d });
            some_of(
                vec![
                    ("code", c),
                    ("title", t),
                    ("message", m),
                    ("error_data", details),
                ],
                mask,
            )
        });
    let word = prop::sample::select(WORDS).prop_map(Value::from);
    let errors = prop::collection::vec(error, 0..3).prop_map(Value::Array);
    (
        prop_oneof![field(), word],
        field(),
        field(),
        field(),
        field(),
        errors,
        any::<u16>(),
    )
        .prop_map(|(status, id, ts, to, opaque, errors, mask)| {
            some_of(
                vec![
                    ("id", id),
                    ("status", status),
                    ("timestamp", ts),
                    ("recipient_id", to),
                    ("biz_opaque_callback_data", opaque),
                    ("errors", errors),
                ],
                mask,
            )
        })
}

fn message() -> impl Strategy<Value = Value> {
    let word = prop::sample::select(WORDS).prop_map(Value::from);
    (word.clone(), word, field(), field(), any::<u16>()).prop_map(
        |(kind, choice, quoted, ts, mask)| {
            let interactive = serde_json::json!({ "type": choice });
            let context = serde_json::json!({ "id": quoted });
            some_of(
                vec![
                    ("type", kind),
                    ("interactive", interactive),
                    ("context", context),
                    ("timestamp", ts),
                ],
                mask,
            )
        },
    )
}

/// A notification of Meta's shape whose fields hold anything.
pub fn meta_shaped() -> impl Strategy<Value = Value> {
    use prop::collection::vec;
    let value = (field(), vec(status(), 0..4), vec(message(), 0..3)).prop_map(|(n, s, m)| {
        serde_json::json!({"metadata": {"phone_number_id": n}, "statuses": s, "messages": m})
    });
    let entry = vec(value, 0..3).prop_map(|values| {
        let changes: Vec<_> = values
            .into_iter()
            .map(|v| serde_json::json!({"value": v}))
            .collect();
        serde_json::json!({ "changes": changes })
    });
    vec(entry, 0..3)
        .prop_map(|e| serde_json::json!({"object": "whatsapp_business_account", "entry": e}))
}
