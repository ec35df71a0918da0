//! Reading a WhatsApp notification body: its statuses as [`Report`]s, its messages
//! that quote ours (replies), and which of those are button taps.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use waplify_shared::ids::send_ref::SendRef;
use waplify_shared::status::MessageStatus;
use waplify_shared::transition::Report;

/// Every `entry[].changes[].value` of a notification.
pub fn values(body: &Value) -> impl Iterator<Item = &Value> {
    list(body, "entry")
        .flat_map(|entry| list(entry, "changes"))
        .filter_map(|change| change.get("value"))
}

pub fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter())
        .into_iter()
        .flatten()
}

/// The number a change's notification is for (`metadata.phone_number_id`).
pub fn number(value: &Value) -> Option<&str> {
    value.pointer("/metadata/phone_number_id")?.as_str()
}

/// A status object of a notification for `number` as a [`Report`]; `None` for
/// statuses we do not track (`played`, `deleted`, …) or objects without a usable id.
pub fn report(status: &Value, number: Option<&str>) -> Option<Report> {
    let wamid = text(status.get("id"))?;
    let to = match status.get("status")?.as_str()? {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => return None,
    };
    let error = status.pointer("/errors/0");
    let error_code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok());
    let error_message = error.and_then(|e| {
        ["/error_data/details", "/message", "/title"]
            .iter()
            .find_map(|p| e.pointer(p).and_then(Value::as_str))
            .map(str::to_owned)
    });
    let sent = status
        .get("biz_opaque_callback_data")
        .and_then(Value::as_str)
        .and_then(SendRef::parse);
    Some(Report {
        wamid,
        to,
        at: timestamp(status.get("timestamp")).unwrap_or_else(Utc::now),
        round: sent.as_ref().map_or(0, |s| s.round),
        message_id: sent.map(|s| s.id),
        number: number.map(str::to_owned),
        recipient: text(status.get("recipient_id")),
        error_code,
        error_message: error_message
            .map(|m| m.replace('\0', ""))
            .or_else(|| (to == MessageStatus::Failed).then(|| "failed".into())),
    })
}

/// A string field as we can store it: PostgreSQL text cannot hold NUL, and no id
/// WhatsApp issues contains one, so such a value names nothing of ours.
fn text(v: Option<&Value>) -> Option<String> {
    v?.as_str().filter(|s| !s.contains('\0')).map(str::to_owned)
}

/// The last second of year 9999. WhatsApp reports no time before 1970 or after it,
/// and PostgreSQL cannot store some of the times chrono can.
const LATEST: i64 = 253_402_300_799;

/// Unix seconds, sent as a string or a number; a time out of range counts as none.
pub fn timestamp(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = match v? {
        Value::String(s) => s.parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    if !(0..=LATEST).contains(&secs) {
        return None;
    }
    Utc.timestamp_opt(secs, 0).single()
}

/// A quick-reply button or an interactive button or list choice.
pub fn is_click(msg: &Value) -> bool {
    match msg.get("type").and_then(Value::as_str) {
        Some("button") => true,
        Some("interactive") => matches!(
            msg.pointer("/interactive/type").and_then(Value::as_str),
            Some("button_reply" | "list_reply")
        ),
        _ => false,
    }
}
