//! Transactions that move several messages take their row locks in one order (message
//! id), whatever order their statuses come in: a callback whose statuses are in wamid
//! order and a record holding one of its messages then wait for each other instead of
//! deadlocking. PostgreSQL only: SQLite has one writer at a time.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryOrder, Statement, TransactionTrait};
use waplify_shared::db::entities::message;
use waplify_shared::status::MessageStatus;
use waplify_shared::transition::{self, Report, Senders, Settled};
use waplify_tests::testdb::TestDb;
use waplify_tests::{seed, spawn_app};

#[tokio::test]
async fn a_callback_and_a_writer_holding_one_of_its_messages_do_not_deadlock() {
    if !TestDb::is_postgres() {
        return;
    }
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    let rows = message::Entity::find()
        .order_by_asc(message::Column::Id)
        .all(&app.tdb.db)
        .await
        .unwrap();
    let (low, high) = (rows[0].id.clone(), rows[1].id.clone());
    // WhatsApp's ids sort the other way round from ours.
    app.execute(&format!(
        "UPDATE messages SET status = 'sent', wamid = CASE id WHEN '{low}' THEN 'wamid.B' \
         ELSE 'wamid.A' END WHERE campaign_id = '{id}'"
    ))
    .await;
    let report = |wamid: &str| Report {
        wamid: wamid.to_owned(),
        to: MessageStatus::Delivered,
        at: Utc::now(),
        message_id: None,
        round: 0,
        number: Some(seed::SEEDED_NUMBER.to_owned()),
        recipient: None,
        error_code: None,
        error_message: None,
    };
    // The writer (as a record does) holds the lower id first.
    let writer = app.tdb.db.begin().await.unwrap();
    touch(&writer, &low).await.unwrap();
    let db = app.tdb.db.clone();
    let reports = vec![report("wamid.A"), report("wamid.B")];
    let callback = tokio::spawn(async move {
        let txn = db.begin().await?;
        let settled = transition::reported(&txn, &reports, &mut Senders::default(), Utc::now())
            .await?
            .settled;
        txn.commit().await?;
        Ok::<_, sea_orm::DbErr>(settled)
    });
    wait_for_a_lock_wait(&app.tdb.db).await;
    // Now the writer takes the higher id. A callback that had locked it on the way
    // (statuses in wamid order) would be waiting for the lower one: a deadlock, and
    // one of the two transactions rolled back.
    let second = touch(&writer, &high).await;
    let committed = match second {
        Ok(()) => writer.commit().await,
        Err(e) => Err(e),
    };
    let settled = callback.await.unwrap();
    assert!(committed.is_ok(), "the writer failed: {committed:?}");
    let settled = settled.expect("the callback failed");
    assert!(
        settled.iter().all(|s| matches!(
            s,
            Settled::Moved {
                from: MessageStatus::Sent,
                ..
            }
        )),
        "{settled:?}"
    );
    let delivered = app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM messages WHERE campaign_id = '{id}' AND status = 'delivered'"
        ))
        .await;
    assert_eq!(delivered, 2);
}

async fn touch<C: ConnectionTrait>(
    db: &C,
    id: &impl std::fmt::Display,
) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(&format!(
        "UPDATE messages SET updated_at = updated_at WHERE id = '{id}'"
    ))
    .await
    .map(|_| ())
}

/// Waits until some transaction of this database waits for a row lock.
async fn wait_for_a_lock_wait(db: &sea_orm::DatabaseConnection) {
    for _ in 0..600 {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get_by_index::<i64>(0).unwrap() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the callback never waited for the writer's lock");
}
