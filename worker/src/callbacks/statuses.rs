//! The statuses of one callback body, a few per transaction. A status that cannot be
//! applied (input the database refuses, a row a trigger protects) sinks its chunk's
//! transaction, so the chunk is then applied one status per transaction: the bad one
//! fails alone, counted, and every other status lands.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use waplify_shared::db::{begin_write, is_transient, is_unavailable};
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::sending::refund;
use waplify_shared::status::MessageStatus;
use waplify_shared::transition::{self, Report, Senders, Settled};

use super::summary::Applied;
use crate::runtime::context::Ctx;

/// Statuses applied per transaction: a body holds up to hundreds, and one transaction
/// for all of them held its row and count locks against every send and callback of the
/// same campaigns for its whole length. Each status is a compare-and-set, so a body
/// applied again after a partial run changes only what is left.
const CHUNK: usize = 25;

/// What applying the statuses did.
#[derive(Default)]
pub struct Run {
    /// Campaigns that may now be complete.
    pub touched: BTreeSet<CampaignId>,
    /// Why the last status that failed on its own failed (poison).
    pub last_error: Option<DbErr>,
    /// A status that failed on its own for the moment's reason (a deadlock): the
    /// callback runs again, and this is not held against it.
    pub transient: Option<DbErr>,
}

/// Applies every status; `out` counts what landed and what failed. An error is
/// returned only when the database cannot be reached. A chunk that fails otherwise
/// is applied one status per transaction; a status that then fails for the moment's
/// reason (`db::is_transient`: a deadlock, a busy database) leaves the callback for
/// another run, uncounted; one that fails for another reason is poison.
pub async fn apply_all(
    ctx: &Ctx,
    reports: &[Report],
    senders: &mut Senders,
    out: &mut Applied,
    now: DateTime<Utc>,
) -> Result<Run, DbErr> {
    let mut run = Run::default();
    for chunk in reports.chunks(CHUNK) {
        match in_txn(ctx, chunk, senders, now).await {
            Ok((moved, counts)) => {
                out.add(&counts);
                run.touched.extend(moved);
            }
            Err(e) if is_unavailable(&e) => return Err(e),
            Err(_) => {
                for one in chunk {
                    match in_txn(ctx, std::slice::from_ref(one), senders, now).await {
                        Ok((moved, counts)) => {
                            out.add(&counts);
                            run.touched.extend(moved);
                        }
                        Err(e) if is_unavailable(&e) => return Err(e),
                        Err(e) if is_transient(&e) => run.transient = Some(e),
                        Err(e) => {
                            tracing::warn!(wamid = %one.wamid, "a WhatsApp status could not be applied: {e}");
                            out.failed += 1;
                            run.last_error = Some(e);
                        }
                    }
                }
            }
        }
    }
    Ok(run)
}

/// Some statuses in one transaction, with the refund of late failures.
async fn in_txn(
    ctx: &Ctx,
    reports: &[Report],
    senders: &mut Senders,
    now: DateTime<Utc>,
) -> Result<(BTreeSet<CampaignId>, Applied), DbErr> {
    let mut counts = Applied::default();
    let txn = begin_write(&ctx.db).await?;
    let (moved, failed_tests) = statuses(&txn, reports, senders, &mut counts, now).await?;
    // A failure reported after its campaign was settled is refunded with the move;
    // then failed test messages, whose refund locks only the balance (`locks`).
    refund::refund_settled_all(&txn, &moved, now).await?;
    transition::refund_failed_tests(&txn, &failed_tests, now).await?;
    txn.commit().await?;
    Ok((moved, counts))
}

/// Applies some statuses. Returns the campaigns that may now be complete, and the test
/// messages that failed.
async fn statuses<C: ConnectionTrait>(
    txn: &C,
    reports: &[Report],
    senders: &mut Senders,
    out: &mut Applied,
    now: DateTime<Utc>,
) -> Result<(BTreeSet<CampaignId>, Vec<MessageId>), DbErr> {
    let mut touched = BTreeSet::new();
    let applied = transition::reported(txn, reports, senders, now).await?;
    for (report, settled) in reports.iter().zip(applied.settled) {
        match settled {
            Settled::Moved { campaign_id, from } => {
                out.moved += 1;
                if matches!(from, MessageStatus::Pending | MessageStatus::Sending)
                    || report.to == MessageStatus::Failed
                {
                    touched.insert(campaign_id);
                }
            }
            Settled::Unchanged => out.unchanged += 1,
            Settled::Unknown => out.unknown += 1,
            Settled::Foreign => {
                out.foreign += 1;
                tracing::warn!(wamid = %report.wamid, number = ?report.number, "a status for another number's message ignored");
            }
        }
    }
    Ok((touched, applied.failed_tests))
}
