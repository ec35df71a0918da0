//! A message held for its status callback (its lease expired, or its outcome was
//! unknown) is sent again only once every callback received before its hold ended has
//! been applied: WhatsApp's `sent` status for it may be in that backlog.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use waplify_shared::clock::Clock;
use waplify_shared::db::entities::{message, whatsapp_callback};
use waplify_shared::ids::CampaignId;
use waplify_tests::client::phone;
use waplify_tests::whatsapp::stored_callback;
use waplify_tests::{seed, spawn_app};
use waplify_worker::send::claim;

#[tokio::test]
async fn a_held_message_waits_until_the_callbacks_before_its_hold_end_are_applied() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    app.execute(&format!(
        "UPDATE campaigns SET status = 'running' WHERE id = '{id}'"
    ))
    .await;
    // phone(0): held under a dead claim's token, its hold over a minute ago;
    // phone(1): an ordinary pending message.
    message::Entity::update_many()
        .col_expr(message::Column::Claim, Expr::value("dead/01"))
        .col_expr(
            message::Column::NextAttemptAt,
            Expr::value(Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(message::Column::Phone.eq(phone(0)))
        .exec(&app.tdb.db)
        .await
        .unwrap();
    let callback = stored_callback(&app.tdb.db, Utc::now() - chrono::Duration::minutes(2)).await;
    let campaign = CampaignId::parse(&id).unwrap();
    let claim = |name: &'static str| {
        let (db, campaign) = (app.tdb.db.clone(), campaign.clone());
        async move {
            let c = claim::batch(
                &db,
                &Clock::system(),
                name,
                &campaign,
                None,
                10,
                Duration::from_secs(30),
            )
            .await
            .unwrap();
            c.messages.into_iter().map(|m| m.phone).collect::<Vec<_>>()
        }
    };
    // A callback from before the hold ended is not applied yet: only the ordinary
    // message goes.
    assert_eq!(claim("first").await, vec![phone(1)]);
    // Callbacks received since the hold ended cannot be about the held call's
    // outcome sooner than those before it: once those are applied, it goes.
    whatsapp_callback::Entity::update_many()
        .col_expr(
            whatsapp_callback::Column::ReceivedAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(30)),
        )
        .filter(whatsapp_callback::Column::Id.eq(callback))
        .exec(&app.tdb.db)
        .await
        .unwrap();
    assert_eq!(claim("second").await, vec![phone(0)]);
}
