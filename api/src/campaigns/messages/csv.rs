//! `list_campaign_messages` as `text/csv`: every row the filters match, streamed in
//! keyset chunks so the API holds one chunk at a time whatever the campaign's size.
//!
//! RFC 4180: a header line, CRLF line ends, a field with a comma, a quote, CR or LF in
//! quotes with its quotes doubled. Phones are written as the digits they are (quoted
//! only if they needed it, which they never do); no apostrophe or formula guard is added,
//! so the file holds exactly the stored text. Times are RFC 3339 in UTC.

use futures::StreamExt;
use poem::Body;

use waplify_shared::db::Db;
use waplify_shared::ids::{CampaignId, MessageId};

use super::list::{self, Filter};
use super::views::MessageRow;
use crate::http::time::Timestamp;

/// Rows read per query while exporting.
pub const CHUNK: u64 = 1000;

pub const HEADER: &str = "message_id,phone,name,status,wamid,attempts,error_code,\
error_message,sent_at,delivered_at,read_at,failed_at,replied_at,clicked_at\r\n";

/// Where an export is: the last id written, or done.
enum Walk {
    After(Option<MessageId>),
    Done,
}

/// The whole export as a streamed body. A database error mid-way ends the stream
/// early (the client sees a truncated transfer, never a short file that looks whole).
pub fn body(db: Db, campaign_id: CampaignId, filter: Filter) -> Body {
    let chunks = futures::stream::try_unfold(Walk::After(None), move |walk| {
        let (db, campaign_id, filter) = (db.clone(), campaign_id.clone(), filter.clone());
        async move {
            let Walk::After(after) = walk else {
                return Ok(None);
            };
            let (rows, more) = list::page(&db, &campaign_id, &filter, after.as_ref(), CHUNK)
                .await
                .map_err(|e| {
                    tracing::error!(%campaign_id, "csv export stopped: {e}");
                    std::io::Error::other(e)
                })?;
            let last = rows
                .last()
                .and_then(|r| MessageId::parse(&r.message_id).ok());
            let mut out = Vec::with_capacity(rows.len() * 160);
            for row in &rows {
                write_row(&mut out, row);
            }
            let next = match (more, last) {
                (true, Some(last)) => Walk::After(Some(last)),
                _ => Walk::Done,
            };
            Ok::<_, std::io::Error>(Some((out, next)))
        }
    });
    let header = futures::stream::once(async { Ok(HEADER.as_bytes().to_vec()) });
    Body::from_bytes_stream(header.chain(chunks))
}

/// One CSV line.
pub fn write_row(out: &mut Vec<u8>, r: &MessageRow) {
    let opt = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
    let fields: [&str; 14] = [
        &r.message_id,
        &r.phone,
        r.name.as_deref().unwrap_or(""),
        status_text(r),
        r.wamid.as_deref().unwrap_or(""),
        &r.attempts.to_string(),
        &opt(r.error_code),
        r.error_message.as_deref().unwrap_or(""),
        &time(r.sent_at),
        &time(r.delivered_at),
        &time(r.read_at),
        &time(r.failed_at),
        &time(r.replied_at),
        &time(r.clicked_at),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field(out, f);
    }
    out.extend_from_slice(b"\r\n");
}

fn status_text(r: &MessageRow) -> &'static str {
    waplify_shared::status::MessageStatus::from(r.status).as_str()
}

/// As the JSON answers write times (`Timestamp`), so both forms agree.
fn time(t: Option<Timestamp>) -> String {
    t.map(|t| t.rfc3339()).unwrap_or_default()
}

/// A field, quoted when it holds a comma, a quote, CR or LF.
fn field(out: &mut Vec<u8>, f: &str) {
    if !f.contains([',', '"', '\r', '\n']) {
        out.extend_from_slice(f.as_bytes());
        return;
    }
    out.push(b'"');
    out.extend_from_slice(f.replace('"', "\"\"").as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let mut out = Vec::new();
        for f in [
            "plain",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\r",
            "447700900123",
        ] {
            field(&mut out, f);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\"cr\r\"|447700900123|"
        );
    }
}
