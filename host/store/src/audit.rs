//! The audit log: appended in the transaction of each change, read with filters, never updated or
//! deleted (the database's triggers reject both).

use std::borrow::Cow;

use serde_json::Value;
use sqlx::AnyConnection;

use super::{
    Audit, Result, Store, StoreError,
    model::{AuditEvent, Millis},
    no_tenant,
    rows::{self, Arg, Dynamic, audit_columns, escape_like, values_placeholders},
    scim_activity,
};

/// Which audit events [`Store::list_audit`] returns: those of `tenant_id` matching every filter
/// given, ascending by `seq`, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The tenant.
    pub tenant_id: String,
    /// An exact action (`module.activated`) or, ending in a dot, a prefix (`module.`).
    pub action: Option<String>,
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Exactly this target.
    pub target: Option<String>,
    /// At or after this time.
    pub since: Option<Millis>,
    /// Before this time.
    pub until: Option<Millis>,
    /// Cursor: only events with a greater `seq`.
    pub after_seq: Option<i64>,
    /// At most this many events (negative counts as zero).
    pub limit: i64,
}

/// An audit event a caller adds to a store write, appended in the same transaction (e.g. the SCIM
/// service's `scim.user.updated` with the attributes a request changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// What: `scim.user.updated`, …
    pub action: String,
    /// What it was done to (a user id, …).
    pub target: String,
    /// Details, a JSON object (never a secret or a secret's hash).
    pub details: Value,
}

/// An audit event about to be appended.
pub(super) struct Event {
    /// `module.uploaded`, …
    pub action: Cow<'static, str>,
    /// What it was done to.
    pub target: String,
    /// Details, a JSON object (never a secret or a secret's hash).
    pub details: Value,
}

impl Event {
    /// An event.
    pub(super) fn new(action: &'static str, target: impl Into<String>, details: Value) -> Self {
        Self { action: Cow::Borrowed(action), target: target.into(), details }
    }
}

impl From<AuditNote> for Event {
    fn from(note: AuditNote) -> Self {
        Self { action: Cow::Owned(note.action), target: note.target, details: note.details }
    }
}

/// Audit rows one `INSERT` writes at most (8 parameters each).
const INSERT_CHUNK: usize = 100;

/// Appends `events`, in order, to `tenant`'s log, returning the last `seq`.
///
/// Bumps the tenant's counter first: on PostgreSQL that locks the tenant's row until commit, so
/// call it as late in the transaction as possible (unless the transaction locked the tenant
/// already, see `WriteTx::lock_tenant`).
pub(super) async fn append(conn: &mut AnyConnection, tenant: &str, audit: &Audit, events: Vec<Event>) -> Result<i64> {
    append_all(conn, tenant, events.into_iter().map(|event| (audit, event)).collect()).await
}

/// [`append`] for events of several changes (a batch of decisions), each with its own [`Audit`]:
/// one counter bump for them all, seqs in the order given.
pub(super) async fn append_all(conn: &mut AnyConnection, tenant: &str, events: Vec<(&Audit, Event)>) -> Result<i64> {
    let count = i64::try_from(events.len()).map_err(|_| StoreError::Invalid("too many audit events".into()))?;
    let row = sqlx::query("UPDATE tenants SET audit_seq = audit_seq + $1 WHERE id = $2 RETURNING audit_seq")
        .bind(count)
        .bind(tenant)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| no_tenant(tenant))?;
    let last: i64 = rows::get(&row, "audit_seq")?;
    let entries = events.iter().map(|(audit, event)| (audit.at, event.action.as_ref(), &event.details));
    scim_activity::count(conn, tenant, entries).await?;
    let mut seqs = last - count + 1..;
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<_> = events.by_ref().take(INSERT_CHUNK).collect();
        let mut sql =
            String::from("INSERT INTO audit_events (tenant_id, seq, id, at, actor, action, target, details) VALUES ");
        sql.push_str(&values_placeholders(chunk.len(), 8));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((audit, event), seq) in chunk.into_iter().zip(seqs.by_ref()) {
            query = query
                .bind(tenant)
                .bind(seq)
                .bind(crate::ids::random_id(16))
                .bind(audit.at)
                .bind(audit.actor.as_str())
                .bind(event.action.into_owned())
                .bind(event.target)
                .bind(event.details.to_string());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(last)
}

impl Store {
    /// The tenant's audit events matching `filter`, ascending by `seq`.
    pub async fn list_audit(&self, filter: AuditFilter) -> Result<Vec<AuditEvent>> {
        let mut query = Dynamic::new(concat!("SELECT ", audit_columns!(), " FROM audit_events WHERE tenant_id = "));
        let tenant = query.bind(Arg::Text(filter.tenant_id));
        query.push(&tenant);
        if let Some(action) = filter.action {
            if action.ends_with('.') {
                let pattern = query.bind(Arg::Text(format!("{}%", escape_like(&action))));
                query.push(&format!(" AND action LIKE {pattern} ESCAPE '\\'"));
            } else {
                let action = query.bind(Arg::Text(action));
                query.push(&format!(" AND action = {action}"));
            }
        }
        if let Some(actor) = filter.actor {
            let actor = query.bind(Arg::Text(actor));
            query.push(&format!(" AND actor = {actor}"));
        }
        if let Some(target) = filter.target {
            let target = query.bind(Arg::Text(target));
            query.push(&format!(" AND target = {target}"));
        }
        if let Some(since) = filter.since {
            let since = query.bind(Arg::Int(since));
            query.push(&format!(" AND at >= {since}"));
        }
        if let Some(until) = filter.until {
            let until = query.bind(Arg::Int(until));
            query.push(&format!(" AND at < {until}"));
        }
        if let Some(after) = filter.after_seq {
            let after = query.bind(Arg::Int(after));
            query.push(&format!(" AND seq > {after}"));
        }
        let limit = query.bind(Arg::Int(filter.limit.max(0)));
        query.push(&format!(" ORDER BY seq LIMIT {limit}"));
        rows::all(&query.fetch_all(&self.pool).await?, rows::audit_event)
    }
}
