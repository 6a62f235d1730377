//! Fresh, empty databases for the store suite: a SQLite file in a scratch directory, or a uniquely
//! named database (`muster_test_<pid>_<n>`) on the PostgreSQL server at `MUSTER_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`). Each is removed when dropped (best
//! effort). An unreachable PostgreSQL server fails the test: CI provides one.

#![allow(dead_code, reason = "Not every test binary uses every helper.")]

use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use muster_store::{DEFAULT_MAX_CONNECTIONS, Store};
use sqlx::{AnyConnection, Connection};

/// The server the PostgreSQL half of the suite uses unless `MUSTER_TEST_POSTGRES` names another.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Which database a [`TestDb`] is, and how to remove it.
enum Place {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

/// A fresh database and a store opened on it.
pub struct TestDb {
    /// The store, migrated.
    pub store: Store,
    /// The database's URL (for reopening it, or for raw SQL).
    pub url: String,
    place: Place,
}

impl TestDb {
    /// A store on a new SQLite file, opened the way `muster serve --data-dir` opens it.
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!(
            "muster-store-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_data_dir_with(&dir, DEFAULT_MAX_CONNECTIONS)
            .await
            .expect("open a SQLite store in a fresh data dir");
        let url = format!("sqlite://{}?mode=rwc", dir.join("muster.db").display());
        TestDb { store, url, place: Place::Sqlite { dir } }
    }

    /// A store on a new database of the test PostgreSQL server.
    pub async fn postgres() -> TestDb {
        sqlx::any::install_default_drivers();
        let admin_url = std::env::var("MUSTER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let name = format!("muster_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut admin = admin_connection(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut admin)
            .await
            .expect("drop a leftover test database");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name} on {}: {e}", redact(&admin_url)));
        let _ = admin.close().await;
        let url = database_url(&admin_url, &name);
        // Few connections per test database: many tests run at once against one server.
        let store = Store::connect_with(&url, 5).await.expect("open a PostgreSQL store on a fresh database");
        TestDb { store, url, place: Place::Postgres { admin_url, name } }
    }

    /// Opens another store on the same database (as a restarted host would).
    pub async fn reopen(&self) -> Store {
        match &self.place {
            Place::Sqlite { dir } => {
                Store::open_data_dir_with(dir, DEFAULT_MAX_CONNECTIONS).await.expect("reopen the SQLite store")
            }
            Place::Postgres { .. } => Store::connect_with(&self.url, 5).await.expect("reopen the PostgreSQL store"),
        }
    }

    /// A plain connection to the database, bypassing the store (for raw SQL).
    pub async fn raw(&self) -> AnyConnection {
        sqlx::any::install_default_drivers();
        AnyConnection::connect(&self.url).await.expect("raw connection to the test database")
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.place {
            Place::Sqlite { .. } => "sqlite",
            Place::Postgres { .. } => "postgres",
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.place {
            Place::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Postgres { admin_url, name } => {
                // Dropping runs inside the test's runtime, which cannot block on a future: drop the
                // database from a thread with a runtime of its own. `WITH (FORCE)` ends the store's
                // pooled connections.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let mut admin = AnyConnection::connect(&admin_url).await.ok()?;
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let done = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.ok();
                        let _ = admin.close().await;
                        done
                    })
                });
                let _ = dropped.join();
            }
        }
    }
}

/// A connection to the server's maintenance database; panics with a clear message if the server
/// cannot be reached.
async fn admin_connection(admin_url: &str) -> AnyConnection {
    let connecting = tokio::time::timeout(Duration::from_secs(15), AnyConnection::connect(admin_url)).await;
    match connecting {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => panic!(
            "PostgreSQL is not reachable at {} ({e}). The store suite runs against a real server: start one \
             (CI does) or point MUSTER_TEST_POSTGRES at one.",
            redact(admin_url)
        ),
        Err(_) => panic!(
            "PostgreSQL at {} did not answer within 15 s. The store suite runs against a real server: start one \
             (CI does) or point MUSTER_TEST_POSTGRES at one.",
            redact(admin_url)
        ),
    }
}

/// `admin_url` with its database replaced by `name` (query parameters kept).
fn database_url(admin_url: &str, name: &str) -> String {
    let (main, query) = match admin_url.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let authority_end = main[authority_start..].find('/').map_or(main.len(), |i| authority_start + i);
    let mut url = format!("{}/{name}", &main[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The URL without a password, for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{}{user}:***@{host}{}", &url[..scheme_end], &rest[authority.len()..])
        }
        _ => url.to_owned(),
    }
}
