//! What a chaos run watches while it runs: every customer webhook (by its
//! `webhook-id`, so a delivery made twice shows), and each campaign's progress, read
//! from PostgreSQL directly (not through the proxy the run cuts) once a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Route, Server, handler, post};
use sea_orm::{ConnectionTrait, Statement};

use waplify_shared::db::Db;

/// Webhook requests, counted by `webhook-id`.
#[derive(Clone, Default)]
pub struct Webhooks(Arc<Mutex<HashMap<String, u32>>>);

impl Webhooks {
    /// Serves on a free local port; returns the URL to register.
    pub async fn serve(&self) -> String {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("webhook receiver");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("a socket address");
        let app = Route::new().at("/hooks", post(receive)).data(self.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        format!("http://{addr}/hooks")
    }

    /// (distinct ids, requests in all).
    pub fn counts(&self) -> (u64, u64) {
        let seen = self.0.lock().unwrap();
        (
            seen.len() as u64,
            seen.values().map(|&n| u64::from(n)).sum(),
        )
    }
}

#[handler]
fn receive(req: &Request, seen: Data<&Webhooks>) -> &'static str {
    let id = req.header("webhook-id").unwrap_or("(none)").to_owned();
    *seen.0.0.lock().unwrap().entry(id).or_default() += 1;
    "ok"
}

/// The longest stretch any unfinished campaign went without a recipient settling.
#[derive(Clone, Default)]
pub struct Progress(Arc<Mutex<ProgressState>>);

#[derive(Default)]
struct ProgressState {
    /// campaign -> (settled recipients, when that last changed)
    last: HashMap<String, (i64, Instant)>,
    longest: Duration,
    longest_campaign: String,
    /// A sample could not be read (counted, not fatal).
    failed_samples: u64,
}

impl Progress {
    /// Samples once a second until dropped; `totals` maps each campaign to its size.
    pub fn start(&self, db: Db, totals: HashMap<String, i64>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let started = Instant::now();
        {
            let mut s = me.0.lock().unwrap();
            for id in totals.keys() {
                s.last.insert(id.clone(), (0, started));
            }
        }
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match settled(&db).await {
                    Ok(now) => me.sample(&totals, &now),
                    Err(_) => me.0.lock().unwrap().failed_samples += 1,
                }
            }
        })
    }

    fn sample(&self, totals: &HashMap<String, i64>, settled: &HashMap<String, i64>) {
        let now = Instant::now();
        let mut s = self.0.lock().unwrap();
        for (id, &total) in totals {
            let value = settled.get(id).copied().unwrap_or(0);
            let (last, since) = s.last[id];
            if last >= total {
                continue;
            }
            let idle = now - since;
            if idle > s.longest {
                s.longest = idle;
                s.longest_campaign = id.clone();
            }
            if value != last {
                s.last.insert(id.clone(), (value, now));
            }
        }
    }

    /// (longest stall, its campaign, samples that could not be read).
    pub fn longest(&self) -> (Duration, String, u64) {
        let s = self.0.lock().unwrap();
        (s.longest, s.longest_campaign.clone(), s.failed_samples)
    }
}

/// Recipients out of `pending` and `sending`, per campaign.
async fn settled(db: &Db) -> Result<HashMap<String, i64>, sea_orm::DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT campaign_id, CAST(SUM(n) AS BIGINT) FROM message_counts \
             WHERE status NOT IN ('pending', 'sending') GROUP BY campaign_id",
        ))
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}
