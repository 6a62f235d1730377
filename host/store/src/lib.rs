//! Storage behind one interface: an embedded SQLite file by default, PostgreSQL for several hosts
//! sharing one database.
//!
//! Every query is written once, with `$1, $2, …` placeholders, and runs on both backends through
//! sqlx's `Any` driver; only the migrations differ (`host/store/migrations/sqlite`, `…/postgres`), and
//! only where the dialects must.
//!
//! Guarantees the rest of the host relies on:
//! - **Tenant isolation**: every method that takes a tenant id scopes every query by it, so a wrong
//!   tenant id gives `None` / [`StoreError::NotFound`], never another tenant's row.
//! - **Audited writes**: every mutating method takes an [`Audit`] and appends its audit event(s) in
//!   the same transaction as the change, so either both happen or neither does.
//! - **Audit order**: an event's `seq` comes from a counter on the tenant's row, bumped in the
//!   writing transaction; the row lock that takes is held until commit, so sequence numbers are
//!   strictly increasing, never duplicated, and committed in order.
//! - **No lock-out**: a tenant's last unrevoked admin key cannot be revoked
//!   ([`StoreError::Conflict`]), checked under the tenant's row lock in the revoking transaction.
//! - **Append-only audit log**: no method updates or deletes an audit row, and triggers in the
//!   database reject any `UPDATE` or `DELETE` on it.
//!
//! SQLite has one writer at a time: write transactions start with `BEGIN IMMEDIATE` and are
//! serialised in-process first, so they queue on a mutex rather than spin on the busy timeout.
//! Concurrent `apply_decision` calls are group-committed (`group_commit`): one transaction applies
//! a batch of them in order, each caller answered only after the commit; a decision that fails
//! fails alone (the checks refuse it before it writes anything; a failed write rolls the batch
//! back and each decision is applied again in a transaction of its own). The batch's audit events
//! take their seqs with one counter bump per tenant, in the order the decisions were applied.
//!
//! PostgreSQL lock order, which keeps concurrent writers from deadlocking: administrative writes
//! (keys, organizations, realms, modules, SCIM credentials) lock the tenant's row *first*
//! (`WriteTx::lock_tenant`) and only then touch realm, key, module or credential rows; they never
//! touch users. Every write that touches users takes the tenant's row *last*, with the
//! audit-sequence bump, so it holds that lock only for the moment before commit, and before that
//! locks rows in this order: a SCIM group's row, then users (in id order), then whatever hangs off
//! them (memberships, sessions, provider groups in name order, decisions). `apply_decision`, the hot
//! path, is one of them (one user, no SCIM group); so are the SCIM group writes, deactivation
//! (which revokes the user's sessions) and deletion.
//!
//! Users' SCIM side: user names are unique per realm ignoring case; a user's `version` counts the
//! writes of its row (the SCIM ETag) and a write may require the version it read
//! ([`StoreError::VersionMismatch`]). A deactivated user keeps its stored SCIM group memberships and
//! provider-group list, suspended: every read of memberships (a group's members, a user's groups,
//! reports) leaves deactivated users out, so reactivation restores them exactly.

mod apply;
mod audit;
mod batch_view;
mod decisions;
mod deprovision;
mod group_commit;
pub mod ids;
pub mod model;
mod modules;
mod quotas;
mod reports;
mod rows;
mod schema;
mod scim_activity;
mod scim_credentials;
mod scim_groups;
mod sessions;
mod tenants;
mod users;
mod writes;

use std::{path::Path, sync::Arc, time::Duration};

use group_commit::Writer;
use sqlx::{
    Any, AnyConnection, AnyPool, Connection, Transaction,
    any::{AnyPoolOptions, install_default_drivers},
    pool::PoolConnectionMetadata,
};
use tokio::sync::OwnedMutexGuard;

pub use apply::ApplyDecision;
pub use audit::{AuditFilter, AuditNote};
pub use decisions::{DecisionFilter, ShadowDay, ShadowSummary};
pub use deprovision::Deactivation;
pub use model::*;
pub use modules::{AutomaticRollback, FailingVersion, NewModuleVersion};
pub use quotas::{ModuleQuotas, QuotaExceeded};
pub use reports::{GroupMembershipsReport, OrganizationMembers, RuleGroupMembers, ScimGroupMembers};
pub use scim_activity::{SCIM_REQUEST, ScimActivity, ScimRequestSummary};
pub use scim_groups::{MembersChange, MembershipChange, ScimGroupChange, ScimGroupChanged};
pub use tenants::RealmChange;
pub use users::{LoginUsers, UserPage, UserSearch};

/// What the store's methods return.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing named does not exist (in this tenant).
    #[error("{0}")]
    NotFound(String),
    /// The change collides with existing data (a unique key, or a state that forbids it); the
    /// message names what collided.
    #[error("{0}")]
    Conflict(String),
    /// The write required a version of the record (SCIM `If-Match`) other than the stored one.
    #[error("{what} is at version {actual}, not {expected}")]
    VersionMismatch {
        /// The record (`user u1`, `SCIM group g1`).
        what: String,
        /// The version the caller required.
        expected: i64,
        /// The stored version.
        actual: i64,
    },
    /// The caller passed something the store refuses (inconsistent ids, a digest that does not
    /// match the bytes, …): a bug of the caller, not a state of the data.
    #[error("invalid request to the store: {0}")]
    Invalid(String),
    /// The database failed or refused the query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Running the migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A decision names organizations the tenant does not have (and its realm does not create
    /// them on first use): nothing was written.
    #[error("no organization {}: create it first, or let the realm create organizations on first use", .0.join(", "))]
    UnknownOrganizations(Vec<String>),
    /// Storing a module version would exceed one of its tenant's quotas; nothing was stored.
    #[error(transparent)]
    QuotaExceeded(#[from] QuotaExceeded),
}

/// Who makes a change and when: recorded on the audit event(s) the change appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// A key id, `operator` or `system`.
    pub actor: String,
    /// When, in Unix milliseconds.
    pub at: Millis,
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The usual `max_connections` of [`Store::connect_with`] and [`Store::open_data_dir_with`]: the
/// host's pool size unless configured otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long SQLite waits for another process's write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection SQLite settings: WAL is set once on the file (see [`Store::connect_with`]);
/// `synchronous=NORMAL` in WAL mode loses nothing committed when the process is killed.
const SQLITE_PRAGMAS: &[&str] =
    &["PRAGMA synchronous = NORMAL", "PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON"];

/// The store: a pool of connections to SQLite or PostgreSQL. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: one writer at a time, in this process, and the decisions queued for it.
    writer: Option<Arc<Writer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://<path>` or `postgres://…`) with at most
    /// `max_connections` pooled connections (at least one), and brings its schema up to date. A
    /// SQLite file is created if missing (`mode=rwc` is added unless the URL names a mode);
    /// in-memory SQLite is not supported (each pooled connection would see its own).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Store> {
        install_default_drivers();
        let max_connections = max_connections.max(1);
        if url.starts_with("sqlite:") {
            let url = sqlite_url_with_mode(url);
            // WAL is a property of the file: set it, and migrate, on one connection before the
            // pool opens more (changing the journal mode needs a lock the busy timeout cannot wait
            // for).
            let mut conn = AnyConnection::connect(&url).await?;
            sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut conn).await?;
            sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await?;
            schema::sqlite().run(&mut conn).await?;
            conn.close().await?;
            let pool = AnyPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(SQLITE_BUSY_TIMEOUT + Duration::from_secs(20))
                .after_connect(|conn: &mut AnyConnection, _: PoolConnectionMetadata| {
                    Box::pin(async move {
                        for pragma in SQLITE_PRAGMAS {
                            sqlx::query(*pragma).execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                })
                .connect(&url)
                .await?;
            Ok(Store { pool, backend: Backend::Sqlite, writer: Some(Arc::new(Writer::new())) })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new().max_connections(max_connections).connect(url).await?;
            // The migrator takes an advisory lock: hosts starting together migrate once.
            schema::postgres().run(&pool).await?;
            Ok(Store { pool, backend: Backend::Postgres, writer: None })
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::Invalid(format!(
                "unsupported database URL scheme {scheme:?}: use sqlite://<path> or postgres://…"
            )))
        }
    }

    /// Opens (creating it if needed) the embedded SQLite store `muster.db` in `dir`, creating
    /// `dir` too, with at most `max_connections` pooled connections: [`Store::connect_with`] on
    /// that file.
    pub async fn open_data_dir_with(dir: &Path, max_connections: u32) -> Result<Store> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Invalid(format!("cannot create data directory {}: {e}", dir.display())))?;
        let path = std::path::absolute(dir.join("muster.db"))
            .map_err(|e| StoreError::Invalid(format!("cannot resolve {}: {e}", dir.display())))?;
        let path = path
            .to_str()
            .ok_or_else(|| StoreError::Invalid(format!("data directory {} is not valid UTF-8", dir.display())))?;
        Self::connect_with(&format!("sqlite://{}?mode=rwc", percent_encode_path(path)), max_connections).await
    }

    /// Which database this is: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Asks the database the simplest question (`SELECT 1`): whether it answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every pooled connection, waiting for those in use to come back (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction: on SQLite, after taking this process's writer turn, with
    /// `BEGIN IMMEDIATE` so the write lock is taken up front rather than on the first write.
    async fn write(&self) -> Result<WriteTx> {
        let turn = match &self.writer {
            Some(writer) => Some(writer.turn().await),
            None => None,
        };
        self.begin(turn).await
    }

    /// Starts a write transaction holding `turn` until it ends; `None` on PostgreSQL, or on SQLite
    /// for a caller that holds the writer turn itself (a group commit).
    async fn begin(&self, turn: Option<OwnedMutexGuard<()>>) -> Result<WriteTx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, backend: self.backend, _turn: turn })
    }
}

/// A write transaction; dropped without [`WriteTx::commit`], it rolls back.
struct WriteTx {
    // Declared before the writer turn: dropped (rolled back) before the turn is released.
    tx: Transaction<'static, Any>,
    backend: Backend,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The connection to run statements on.
    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Takes the tenant's row lock for the rest of the transaction (serialising the tenant's
    /// audited writes from here on, as the audit-sequence bump would from its point on); `NotFound`
    /// if there is no such tenant.
    async fn lock_tenant(&mut self, tenant: &str) -> Result<()> {
        // `FOR NO KEY UPDATE` conflicts with the audit-sequence bump (an UPDATE of a non-key
        // column) but not with the key-share locks foreign-key checks take, so it cannot deadlock
        // with a transaction inserting a row that references the tenant. SQLite has one writer.
        let sql = match self.backend {
            Backend::Postgres => "SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
            Backend::Sqlite => "SELECT id FROM tenants WHERE id = $1",
        };
        match sqlx::query(sql).bind(tenant).fetch_optional(self.conn()).await? {
            Some(_) => Ok(()),
            None => Err(no_tenant(tenant)),
        }
    }

    /// `sql` on PostgreSQL, `sqlite` on SQLite: for the statements whose PostgreSQL form locks the
    /// rows it reads (`… FOR NO KEY UPDATE`), which SQLite, with one writer, neither needs nor parses.
    fn pick(&self, postgres: &'static str, sqlite: &'static str) -> &'static str {
        match self.backend {
            Backend::Postgres => postgres,
            Backend::Sqlite => sqlite,
        }
    }

    /// Commits.
    async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// `NotFound` for a missing tenant.
fn no_tenant(tenant: &str) -> StoreError {
    StoreError::NotFound(format!("no tenant {tenant:?}"))
}

/// `NotFound` for a missing realm.
fn no_realm(tenant: &str, realm: &str) -> StoreError {
    StoreError::NotFound(format!("no realm {realm:?} in tenant {tenant:?}"))
}

/// Maps a failed write: a unique violation to `Conflict(conflict())`, a foreign-key violation to
/// `NotFound(missing())`, anything else to `Database`.
fn write_error(error: sqlx::Error, conflict: impl FnOnce() -> String, missing: impl FnOnce() -> String) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(conflict()),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound(missing()),
        _ => StoreError::Database(error),
    }
}

/// Adds `mode=rwc` (create if missing) to a SQLite URL that names no mode.
fn sqlite_url_with_mode(url: &str) -> String {
    let query = url.split_once('?').map(|(_, query)| query).unwrap_or_default();
    if query.split('&').any(|pair| pair.starts_with("mode=")) {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Percent-encodes a file path for a `sqlite://` URL (which sqlx percent-decodes).
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_a_create_mode_unless_they_name_one() {
        assert_eq!(sqlite_url_with_mode("sqlite:///a/b.db"), "sqlite:///a/b.db?mode=rwc");
        assert_eq!(sqlite_url_with_mode("sqlite:///a/b.db?cache=shared"), "sqlite:///a/b.db?cache=shared&mode=rwc");
        assert_eq!(sqlite_url_with_mode("sqlite:///a/b.db?mode=ro"), "sqlite:///a/b.db?mode=ro");
    }

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(percent_encode_path("/tmp/a b?#%/m.db"), "/tmp/a%20b%3F%23%25/m.db");
    }

    /// Every pooled SQLite connection runs in WAL mode with `synchronous=NORMAL`, a busy timeout
    /// and foreign keys on; a data dir whose path needs percent-encoding works.
    #[tokio::test]
    async fn sqlite_connections_are_configured() {
        let dir = std::env::temp_dir().join(format!("muster store unit {}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_data_dir_with(&dir.join("data #1"), DEFAULT_MAX_CONNECTIONS).await.expect("open");
        assert_eq!(store.backend(), "sqlite");
        let mut conn = store.pool.acquire().await.expect("connection");
        let pragma = |name: &'static str| sqlx::query(name);
        let text = |row: sqlx::any::AnyRow| -> String { sqlx::Row::get(&row, 0) };
        let int = |row: sqlx::any::AnyRow| -> i64 { sqlx::Row::get(&row, 0) };
        assert_eq!(text(pragma("PRAGMA journal_mode").fetch_one(&mut *conn).await.expect("journal_mode")), "wal");
        assert_eq!(int(pragma("PRAGMA synchronous").fetch_one(&mut *conn).await.expect("synchronous")), 1, "NORMAL");
        assert!(int(pragma("PRAGMA busy_timeout").fetch_one(&mut *conn).await.expect("busy_timeout")) >= 5000);
        assert_eq!(int(pragma("PRAGMA foreign_keys").fetch_one(&mut *conn).await.expect("foreign_keys")), 1);
        drop(conn);
        store.close().await;
        assert!(dir.join("data #1").join("muster.db").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
