//! One database per test: a fresh PostgreSQL schema, or a SQLite file in a temp dir.

use sea_orm::ConnectionTrait;
use waplify_shared::db::{self, Db};

pub struct TestDb {
    /// What to give the code under test as `DATABASE_URL`.
    pub url: String,
    pub db: Db,
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn is_postgres() -> bool {
        std::env::var("TEST_DATABASE")
            .map(|v| v != "sqlite")
            .unwrap_or(true)
    }

    pub fn postgres_url() -> String {
        std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
    }

    /// A migrated, empty database.
    pub async fn new() -> TestDb {
        let t = TestDb::empty().await;
        db::migrate(&t.db).await.expect("migrations apply");
        t
    }

    /// A database with no tables at all.
    pub async fn empty() -> TestDb {
        if TestDb::is_postgres() {
            let admin_url = TestDb::postgres_url();
            let admin = db::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("PostgreSQL is required for these tests (TEST_DATABASE=postgres): {e}")
            });
            let schema = format!("t_{}", ulid::Ulid::generate().to_string().to_lowercase());
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create test schema");
            let _ = admin.close().await;
            let sep = if admin_url.contains('?') { '&' } else { '?' };
            let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
            let db = db::connect(&url).await.expect("connect to test schema");
            TestDb {
                url,
                db,
                schema: Some((admin_url, schema)),
                _dir: None,
            }
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            let db = db::connect(&url).await.expect("open sqlite");
            TestDb {
                url,
                db,
                schema: None,
                _dir: Some(dir),
            }
        }
    }
}

impl TestDb {
    /// The first column of the first row of `sql`, for assertions.
    pub async fn scalar<T: sea_orm::TryGetable>(&self, sql: &str) -> T {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{sql}: no row"));
        row.try_get_by_index::<T>(0)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Asserts that the per-status counts stats read agree with the messages.
    pub async fn assert_counts_consistent(&self) {
        let read = |sql: &'static str| async move {
            let rows = self
                .db
                .query_all_raw(sea_orm::Statement::from_string(
                    self.db.get_database_backend(),
                    sql,
                ))
                .await
                .expect(sql);
            rows.into_iter()
                .map(|r| {
                    let key: (String, String) = (
                        r.try_get_by_index(0).unwrap(),
                        r.try_get_by_index(1).unwrap(),
                    );
                    (key, r.try_get_by_index::<i64>(2).unwrap())
                })
                .filter(|(_, n)| *n != 0)
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let counted = read(
            "SELECT campaign_id, status, CAST(SUM(n) AS BIGINT) FROM message_counts \
             WHERE status NOT IN ('replied', 'clicked') GROUP BY campaign_id, status",
        )
        .await;
        let actual =
            // Test messages are no recipients: never counted.
            read("SELECT campaign_id, status, COUNT(*) FROM messages WHERE NOT test GROUP BY campaign_id, status")
                .await;
        assert_eq!(counted, actual, "message_counts disagree with messages");
        let marks = read(
            "SELECT campaign_id, status, CAST(SUM(n) AS BIGINT) FROM message_counts \
             WHERE status IN ('replied', 'clicked') GROUP BY campaign_id, status",
        )
        .await;
        let marked = read(
            "SELECT campaign_id, 'replied', COUNT(*) FROM messages WHERE replied_at IS NOT NULL AND NOT test GROUP BY campaign_id \
             UNION ALL \
             SELECT campaign_id, 'clicked', COUNT(*) FROM messages WHERE clicked_at IS NOT NULL AND NOT test GROUP BY campaign_id",
        )
        .await;
        assert_eq!(
            marks, marked,
            "reply and click counts disagree with messages"
        );
    }

    /// Runs a statement, for tests that set up a state no API call makes.
    pub async fn execute(&self, sql: &str) {
        self.db
            .execute_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Rows per table, to show that a rejected request changed nothing.
    pub async fn row_counts(&self) -> std::collections::BTreeMap<&'static str, i64> {
        let mut out = std::collections::BTreeMap::new();
        for table in db::TABLES {
            out.insert(
                table,
                self.scalar::<i64>(&format!("SELECT COUNT(*) FROM {table}"))
                    .await,
            );
        }
        out
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, schema)) = self.schema.take() {
            // Drop runs outside async; a short-lived runtime on its own thread does it.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(admin) = db::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                                ))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
