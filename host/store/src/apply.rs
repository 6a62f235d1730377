//! Applying a decision, the hot path of every login and SCIM user write: checked against the
//! stored state first (reads only, so a refused decision writes nothing), then written. On
//! PostgreSQL each decision has its own transaction; on SQLite concurrent decisions are committed
//! in groups (see `group_commit`).

use std::collections::BTreeSet;

use serde_json::json;

use super::{
    Audit, Result, StoreError, WriteTx,
    audit::{self, AuditNote, Event},
    batch_view::BatchView,
    decisions,
    model::{DecisionRecord, Millis, ProviderGroupMark, Session, UserRecord, UserStatus},
    no_realm,
    rows::{to_json, values_placeholders},
    sessions,
    users::{no_user, prepare_user, save_users, user_name_key},
};

/// Provider groups one `INSERT` upserts at most (5 parameters each).
const UPSERT_CHUNK: usize = 100;

/// Everything one applied decision writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyDecision {
    /// The user's full new state: inserted if the id is new in the realm, else replaces the stored
    /// record (whose `created_at` is kept). Its `version` and `deactivated_at` are the store's.
    pub user: UserRecord,
    /// Provider groups and their new marks, upserted per (tenant, realm, name).
    pub provider_groups: Vec<ProviderGroupMark>,
    /// The decision record; must be for this user, applied, not shadow.
    pub decision: DecisionRecord,
    /// A session to record for the user (a login); must be the user's.
    pub session: Option<Session>,
    /// The version the stored user must be at (SCIM `If-Match`, or the version the caller read):
    /// [`StoreError::VersionMismatch`] if it is at another, `NotFound` if there is no stored user.
    /// Required to reactivate a deactivated user.
    pub expected_version: Option<i64>,
    /// More audit events to append in the same transaction, after the store's user events and
    /// before `decision.applied` (e.g. `scim.user.updated`).
    pub extra_events: Vec<AuditNote>,
    /// Whether organizations the decision names (the user's, its provider groups') that the
    /// tenant does not have are created (audited `organization.created`, first of the
    /// decision's events); otherwise such a decision is refused with
    /// [`StoreError::UnknownOrganizations`] and nothing is written.
    pub create_organizations: bool,
}

/// A decision checked against the stored state, ready to be written.
pub(super) struct Checked<'a> {
    /// The user as it will be stored (the store's version, times and status fields filled in).
    user: UserRecord,
    /// The provider groups' marks, by name, one per name (the last given wins).
    groups: Vec<ProviderGroupMark>,
    /// The decision to apply.
    apply: &'a ApplyDecision,
    /// Organizations the decision names that the tenant does not have, to create.
    new_organizations: Vec<String>,
    /// Whether it changes a stored user's user name (ignoring case) or external id, which a later
    /// decision's uniqueness check must see written.
    pub renames: bool,
    /// When it is made (the provider groups' `updated_at`).
    at: Millis,
    /// The audit events to append, in order.
    pub events: Vec<Event>,
}

impl<'a> Checked<'a> {
    /// The decision's tenant.
    pub(super) fn tenant(&self) -> &'a str {
        &self.apply.user.tenant_id
    }
}

/// Checks, writes and audits one decision in `tx` (not committed). On an error the transaction
/// may hold part of the writes: roll it back.
pub(super) async fn apply_in(tx: &mut WriteTx, apply: &ApplyDecision, audit: &Audit) -> Result<()> {
    let checked = check(tx, apply, audit, &mut BatchView::default()).await?;
    let events = write_all(tx, vec![checked]).await?.into_iter().flatten().collect();
    // Last: the audit-sequence bump locks the tenant's row until commit.
    audit::append(tx.conn(), &apply.user.tenant_id, audit, events).await?;
    Ok(())
}

/// Checks `apply` against the state `tx` sees (locking the user's row on PostgreSQL) and prepares
/// its writes and audit events. Writes nothing, so a refused decision leaves `tx` as it was.
/// `view` holds what a group commit read up front, and the organizations that decisions checked
/// before this one in the same transaction, not written yet, will create: this one finds them as
/// if they were (and its own go in, once it passes).
pub(super) async fn check<'a>(
    tx: &mut WriteTx,
    apply: &'a ApplyDecision,
    audit: &Audit,
    view: &mut BatchView,
) -> Result<Checked<'a>> {
    check_consistent(&apply.user, &apply.decision, apply.session.as_ref())?;
    let (tenant, realm) = (apply.user.tenant_id.as_str(), apply.user.realm_id.as_str());
    let stored = view.stored_user(tx, tenant, realm, &apply.user.id).await?;
    // A stored user's realm exists (foreign key): only a new user's needs a look.
    if stored.is_none() && !realm_exists(tx, tenant, realm).await? {
        return Err(no_realm(tenant, realm));
    }
    check_transition(stored.as_ref().map(|stored| &stored.user), &apply.user, apply.expected_version)?;
    let new_organizations = view.unknown_organizations(tx, tenant, &named_organizations(apply)).await?;
    if !new_organizations.is_empty() && !apply.create_organizations {
        return Err(StoreError::UnknownOrganizations(new_organizations));
    }
    let mut user = apply.user.clone();
    let renames = stored.as_ref().is_some_and(|stored| {
        stored.name_key != user_name_key(&user.user_name) || stored.user.external_id != user.external_id
    });
    let mut events = prepare_user(tx, &mut user, stored.as_ref(), audit).await?;
    let groups = by_name(&apply.provider_groups);
    let decision = &apply.decision;
    let details = json!({
        "decision_id": decision.id, "realm_id": realm, "user_id": user.id, "trigger": decision.trigger,
        "organization": user.organization, "rule_groups": user.rule_groups,
        "provider_groups": groups.iter().map(|g| json!({ "name": g.name, "organizations": g.organizations })).collect::<Vec<_>>(),
        "user_rules_version": decision.user_rules_version, "group_rules_version": decision.group_rules_version,
    });
    events.extend(apply.extra_events.iter().cloned().map(Event::from));
    events.push(Event::new("decision.applied", user.id.as_str(), details));
    view.will_create(tenant, &new_organizations);
    Ok(Checked { user, groups, apply, new_organizations, renames, at: audit.at, events })
}

/// Writes checked decisions of distinct users (users, provider-group marks, sessions, decision
/// records; one statement per kind and chunk, not per decision) and returns each one's audit
/// events, in order (the caller appends them). On an error `tx` may hold part of the writes:
/// roll it back.
pub(super) async fn write_all(tx: &mut WriteTx, checked: Vec<Checked<'_>>) -> Result<Vec<Vec<Event>>> {
    let mut events_of = Vec::with_capacity(checked.len());
    for decision in &checked {
        let tenant = &decision.user.tenant_id;
        let created =
            create_organizations(tx, tenant, &decision.new_organizations, &decision.apply.decision.id).await?;
        events_of.push(created);
    }
    save_users(tx, &checked.iter().map(|c| &c.user).collect::<Vec<_>>()).await?;
    let mut marks: Vec<GroupMark<'_>> = checked
        .iter()
        .flat_map(|c| {
            c.groups.iter().map(|mark| GroupMark { tenant: &c.user.tenant_id, realm: &c.user.realm_id, mark, at: c.at })
        })
        .collect();
    // One row per group, the last decision's marks winning, in key order (see `by_name`).
    marks.reverse();
    marks.sort_by(|a, b| a.key().cmp(&b.key()));
    marks.dedup_by(|later, earlier| later.key() == earlier.key());
    upsert_marks(tx, &marks).await?;
    let sessions: Vec<&Session> = checked.iter().filter_map(|c| c.apply.session.as_ref()).collect();
    sessions::insert_all(tx.conn(), &sessions).await?;
    decisions::insert_all(tx.conn(), &checked.iter().map(|c| &c.apply.decision).collect::<Vec<_>>()).await?;
    for (events, decision) in events_of.iter_mut().zip(checked) {
        events.extend(decision.events);
    }
    Ok(events_of)
}

/// A provider group's new marks, as a decision made them.
struct GroupMark<'a> {
    tenant: &'a str,
    realm: &'a str,
    mark: &'a ProviderGroupMark,
    at: Millis,
}

impl GroupMark<'_> {
    /// The group's row key.
    fn key(&self) -> (&str, &str, &str) {
        (self.tenant, self.realm, &self.mark.name)
    }
}

/// Creates the organizations (named by their ids) a decision named, and returns an
/// `organization.created` event for each one this transaction created (a concurrent decision
/// may have created it first).
async fn create_organizations(tx: &mut WriteTx, tenant: &str, ids: &[String], decision: &str) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    for id in ids {
        let created = sqlx::query(
            "INSERT INTO organizations (tenant_id, id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id",
        )
        .bind(tenant)
        .bind(id.as_str())
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?;
        if created.is_some() {
            let details = json!({ "id": id, "name": id, "decision_id": decision });
            events.push(Event::new("organization.created", format!("organization/{id}"), details));
        }
    }
    Ok(events)
}

/// Whether the tenant has the realm.
async fn realm_exists(tx: &mut WriteTx, tenant: &str, realm: &str) -> Result<bool> {
    let found = sqlx::query("SELECT id FROM realms WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(realm)
        .fetch_optional(tx.conn())
        .await?;
    Ok(found.is_some())
}

/// The marks sorted by name, one per name (the last given wins): concurrent transactions lock group
/// rows in one order (no deadlocks), and one statement never upserts a row twice.
fn by_name(marks: &[ProviderGroupMark]) -> Vec<ProviderGroupMark> {
    let mut groups = marks.to_vec();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups.dedup_by(|later, earlier| {
        let same = later.name == earlier.name;
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
    groups
}

/// Upserts the groups' marks (sorted by key, one per group) in one statement per
/// [`UPSERT_CHUNK`]: a group whose stored marks are the same is left as it is (no new row version
/// on PostgreSQL; its row is still locked until commit, in key order, as a write would lock it).
async fn upsert_marks(tx: &mut WriteTx, marks: &[GroupMark<'_>]) -> Result<()> {
    for chunk in marks.chunks(UPSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO provider_groups (tenant_id, realm_id, name, organizations, updated_at) VALUES {} \
             ON CONFLICT (tenant_id, realm_id, name) DO UPDATE SET organizations = excluded.organizations, \
             updated_at = excluded.updated_at WHERE provider_groups.organizations <> excluded.organizations",
            values_placeholders(chunk.len(), 5)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for group in chunk {
            query = query
                .bind(group.tenant)
                .bind(group.realm)
                .bind(group.mark.name.as_str())
                .bind(to_json(&group.mark.organizations)?)
                .bind(group.at);
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

/// The user, the decision and the session must agree, the decision must be an applied one, and a
/// deactivated user has no organization, rule-based group or new session.
fn check_consistent(user: &UserRecord, decision: &DecisionRecord, session: Option<&Session>) -> Result<()> {
    if user.tenant_id != decision.tenant_id || user.realm_id != decision.realm_id {
        return Err(StoreError::Invalid(format!(
            "the user is in {}/{} but the decision in {}/{}",
            user.tenant_id, user.realm_id, decision.tenant_id, decision.realm_id
        )));
    }
    if decision.user_id.as_deref() != Some(user.id.as_str()) {
        return Err(StoreError::Invalid(format!("the decision is not about user {}", user.id)));
    }
    if !decision.applied || decision.shadow {
        return Err(StoreError::Invalid("only an applied, non-shadow decision can be applied".into()));
    }
    if let Some(session) = session
        && (session.tenant_id != user.tenant_id || session.realm_id != user.realm_id || session.user_id != user.id)
    {
        return Err(StoreError::Invalid(format!("the session is not one of user {}", user.id)));
    }
    if user.status == UserStatus::Deactivated
        && (user.organization.is_some() || !user.rule_groups.is_empty() || session.is_some())
    {
        return Err(StoreError::Invalid(format!(
            "deactivated user {} cannot have an organization, rule-based groups or a new session",
            user.id
        )));
    }
    Ok(())
}

/// The expected version must be the stored one; an active user is deactivated only by
/// `deactivate_user`; reactivating needs the expected version.
fn check_transition(stored: Option<&UserRecord>, user: &UserRecord, expected_version: Option<i64>) -> Result<()> {
    let Some(stored) = stored else {
        return match expected_version {
            Some(_) => Err(no_user(&user.tenant_id, &user.realm_id, &user.id)),
            None => Ok(()),
        };
    };
    if let Some(expected) = expected_version
        && expected != stored.version
    {
        return Err(StoreError::VersionMismatch {
            what: format!("user {}", user.id),
            expected,
            actual: stored.version,
        });
    }
    match (stored.status, user.status) {
        (UserStatus::Active, UserStatus::Deactivated) => Err(StoreError::Invalid(format!(
            "user {} is active: deactivate it with deactivate_user (which revokes its sessions)",
            user.id
        ))),
        (UserStatus::Deactivated, UserStatus::Active) if expected_version.is_none() => Err(StoreError::Conflict(
            format!("user {} is deactivated: reactivating it needs the version of the deactivated record", user.id),
        )),
        _ => Ok(()),
    }
}

/// The organizations `apply` names: its user's and its provider groups', sorted and distinct.
pub(super) fn named_organizations(apply: &ApplyDecision) -> BTreeSet<&str> {
    apply
        .user
        .organization
        .iter()
        .chain(apply.provider_groups.iter().flat_map(|group| &group.organizations))
        .map(String::as_str)
        .collect()
}
