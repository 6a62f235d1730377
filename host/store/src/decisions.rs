//! Decision records: written by `apply_decision` (applied) or [`Store::insert_decision`] (dry runs,
//! shadow evaluations), listed newest first, purged by the tenant's retention.

use sqlx::AnyConnection;

use super::{
    Result, Store, StoreError,
    model::{DecisionRecord, Millis},
    no_realm,
    rows::{self, Arg, Dynamic, decision_columns, to_json, values_placeholders},
    write_error,
};

/// Which decisions [`Store::list_decisions`] returns: those of `tenant_id` matching every filter
/// given, newest first (by `created_at`, then `id`), at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionFilter {
    /// The tenant.
    pub tenant_id: String,
    /// Only this realm's.
    pub realm_id: Option<String>,
    /// Only this user's.
    pub user_id: Option<String>,
    /// Only this trigger (`login`, …).
    pub trigger: Option<String>,
    /// Only shadow evaluations (`true`) or only the others (`false`).
    pub shadow: Option<bool>,
    /// Only applied decisions (`true`) or only the others (`false`).
    pub applied: Option<bool>,
    /// Only shadow decisions whose output differed from the live one (`true`) or did not (`false`).
    pub differs: Option<bool>,
    /// Only decisions whose rules failed (`true`) or only those that were made (`false`).
    pub failed: Option<bool>,
    /// Made at or after this time.
    pub since: Option<Millis>,
    /// Made before this time.
    pub until: Option<Millis>,
    /// Cursor: only decisions after (older than) this one, in the listing's order; the last id of
    /// the previous page. `NotFound` if the tenant has no such decision (e.g. it was purged).
    pub before_id: Option<String>,
    /// At most this many (negative counts as zero).
    pub limit: i64,
}

/// Shadow evaluations of one pair of candidate versions in a realm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShadowSummary {
    /// The user-rules version the shadow ran (the active one when only group rules were shadowed).
    pub user_rules_version: Option<i64>,
    /// The group-rules version the shadow ran.
    pub group_rules_version: Option<i64>,
    /// Shadow evaluations recorded (and not yet purged by retention).
    pub evaluated: i64,
    /// Of those, how many decided differently from the live evaluation.
    pub differing: i64,
    /// Of those, how many failed (the shadow's rules trapped, ran out of budget, …).
    pub failed: i64,
    /// When the latest was recorded.
    pub last_at: Millis,
    /// The same counts per UTC day, oldest first: only days with shadow evaluations.
    pub days: Vec<ShadowDay>,
}

/// One UTC day of a [`ShadowSummary`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShadowDay {
    /// The day, `2026-12-07`.
    pub day: String,
    /// Shadow evaluations recorded that day.
    pub evaluated: i64,
    /// Of those, how many decided differently from the live evaluation.
    pub differing: i64,
    /// Of those, how many failed.
    pub failed: i64,
}

/// How many decisions one purge statement deletes, so a large purge does not hold SQLite's write
/// lock for long.
const PURGE_BATCH: i64 = 5_000;

/// Decision records one `INSERT` writes at most (22 parameters each).
const INSERT_CHUNK: usize = 100;

/// Inserts a decision record; `Conflict` if its id is taken, `NotFound` if its realm is missing.
pub(super) async fn insert(conn: &mut AnyConnection, decision: &DecisionRecord) -> Result<()> {
    insert_all(conn, &[decision]).await
}

/// Inserts decision records, one statement per [`INSERT_CHUNK`]; `Conflict` if an id is taken,
/// `NotFound` if a realm is missing (on an error some chunks may be written: roll back).
pub(super) async fn insert_all(conn: &mut AnyConnection, decisions: &[&DecisionRecord]) -> Result<()> {
    for chunk in decisions.chunks(INSERT_CHUNK) {
        let sql =
            format!("INSERT INTO decisions ({}) VALUES {}", decision_columns!(), values_placeholders(chunk.len(), 23));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for decision in chunk {
            query = query
                .bind(decision.tenant_id.as_str())
                .bind(decision.id.as_str())
                .bind(decision.realm_id.as_str())
                .bind(decision.user_id.as_deref())
                .bind(decision.trigger.as_str())
                .bind(i64::from(decision.applied))
                .bind(i64::from(decision.shadow))
                .bind(decision.input.as_str())
                .bind(decision.user_rules_version)
                .bind(decision.user_rules_digest.as_deref())
                .bind(decision.group_rules_version)
                .bind(decision.group_rules_digest.as_deref())
                .bind(decision.output.as_str())
                .bind(decision.trace.as_str())
                .bind(decision.duration_us)
                .bind(decision.fuel)
                .bind(decision.created_at)
                .bind(decision.shadow_of.as_deref())
                .bind(decision.differs.map(i64::from))
                .bind(decision.failure.as_ref().map(|failure| failure.kind.as_str()))
                .bind(decision.failure.as_ref().map(|failure| failure.message.as_str()))
                .bind(decision.failure_policy.as_ref().map(to_json).transpose()?)
                .bind(decision.limits.as_ref().map(to_json).transpose()?);
        }
        query.execute(&mut *conn).await.map_err(|e| {
            let first = chunk[0];
            write_error(
                e,
                || match chunk {
                    [one] => format!("decision {:?} already exists", one.id),
                    _ => format!("one of {} decisions already exists", chunk.len()),
                },
                || no_realm(&first.tenant_id, &first.realm_id).to_string(),
            )
        })?;
    }
    Ok(())
}

impl Store {
    /// Stores a decision that changes nothing else (a dry run, a shadow evaluation); not audited.
    /// `Conflict` if its id is taken, `NotFound` if its realm is missing.
    pub async fn insert_decision(&self, decision: &DecisionRecord) -> Result<()> {
        let mut tx = self.write().await?;
        insert(tx.conn(), decision).await?;
        tx.commit().await
    }

    /// The tenant's decision, if it exists.
    pub async fn get_decision(&self, tenant: &str, id: &str) -> Result<Option<DecisionRecord>> {
        sqlx::query(concat!("SELECT ", decision_columns!(), " FROM decisions WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::decision)
            .transpose()
    }

    /// The tenant's decisions matching `filter`, newest first.
    pub async fn list_decisions(&self, filter: DecisionFilter) -> Result<Vec<DecisionRecord>> {
        let cursor = match &filter.before_id {
            Some(id) => {
                let row = sqlx::query("SELECT created_at FROM decisions WHERE tenant_id = $1 AND id = $2")
                    .bind(filter.tenant_id.as_str())
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("no decision {id:?} (the page cursor)")))?;
                Some((rows::get::<i64>(&row, "created_at")?, id.clone()))
            }
            None => None,
        };
        let mut query = Dynamic::new(concat!("SELECT ", decision_columns!(), " FROM decisions WHERE tenant_id = "));
        let tenant = query.bind(Arg::Text(filter.tenant_id));
        query.push(&tenant);
        if let Some(realm) = filter.realm_id {
            let realm = query.bind(Arg::Text(realm));
            query.push(&format!(" AND realm_id = {realm}"));
        }
        if let Some(user) = filter.user_id {
            let user = query.bind(Arg::Text(user));
            query.push(&format!(" AND user_id = {user}"));
        }
        if let Some(trigger) = filter.trigger {
            let trigger = query.bind(Arg::Text(trigger));
            query.push(&format!(" AND trigger_kind = {trigger}"));
        }
        if let Some(shadow) = filter.shadow {
            let shadow = query.bind(Arg::Int(i64::from(shadow)));
            query.push(&format!(" AND shadow = {shadow}"));
        }
        if let Some(applied) = filter.applied {
            let applied = query.bind(Arg::Int(i64::from(applied)));
            query.push(&format!(" AND applied = {applied}"));
        }
        if let Some(differs) = filter.differs {
            let differs = query.bind(Arg::Int(i64::from(differs)));
            query.push(&format!(" AND differs = {differs}"));
        }
        if let Some(failed) = filter.failed {
            query.push(if failed { " AND error_kind IS NOT NULL" } else { " AND error_kind IS NULL" });
        }
        if let Some(since) = filter.since {
            let since = query.bind(Arg::Int(since));
            query.push(&format!(" AND created_at >= {since}"));
        }
        if let Some(until) = filter.until {
            let until = query.bind(Arg::Int(until));
            query.push(&format!(" AND created_at < {until}"));
        }
        if let Some((at, id)) = cursor {
            let at_lt = query.bind(Arg::Int(at));
            let at_eq = query.bind(Arg::Int(at));
            let id = query.bind(Arg::Text(id));
            query.push(&format!(" AND (created_at < {at_lt} OR (created_at = {at_eq} AND id < {id}))"));
        }
        let limit = query.bind(Arg::Int(filter.limit.max(0)));
        query.push(&format!(" ORDER BY created_at DESC, id DESC LIMIT {limit}"));
        rows::all(&query.fetch_all(&self.pool).await?, rows::decision)
    }

    /// How the realm's shadow evaluations compared with the live ones, per candidate version pair,
    /// newest pair first, each with its counts per UTC day.
    pub async fn shadow_summary(&self, tenant: &str, realm: &str) -> Result<Vec<ShadowSummary>> {
        let found = sqlx::query(
            "SELECT user_rules_version, group_rules_version, created_at / 86400000 AS day, COUNT(*) AS evaluated, \
             SUM(CASE WHEN differs = 1 THEN 1 ELSE 0 END) AS differing, \
             SUM(CASE WHEN error_kind IS NOT NULL THEN 1 ELSE 0 END) AS failed, MAX(created_at) AS last_at \
             FROM decisions WHERE tenant_id = $1 AND realm_id = $2 AND shadow = 1 \
             GROUP BY user_rules_version, group_rules_version, created_at / 86400000 ORDER BY day",
        )
        .bind(tenant)
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;
        let mut summaries: Vec<ShadowSummary> = Vec::new();
        for row in &found {
            let (user_rules_version, group_rules_version) =
                (rows::get(row, "user_rules_version")?, rows::get(row, "group_rules_version")?);
            let day = ShadowDay {
                day: calendar_day(rows::get(row, "day")?),
                evaluated: rows::get(row, "evaluated")?,
                differing: rows::get(row, "differing")?,
                failed: rows::get(row, "failed")?,
            };
            let last_at: Millis = rows::get(row, "last_at")?;
            let index = match summaries.iter().position(|summary| {
                summary.user_rules_version == user_rules_version && summary.group_rules_version == group_rules_version
            }) {
                Some(index) => index,
                None => {
                    summaries.push(ShadowSummary {
                        user_rules_version,
                        group_rules_version,
                        evaluated: 0,
                        differing: 0,
                        failed: 0,
                        last_at,
                        days: Vec::new(),
                    });
                    summaries.len() - 1
                }
            };
            let summary = &mut summaries[index];
            summary.evaluated += day.evaluated;
            summary.differing += day.differing;
            summary.failed += day.failed;
            summary.last_at = summary.last_at.max(last_at);
            summary.days.push(day);
        }
        summaries.sort_by_key(|summary| std::cmp::Reverse(summary.last_at));
        Ok(summaries)
    }

    /// Deletes the tenant's decisions made before `cutoff`, returning how many (not audited: it
    /// is the tenant's retention setting at work). Runs in batches, each its own transaction.
    pub async fn purge_decisions_older_than(&self, tenant: &str, cutoff: Millis) -> Result<u64> {
        let mut purged = 0;
        loop {
            let mut tx = self.write().await?;
            let done = sqlx::query(
                "DELETE FROM decisions WHERE tenant_id = $1 AND id IN \
                 (SELECT id FROM decisions WHERE tenant_id = $1 AND created_at < $2 LIMIT $3)",
            )
            .bind(tenant)
            .bind(cutoff)
            .bind(PURGE_BATCH)
            .execute(tx.conn())
            .await?;
            tx.commit().await?;
            purged += done.rows_affected();
            if done.rows_affected() < PURGE_BATCH as u64 {
                return Ok(purged);
            }
        }
    }
}

/// The UTC calendar day (`2026-12-07`) of a day count since the Unix epoch.
fn calendar_day(days_since_epoch: i64) -> String {
    let day = i32::try_from(days_since_epoch)
        .ok()
        .and_then(|days| days.checked_add(UNIX_EPOCH_JULIAN_DAY))
        .and_then(|julian| time::Date::from_julian_day(julian).ok());
    day.map_or_else(|| format!("day {days_since_epoch}"), |day| day.to_string())
}

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

#[cfg(test)]
mod tests {
    use super::calendar_day;

    #[test]
    fn calendar_days_count_from_the_unix_epoch() {
        assert_eq!(calendar_day(0), "1970-01-01");
        assert_eq!(calendar_day(20_794), "2026-12-07");
        assert_eq!(calendar_day(-1), "1969-12-31");
        assert_eq!(calendar_day(i64::MAX), format!("day {}", i64::MAX), "out of the calendar's range");
    }
}
