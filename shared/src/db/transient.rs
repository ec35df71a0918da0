//! Which database errors are the moment's, not the statement's: a connection lost or
//! refused, a deadlock or serialization failure, a lock or statement timeout, SQLite
//! busy. Running the same work again later can succeed; anything else (data the
//! database refuses, a constraint, a trigger) fails the same way every time.

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};

/// PostgreSQL SQLSTATEs worth running again: serialization failure, deadlock, lock
/// not available, query cancelled (statement timeout), admin or crash shutdown,
/// cannot connect now, too many connections.
const PG_TRANSIENT: [&str; 9] = [
    "40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300", "53400",
];

pub fn is_transient(e: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) =
        e
    else {
        return super::is_unavailable(e);
    };
    match inner.as_ref() {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // SQLite: BUSY and LOCKED, with their extended codes (`517`, `262`, …).
            let sqlite_busy = code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
            code.starts_with("08") || PG_TRANSIENT.contains(&code.as_ref()) || sqlite_busy
        }),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}
