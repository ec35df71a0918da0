//! A chunk of reports walked over the messages they name, in memory: each report sees
//! the status the ones before it left, so `sent`, `delivered` and `read` of one message
//! in one body make one write of that message, with every step in its history.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::bound::{Senders, same_recipient};
use super::report::{Report, Settled, steps};
use crate::db::entities::message;
use crate::ids::MessageId;
use crate::status::MessageStatus;

/// One step of one message, for its history row and its event.
pub(super) struct Step {
    pub from: MessageStatus,
    pub to: MessageStatus,
    pub at: DateTime<Utc>,
    pub detail: String,
}

/// What the chunk does to one message.
pub(super) struct Move {
    /// The row as it was read (and, on PostgreSQL, locked).
    pub row: message::Model,
    pub to: MessageStatus,
    /// WhatsApp's id, set if the row has none yet.
    pub wamid: Option<String>,
    /// When each step happened; the first report of a step wins.
    pub times: Vec<(MessageStatus, DateTime<Utc>)>,
    pub error: Option<(Option<i32>, Option<String>)>,
    pub steps: Vec<Step>,
    /// The reports that moved it (indexes into the chunk).
    pub reports: Vec<usize>,
}

/// The outcome of every report, and the moves to write.
pub(super) struct Walk {
    pub settled: Vec<Settled>,
    pub moves: BTreeMap<MessageId, Move>,
}

/// Walks `reports` in order over `rows`, the messages they name.
pub(super) async fn walk<C: ConnectionTrait>(
    db: &C,
    rows: Vec<message::Model>,
    reports: &[Report],
    senders: &mut Senders,
) -> Result<Walk, DbErr> {
    let mut by_wamid: HashMap<String, MessageId> = rows
        .iter()
        .filter_map(|m| m.wamid.clone().map(|w| (w, m.id.clone())))
        .collect();
    let mut current: HashMap<MessageId, MessageStatus> =
        rows.iter().map(|m| (m.id.clone(), m.status)).collect();
    let rows: HashMap<MessageId, message::Model> =
        rows.into_iter().map(|m| (m.id.clone(), m)).collect();
    let mut walk = Walk {
        settled: Vec::with_capacity(reports.len()),
        moves: BTreeMap::new(),
    };
    for (i, report) in reports.iter().enumerate() {
        let named = match by_wamid.get(&report.wamid) {
            Some(id) => Some((id.clone(), true)),
            // By our id only for the message's current send round: a callback for
            // a send before a retry names a WhatsApp id the message no longer keeps.
            None => report
                .message_id
                .clone()
                .filter(|id| rows.get(id).is_some_and(|m| m.send_round == report.round))
                .map(|id| (id, false)),
        };
        let Some((id, by_wamid_id)) = named else {
            walk.settled.push(Settled::Unknown);
            continue;
        };
        let row = &rows[&id];
        if !bound(db, row, by_wamid_id, report, senders).await? {
            walk.settled.push(Settled::Foreign);
            continue;
        }
        let from = current[&id];
        let Some(chain) = steps(from, report.to) else {
            walk.settled.push(Settled::Unchanged);
            continue;
        };
        let mv = walk.moves.entry(id.clone()).or_insert_with(|| Move {
            row: row.clone(),
            to: from,
            wamid: None,
            times: Vec::new(),
            error: None,
            steps: Vec::new(),
            reports: Vec::new(),
        });
        mv.take(i, report, from, chain);
        if mv.row.wamid.is_none() && mv.wamid.is_none() {
            mv.wamid = Some(report.wamid.clone());
            by_wamid.insert(report.wamid.clone(), id.clone());
        }
        current.insert(id, report.to);
        walk.settled.push(Settled::Moved {
            campaign_id: row.campaign_id.clone(),
            from,
        });
    }
    Ok(walk)
}

impl Move {
    /// Adds report `i`'s steps.
    fn take(&mut self, i: usize, report: &Report, from: MessageStatus, chain: Vec<MessageStatus>) {
        let mut prev = from;
        for step in chain {
            if !self.times.iter().any(|(s, _)| *s == step) {
                self.times.push((step, report.at));
            }
            self.steps.push(Step {
                from: prev,
                to: step,
                at: report.at,
                detail: detail(step, report),
            });
            prev = step;
        }
        if report.to == MessageStatus::Failed {
            self.error = Some((report.error_code, report.error_message.clone()));
        }
        self.to = report.to;
        self.reports.push(i);
    }
}

/// The history detail of a step.
fn detail(step: MessageStatus, report: &Report) -> String {
    match (step, &report.error_message) {
        (MessageStatus::Failed, Some(msg)) => format!(
            "callback: {}{msg}",
            report
                .error_code
                .map(|c| format!("({c}) "))
                .unwrap_or_default()
        ),
        _ => "callback".to_owned(),
    }
}

/// A wamid is WhatsApp's own, so its number must match; our id can be set by any
/// sender, so the recipient must match too.
async fn bound<C: ConnectionTrait>(
    db: &C,
    row: &message::Model,
    by_wamid: bool,
    r: &Report,
    senders: &mut Senders,
) -> Result<bool, DbErr> {
    let recipient_ok = by_wamid
        || r.recipient
            .as_deref()
            .is_some_and(|p| same_recipient(&row.phone, p));
    Ok(recipient_ok && senders.sent_from(db, row, r.number.as_deref()).await?)
}
