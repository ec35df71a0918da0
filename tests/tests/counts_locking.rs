//! Message counts under concurrent transactions that each make several moves, in
//! opposite orders (a record: sent then retried; a claim and a callback): on
//! PostgreSQL none of them may deadlock, and every move is counted.

use std::time::Duration;

use waplify_shared::db::begin_write;
use waplify_shared::db::counts::{self, Tally};
use waplify_shared::ids::CampaignId;
use waplify_tests::{seed, spawn_app};

#[tokio::test]
async fn crossed_moves_in_concurrent_transactions_do_not_deadlock() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let campaign = CampaignId::parse(&app.create_campaign(&s.api_key, 1).await).unwrap();
    let db = app.tdb.db.clone();
    let mut tasks = Vec::new();
    for task in 0..16 {
        let (db, campaign) = (db.clone(), campaign.clone());
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            for _ in 0..40 {
                let (first, second) = if task % 2 == 0 {
                    (
                        [(Tally::Pending, -1), (Tally::Sending, 1)],
                        [(Tally::Sending, -1), (Tally::Sent, 1)],
                    )
                } else {
                    (
                        [(Tally::Sending, -1), (Tally::Sent, 1)],
                        [(Tally::Pending, -1), (Tally::Sending, 1)],
                    )
                };
                let result = async {
                    let txn = begin_write(&db).await?;
                    counts::adjust(&txn, &campaign, &first).await?;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    counts::adjust(&txn, &campaign, &second).await?;
                    txn.commit().await
                }
                .await;
                if let Err(e) = result {
                    failures.push(e.to_string());
                }
            }
            failures
        }));
    }
    let mut failures = Vec::new();
    for t in tasks {
        failures.extend(t.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} failed, first: {:?}",
        failures.len(),
        failures.first()
    );
    let totals = counts::of_campaign(&db, &campaign).await.unwrap();
    let get = |t: Tally| {
        totals
            .iter()
            .find(|(x, _)| *x == t)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    assert_eq!(
        (get(Tally::Pending), get(Tally::Sending), get(Tally::Sent)),
        (1 - 640, 0, 640)
    );
}
