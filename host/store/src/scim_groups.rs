//! SCIM groups and their members.
//!
//! A SCIM group is a provider group of its members: every membership write keeps the members'
//! stored `provider_groups` lists in step (added: the group's display name is added; removed:
//! taken out; renamed: renamed; deleted: taken out) and moves those users one version up, but for
//! the users whose lists the realm's membership source leaves to their claims
//! ([`MembershipSource::scim_writes_groups_of`], read in the write's transaction). The
//! stored memberships of a deactivated user are kept but suspended: the reads here leave
//! deactivated users out.
//!
//! Lock order (PostgreSQL): the group's row, then the users concerned in id order, then the
//! membership rows, then (with the audit) the tenant's row.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use super::{
    Audit, Result, Store, StoreError, WriteTx,
    audit::{self, Event},
    model::{GroupMember, MembershipSource, ScimGroup, ScimGroupsOfLogin, UserStatus},
    no_realm,
    rows::{self, scim_group_columns},
    users::{lock_user, no_user, write_provider_groups},
    write_error,
};

/// How a group's members change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MembersChange {
    /// They stay as they are.
    #[default]
    Keep,
    /// These user ids are added and these removed; the two must not overlap. Adding a member or
    /// removing a non-member changes nothing. There is no wholesale replacement: a caller that
    /// wants a given set of members (SCIM `PUT`) diffs it against the members that count, so the
    /// suspended membership of a deactivated member, which no read shows, is kept.
    Edit {
        /// Users to add.
        add: Vec<String>,
        /// Users to remove.
        remove: Vec<String>,
    },
}

/// A change of a SCIM group, applied as a whole or not at all (a SCIM `PUT` or `PATCH`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimGroupChange {
    /// The new display name, if it changes.
    pub display_name: Option<String>,
    /// The new external id (`Some(None)` clears it), if it changes.
    pub external_id: Option<Option<String>>,
    /// The members' change.
    pub members: MembersChange,
    /// The version the group must be at (SCIM `If-Match`).
    pub expected_version: Option<i64>,
}

/// Which users a membership write actually added and removed, each list in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MembershipChange {
    /// Users who became members.
    pub added: Vec<String>,
    /// Users who stopped being members.
    pub removed: Vec<String>,
}

/// The result of a [`ScimGroupChange`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScimGroupChanged {
    /// The group as now stored.
    pub group: ScimGroup,
    /// The members it gained and lost.
    pub members: MembershipChange,
    /// Every user whose provider groups the change changed, in id order: those added or
    /// removed and, when the group was renamed, every member, but for those whose lists the
    /// realm's membership source leaves as they are. Their decisions are out of date.
    pub concerned: Vec<String>,
}

impl Store {
    /// Creates a SCIM group of `group.tenant_id`/`group.realm_id` with the id, display name and
    /// external id given (version 1, created and updated at the audit's time) and these members,
    /// and returns it as stored with the members added and those whose provider groups changed.
    /// Audited `scim.group.created` and, with members, `scim.group.members_added` {users}.
    ///
    /// `Conflict` naming the display name (ignoring case) or external id if another group of the
    /// realm has it, or if the id is taken; `NotFound` if the realm is missing or a member is not a
    /// user of the realm (naming it; nothing is written).
    pub async fn create_scim_group(
        &self,
        group: &ScimGroup,
        members: &[String],
        audit: &Audit,
    ) -> Result<ScimGroupChanged> {
        let (tenant, realm) = (group.tenant_id.as_str(), group.realm_id.as_str());
        let stored = ScimGroup { version: 1, created_at: audit.at, updated_at: audit.at, ..group.clone() };
        let mut tx = self.write().await?;
        let source = membership_source(&mut tx, tenant, realm).await?;
        check_unique(&mut tx, &stored).await?;
        sqlx::query(
            "INSERT INTO scim_groups (tenant_id, realm_id, id, display_name, display_name_key, external_id, version, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
        .bind(realm)
        .bind(stored.id.as_str())
        .bind(stored.display_name.as_str())
        .bind(display_name_key(&stored.display_name))
        .bind(stored.external_id.as_deref())
        .bind(stored.version)
        .bind(stored.created_at)
        .bind(stored.updated_at)
        .execute(tx.conn())
        .await
        .map_err(|e| write_error(e, || group_conflict(&stored), || no_realm(tenant, realm).to_string()))?;
        let added = sorted(members);
        let mut concerned = Vec::new();
        for user_id in &added {
            let user =
                lock_user(&mut tx, tenant, realm, user_id).await?.ok_or_else(|| no_user(tenant, realm, user_id))?;
            if source.scim_writes_groups_of(&user) {
                let mut groups = user.provider_groups.clone();
                add_name(&mut groups, &stored.display_name);
                write_provider_groups(&mut tx, &user, &groups, audit.at).await?;
                concerned.push(user_id.clone());
            }
            insert_member(&mut tx, &stored, user_id).await?;
        }
        let details = json!({
            "realm_id": realm, "display_name": stored.display_name, "external_id": stored.external_id,
        });
        let mut events = vec![Event::new("scim.group.created", stored.id.as_str(), details)];
        if !added.is_empty() {
            let details = json!({ "realm_id": realm, "display_name": stored.display_name, "users": added });
            events.push(Event::new("scim.group.members_added", stored.id.as_str(), details));
        }
        audit::append(tx.conn(), tenant, audit, events).await?;
        tx.commit().await?;
        Ok(ScimGroupChanged { group: stored, members: MembershipChange { added, removed: Vec::new() }, concerned })
    }

    /// The realm's SCIM group, if it exists.
    pub async fn get_scim_group(&self, tenant: &str, realm: &str, id: &str) -> Result<Option<ScimGroup>> {
        self.find_scim_group(
            concat!(
                "SELECT ",
                scim_group_columns!(),
                " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"
            ),
            tenant,
            realm,
            id.to_owned(),
        )
        .await
    }

    /// The realm's SCIM group with this display name, ignoring case, if any.
    pub async fn find_scim_group_by_display_name(
        &self,
        tenant: &str,
        realm: &str,
        display_name: &str,
    ) -> Result<Option<ScimGroup>> {
        self.find_scim_group(
            concat!(
                "SELECT ",
                scim_group_columns!(),
                " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND display_name_key = $3"
            ),
            tenant,
            realm,
            display_name_key(display_name),
        )
        .await
    }

    /// The realm's SCIM group with this external id, if any.
    pub async fn find_scim_group_by_external_id(
        &self,
        tenant: &str,
        realm: &str,
        external_id: &str,
    ) -> Result<Option<ScimGroup>> {
        self.find_scim_group(
            concat!(
                "SELECT ",
                scim_group_columns!(),
                " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND external_id = $3"
            ),
            tenant,
            realm,
            external_id.to_owned(),
        )
        .await
    }

    /// The group `sql` selects with the tenant, realm and `key` bound as `$1`, `$2`, `$3`.
    async fn find_scim_group(
        &self,
        sql: &'static str,
        tenant: &str,
        realm: &str,
        key: String,
    ) -> Result<Option<ScimGroup>> {
        sqlx::query(sql)
            .bind(tenant)
            .bind(realm)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::scim_group)
            .transpose()
    }

    /// A page of the realm's SCIM groups ordered by id: those after `after_id` (the last id of the
    /// previous page), at most `limit` (negative counts as zero).
    pub async fn list_scim_groups(
        &self,
        tenant: &str,
        realm: &str,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ScimGroup>> {
        let query = match after_id {
            Some(after) => sqlx::query(concat!(
                "SELECT ",
                scim_group_columns!(),
                " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND id > $3 ORDER BY id LIMIT $4"
            ))
            .bind(tenant)
            .bind(realm)
            .bind(after),
            None => sqlx::query(concat!(
                "SELECT ",
                scim_group_columns!(),
                " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 ORDER BY id LIMIT $3"
            ))
            .bind(tenant)
            .bind(realm),
        };
        let found = query.bind(limit.max(0)).fetch_all(&self.pool).await?;
        rows::all(&found, rows::scim_group)
    }

    /// Changes the group's display name, external id and members, all or nothing, one version up if
    /// anything changed (nothing is written, or audited, if nothing did). Members' provider-group
    /// lists follow (see the module doc). Audited, as they apply, `scim.group.updated` {changed,
    /// display_name, external_id, previous_display_name}, `scim.group.members_added` {users} and
    /// `scim.group.members_removed` {users}.
    ///
    /// `NotFound` if the realm has no such group, or a user to add is not a user of the realm
    /// (naming it); [`StoreError::VersionMismatch`] if `expected_version` is not the group's;
    /// `Conflict` if the new display name (ignoring case) or external id is another group's;
    /// `Invalid` if the users to add and to remove overlap.
    pub async fn change_scim_group(
        &self,
        tenant: &str,
        realm: &str,
        group_id: &str,
        change: ScimGroupChange,
        audit: &Audit,
    ) -> Result<ScimGroupChanged> {
        if let MembersChange::Edit { add, remove } = &change.members
            && let Some(both) = add.iter().find(|id| remove.contains(id))
        {
            return Err(StoreError::Invalid(format!("user {both} is both added to and removed from the group")));
        }
        let mut tx = self.write().await?;
        let before = lock_group(&mut tx, tenant, realm, group_id).await?;
        let source = membership_source(&mut tx, tenant, realm).await?;
        if let Some(expected) = change.expected_version
            && expected != before.version
        {
            return Err(StoreError::VersionMismatch {
                what: format!("SCIM group {group_id}"),
                expected,
                actual: before.version,
            });
        }
        let mut after = before.clone();
        if let Some(display_name) = change.display_name {
            after.display_name = display_name;
        }
        if let Some(external_id) = change.external_id {
            after.external_id = external_id;
        }
        let mut changed = Vec::new();
        if after.display_name != before.display_name {
            changed.push("display_name");
        }
        if after.external_id != before.external_id {
            changed.push("external_id");
        }
        if !changed.is_empty() {
            check_unique(&mut tx, &after).await?;
        }
        let current = member_ids(&mut tx, &before).await?;
        let members = match change.members {
            MembersChange::Keep => MembershipChange::default(),
            MembersChange::Edit { add, remove } => MembershipChange {
                added: sorted(&add).into_iter().filter(|id| !current.contains(id)).collect(),
                removed: sorted(&remove).into_iter().filter(|id| current.contains(id)).collect(),
            },
        };
        if changed.is_empty() && members.added.is_empty() && members.removed.is_empty() {
            return Ok(ScimGroupChanged { group: before, members, concerned: Vec::new() });
        }
        after.version += 1;
        after.updated_at = audit.at;
        // Every user whose group list changes, in id order: the members when the group is renamed,
        // and those added or removed.
        let mut concerned: BTreeSet<&String> = members.added.iter().chain(&members.removed).collect();
        if after.display_name != before.display_name {
            concerned.extend(&current);
        }
        let mut written = Vec::with_capacity(concerned.len());
        for user_id in concerned {
            let Some(user) = lock_user(&mut tx, tenant, realm, user_id).await? else {
                // A member deleted meanwhile (its memberships went with it) has nothing to update.
                if members.added.contains(user_id) {
                    return Err(no_user(tenant, realm, user_id));
                }
                continue;
            };
            if !source.scim_writes_groups_of(&user) {
                continue;
            }
            written.push(user_id.clone());
            let mut groups = user.provider_groups.clone();
            if members.removed.contains(user_id) {
                remove_name(&mut groups, &before.display_name);
            } else if members.added.contains(user_id) {
                add_name(&mut groups, &after.display_name);
            } else {
                rename(&mut groups, &before.display_name, &after.display_name);
            }
            write_provider_groups(&mut tx, &user, &groups, audit.at).await?;
        }
        for user_id in &members.removed {
            sqlx::query(
                "DELETE FROM scim_group_members WHERE tenant_id = $1 AND realm_id = $2 AND group_id = $3 AND user_id = $4",
            )
            .bind(tenant)
            .bind(realm)
            .bind(group_id)
            .bind(user_id.as_str())
            .execute(tx.conn())
            .await?;
        }
        for user_id in &members.added {
            insert_member(&mut tx, &after, user_id).await?;
        }
        sqlx::query(
            "UPDATE scim_groups SET display_name = $1, display_name_key = $2, external_id = $3, version = $4, \
             updated_at = $5 WHERE tenant_id = $6 AND realm_id = $7 AND id = $8",
        )
        .bind(after.display_name.as_str())
        .bind(display_name_key(&after.display_name))
        .bind(after.external_id.as_deref())
        .bind(after.version)
        .bind(after.updated_at)
        .bind(tenant)
        .bind(realm)
        .bind(group_id)
        .execute(tx.conn())
        .await
        .map_err(|e| write_error(e, || group_conflict(&after), || no_group(tenant, realm, group_id).to_string()))?;
        let mut events = Vec::new();
        if !changed.is_empty() {
            let details = json!({
                "realm_id": realm, "changed": changed, "display_name": after.display_name,
                "external_id": after.external_id, "previous_display_name": before.display_name,
            });
            events.push(Event::new("scim.group.updated", group_id, details));
        }
        for (action, users) in
            [("scim.group.members_added", &members.added), ("scim.group.members_removed", &members.removed)]
        {
            if !users.is_empty() {
                let details = json!({ "realm_id": realm, "display_name": after.display_name, "users": users });
                events.push(Event::new(action, group_id, details));
            }
        }
        audit::append(tx.conn(), tenant, audit, events).await?;
        tx.commit().await?;
        Ok(ScimGroupChanged { group: after, members, concerned: written })
    }

    /// Deletes the group and its memberships, taking its display name out of its members'
    /// provider-group lists (audited `scim.group.deleted` {display_name, external_id, members}),
    /// and returns the users whose provider groups that changed (its former members, deactivated
    /// ones included, in id order, but for those whose lists the realm's membership source leaves
    /// as they are). `NotFound` if the realm has no such group.
    pub async fn delete_scim_group(
        &self,
        tenant: &str,
        realm: &str,
        group_id: &str,
        audit: &Audit,
    ) -> Result<Vec<String>> {
        let mut tx = self.write().await?;
        let group = lock_group(&mut tx, tenant, realm, group_id).await?;
        let source = membership_source(&mut tx, tenant, realm).await?;
        let members = member_ids(&mut tx, &group).await?;
        let mut concerned = Vec::with_capacity(members.len());
        for user_id in &members {
            if let Some(user) = lock_user(&mut tx, tenant, realm, user_id).await?
                && source.scim_writes_groups_of(&user)
            {
                let mut groups = user.provider_groups.clone();
                remove_name(&mut groups, &group.display_name);
                write_provider_groups(&mut tx, &user, &groups, audit.at).await?;
                concerned.push(user_id.clone());
            }
        }
        for sql in [
            "DELETE FROM scim_group_members WHERE tenant_id = $1 AND realm_id = $2 AND group_id = $3",
            "DELETE FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND id = $3",
        ] {
            sqlx::query(sql).bind(tenant).bind(realm).bind(group_id).execute(tx.conn()).await?;
        }
        let details = json!({
            "realm_id": realm, "display_name": group.display_name, "external_id": group.external_id,
            "members": members,
        });
        audit::append(tx.conn(), tenant, audit, vec![Event::new("scim.group.deleted", group_id, details)]).await?;
        tx.commit().await?;
        Ok(concerned)
    }

    /// The group's members that count: its active users, by user name (ignoring case), then id.
    /// `NotFound` if the realm has no such group.
    pub async fn scim_group_members(&self, tenant: &str, realm: &str, group_id: &str) -> Result<Vec<GroupMember>> {
        if self.get_scim_group(tenant, realm, group_id).await?.is_none() {
            return Err(no_group(tenant, realm, group_id));
        }
        let found = sqlx::query(
            "SELECT u.id AS user_id, u.user_name, u.display_name FROM scim_group_members m JOIN users u \
             ON u.tenant_id = m.tenant_id AND u.realm_id = m.realm_id AND u.id = m.user_id \
             WHERE m.tenant_id = $1 AND m.realm_id = $2 AND m.group_id = $3 AND u.status = 'active'",
        )
        .bind(tenant)
        .bind(realm)
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?;
        let mut members = rows::all(&found, rows::member)?;
        sort_members(&mut members);
        Ok(members)
    }

    /// The SCIM groups the user counts as a member of, by display name (ignoring case): none while
    /// it is deactivated (its memberships are suspended). `NotFound` if the realm has no such user.
    pub async fn user_scim_groups(&self, tenant: &str, realm: &str, user_id: &str) -> Result<Vec<ScimGroup>> {
        let user = self.get_user(tenant, realm, user_id).await?.ok_or_else(|| no_user(tenant, realm, user_id))?;
        if user.status != UserStatus::Active {
            return Ok(Vec::new());
        }
        let found = sqlx::query(concat!(
            "SELECT ",
            scim_group_columns!(),
            " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND id IN (SELECT group_id FROM \
             scim_group_members WHERE tenant_id = $1 AND realm_id = $2 AND user_id = $3)"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut groups = rows::all(&found, rows::scim_group)?;
        groups.sort_by_cached_key(|g| (display_name_key(&g.display_name), g.id.clone()));
        Ok(groups)
    }
}

/// Claimed names [`Store::scim_groups_of_login`] looks up in one statement at most.
const NAMES_CHUNK: usize = 500;

/// The display names of the SCIM groups of the realm that `user_id` is a member of, unordered.
pub(super) async fn group_names_of_member(
    conn: &mut AnyConnection,
    tenant: &str,
    realm: &str,
    user_id: &str,
) -> Result<Vec<String>> {
    let found = sqlx::query(
        "SELECT g.display_name FROM scim_group_members m JOIN scim_groups g \
         ON g.tenant_id = m.tenant_id AND g.realm_id = m.realm_id AND g.id = m.group_id \
         WHERE m.tenant_id = $1 AND m.realm_id = $2 AND m.user_id = $3",
    )
    .bind(tenant)
    .bind(realm)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows::all(&found, |row| rows::get::<String>(row, "display_name"))
}

impl Store {
    /// SCIM's side of a logging-in user's provider groups: the display names of the SCIM groups
    /// `user_id` (`None`: a user not stored yet) is a member of, and which of the `claimed` names
    /// are the display name of a SCIM group of the realm, ignoring case.
    pub async fn scim_groups_of_login(
        &self,
        tenant: &str,
        realm: &str,
        user_id: Option<&str>,
        claimed: &[String],
    ) -> Result<ScimGroupsOfLogin> {
        let mut member_of = match user_id {
            Some(user_id) => group_names_of_member(&mut *self.pool.acquire().await?, tenant, realm, user_id).await?,
            None => Vec::new(),
        };
        member_of.sort_by_cached_key(|name| (display_name_key(name), name.clone()));
        let keys: BTreeSet<String> = claimed.iter().map(|name| display_name_key(name)).collect();
        let keys: Vec<String> = keys.into_iter().collect();
        let mut managed_keys = BTreeSet::new();
        for chunk in keys.chunks(NAMES_CHUNK) {
            let placeholders: Vec<String> = (3..chunk.len() + 3).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT display_name_key FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 \
                 AND display_name_key IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(realm);
            for key in chunk {
                query = query.bind(key.as_str());
            }
            let found = query.fetch_all(&self.pool).await?;
            managed_keys.extend(rows::all(&found, |row| rows::get::<String>(row, "display_name_key"))?);
        }
        let managed = claimed.iter().filter(|name| managed_keys.contains(&display_name_key(name))).cloned().collect();
        Ok(ScimGroupsOfLogin { member_of, managed })
    }
}

/// The key a display name is unique by, ignoring case.
fn display_name_key(display_name: &str) -> String {
    display_name.to_lowercase()
}

/// `NotFound` for a missing group.
fn no_group(tenant: &str, realm: &str, id: &str) -> StoreError {
    StoreError::NotFound(format!("no SCIM group {id:?} in realm {realm:?} of tenant {tenant:?}"))
}

/// The realm's membership source, as stored when the write reads it; `NotFound` if the realm is
/// missing.
async fn membership_source(tx: &mut WriteTx, tenant: &str, realm: &str) -> Result<MembershipSource> {
    let row = sqlx::query("SELECT membership_source FROM realms WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(realm)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| no_realm(tenant, realm))?;
    rows::spelled(&row, "membership_source", MembershipSource::parse)
}

/// The unique-violation message when a concurrent transaction won the race past [`check_unique`].
fn group_conflict(group: &ScimGroup) -> String {
    format!(
        "SCIM group {} collides with another group of realm {:?} on its id, display name {:?} or external id {:?}",
        group.id, group.realm_id, group.display_name, group.external_id
    )
}

/// `Conflict` if another group of the realm has the group's display name (ignoring case) or
/// external id.
async fn check_unique(tx: &mut WriteTx, group: &ScimGroup) -> Result<()> {
    let by_name = sqlx::query(
        "SELECT id, display_name FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND display_name_key = $3 \
         AND id <> $4",
    )
    .bind(group.tenant_id.as_str())
    .bind(group.realm_id.as_str())
    .bind(display_name_key(&group.display_name))
    .bind(group.id.as_str())
    .fetch_optional(tx.conn())
    .await?;
    if let Some(row) = by_name {
        let (other, other_name): (String, String) = (rows::get(&row, "id")?, rows::get(&row, "display_name")?);
        return Err(StoreError::Conflict(format!(
            "display name {:?} is already taken by SCIM group {other} ({other_name:?}) in realm {:?}",
            group.display_name, group.realm_id
        )));
    }
    if let Some(external_id) = &group.external_id {
        let by_external = sqlx::query(
            "SELECT id FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND external_id = $3 AND id <> $4",
        )
        .bind(group.tenant_id.as_str())
        .bind(group.realm_id.as_str())
        .bind(external_id.as_str())
        .bind(group.id.as_str())
        .fetch_optional(tx.conn())
        .await?;
        if let Some(row) = by_external {
            let other: String = rows::get(&row, "id")?;
            return Err(StoreError::Conflict(format!(
                "external id {external_id:?} is already that of SCIM group {other} in realm {:?}",
                group.realm_id
            )));
        }
    }
    Ok(())
}

/// The stored group, its row locked until commit (PostgreSQL); `NotFound` if missing.
async fn lock_group(tx: &mut WriteTx, tenant: &str, realm: &str, id: &str) -> Result<ScimGroup> {
    let sql = tx.pick(
        concat!(
            "SELECT ",
            scim_group_columns!(),
            " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND id = $3 FOR NO KEY UPDATE"
        ),
        concat!(
            "SELECT ",
            scim_group_columns!(),
            " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"
        ),
    );
    let row = sqlx::query(sql).bind(tenant).bind(realm).bind(id).fetch_optional(tx.conn()).await?;
    row.as_ref().map(rows::scim_group).transpose()?.ok_or_else(|| no_group(tenant, realm, id))
}

/// The ids of every stored member of the group, deactivated users included.
async fn member_ids(tx: &mut WriteTx, group: &ScimGroup) -> Result<BTreeSet<String>> {
    let found =
        sqlx::query("SELECT user_id FROM scim_group_members WHERE tenant_id = $1 AND realm_id = $2 AND group_id = $3")
            .bind(group.tenant_id.as_str())
            .bind(group.realm_id.as_str())
            .bind(group.id.as_str())
            .fetch_all(tx.conn())
            .await?;
    Ok(rows::all(&found, |row| rows::get::<String>(row, "user_id"))?.into_iter().collect())
}

/// Records that the (locked, existing) user is a member of the group.
async fn insert_member(tx: &mut WriteTx, group: &ScimGroup, user_id: &str) -> Result<()> {
    sqlx::query("INSERT INTO scim_group_members (tenant_id, realm_id, group_id, user_id) VALUES ($1, $2, $3, $4)")
        .bind(group.tenant_id.as_str())
        .bind(group.realm_id.as_str())
        .bind(group.id.as_str())
        .bind(user_id)
        .execute(tx.conn())
        .await
        .map_err(|e| {
            write_error(
                e,
                || format!("user {user_id} is already a member of SCIM group {}", group.id),
                || no_user(&group.tenant_id, &group.realm_id, user_id).to_string(),
            )
        })?;
    Ok(())
}

/// The ids, sorted, without duplicates.
fn sorted(ids: &[String]) -> Vec<String> {
    ids.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect()
}

/// Adds `name` to a provider-group list unless it is there.
fn add_name(groups: &mut Vec<String>, name: &str) {
    if !groups.iter().any(|g| g == name) {
        groups.push(name.to_owned());
    }
}

/// Takes `name` out of a provider-group list.
fn remove_name(groups: &mut Vec<String>, name: &str) {
    groups.retain(|g| g != name);
}

/// Renames `from` to `to` in a provider-group list, where it is (a login may have replaced the
/// list since), in place, once.
fn rename(groups: &mut Vec<String>, from: &str, to: &str) {
    if let Some(at) = groups.iter().position(|g| g == from) {
        groups[at] = to.to_owned();
        let mut seen = false;
        groups.retain(|g| g != to || !std::mem::replace(&mut seen, true));
    }
}

/// Orders members by user name ignoring case, then id (the same on both backends, whatever the
/// database's collation).
pub(super) fn sort_members(members: &mut [GroupMember]) {
    members.sort_by_cached_key(|m| (m.user_name.to_lowercase(), m.user_id.clone()));
}
