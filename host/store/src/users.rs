//! Users; the user-row helpers (locking, checking and saving a user, the user-name key,
//! provider-group list writes) the user writes share (`apply`, SCIM, deprovisioning).

use serde_json::json;

use super::{
    Audit, Backend, Result, Store, StoreError, WriteTx,
    audit::{self, AuditNote, Event},
    model::{Millis, UserRecord, UserStatus},
    no_realm,
    rows::{self, Arg, Dynamic, escape_like, to_json, user_columns, values_placeholders},
    write_error,
};

/// Which users [`Store::search_users`] returns: the realm's users matching every filter given,
/// ordered by user name ignoring case, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// The tenant.
    pub tenant_id: String,
    /// The realm.
    pub realm_id: String,
    /// Only users whose user name, e-mail, display name or external id contains this text,
    /// ignoring case.
    pub text: Option<String>,
    /// Only users with this status.
    pub status: Option<UserStatus>,
    /// Only users the rules put in this organization.
    pub organization: Option<String>,
    /// Cursor: only users after this one (the `next_after` of [`UserPage`]).
    pub after: Option<String>,
    /// At most this many (negative counts as zero).
    pub limit: i64,
}

/// One page of [`Store::search_users`].
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    /// The users, ordered by user name ignoring case.
    pub users: Vec<UserRecord>,
    /// The cursor of the next page ([`UserSearch::after`]); `None` on the last page.
    pub next_after: Option<String>,
}

/// The realm's users a login's claims name: by external id and by user name (ignoring case);
/// both may be the same user. See [`Store::find_login_users`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginUsers {
    /// The user with the external id, if any.
    pub by_external_id: Option<UserRecord>,
    /// The user with the user name (ignoring case), if any.
    pub by_name: Option<UserRecord>,
}

impl Store {
    /// The realm's user with this id, if any.
    pub async fn get_user(&self, tenant: &str, realm: &str, id: &str) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    /// The realm's user with this user name, ignoring case, if any.
    pub async fn find_user_by_name(&self, tenant: &str, realm: &str, user_name: &str) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND user_name_key = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(user_name_key(user_name))
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    /// The realm's user with this external id (the identity provider's user id), if any.
    pub async fn find_user_by_external_id(
        &self,
        tenant: &str,
        realm: &str,
        external_id: &str,
    ) -> Result<Option<UserRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND external_id = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
    }

    /// The realm's user with this external id and the one with this user name (ignoring case), in
    /// one query: [`Store::find_user_by_external_id`] and [`Store::find_user_by_name`] together.
    pub async fn find_login_users(
        &self,
        tenant: &str,
        realm: &str,
        external_id: &str,
        user_name: &str,
    ) -> Result<LoginUsers> {
        let name_key = user_name_key(user_name);
        let found = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", user_name_key FROM users WHERE tenant_id = $1 AND realm_id = $2 \
             AND (external_id = $3 OR user_name_key = $4)"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(external_id)
        .bind(name_key.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut users = LoginUsers::default();
        for row in &found {
            let user = rows::user(row)?;
            if rows::get::<String>(row, "user_name_key")? == name_key {
                users.by_name = Some(user.clone());
            }
            if user.external_id.as_deref() == Some(external_id) {
                users.by_external_id = Some(user);
            }
        }
        Ok(users)
    }

    /// A page of the realm's users ordered by id: those after `after_id` (the last id of the
    /// previous page), at most `limit` (negative counts as zero).
    pub async fn list_users(
        &self,
        tenant: &str,
        realm: &str,
        after_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserRecord>> {
        let query = match after_id {
            Some(after) => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id > $3 ORDER BY id LIMIT $4"
            ))
            .bind(tenant)
            .bind(realm)
            .bind(after),
            None => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND realm_id = $2 ORDER BY id LIMIT $3"
            ))
            .bind(tenant)
            .bind(realm),
        };
        let found = query.bind(limit.max(0)).fetch_all(&self.pool).await?;
        rows::all(&found, rows::user)
    }

    /// A page of the realm's users matching `search`, ordered by user name ignoring case.
    pub async fn search_users(&self, search: UserSearch) -> Result<UserPage> {
        let mut query =
            Dynamic::new(concat!("SELECT ", user_columns!(), ", user_name_key FROM users WHERE tenant_id = "));
        let tenant = query.bind(Arg::Text(search.tenant_id));
        let realm = query.bind(Arg::Text(search.realm_id));
        query.push(&format!("{tenant} AND realm_id = {realm}"));
        if let Some(text) = search.text {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            let columns = ["user_name_key", "LOWER(email)", "LOWER(display_name)", "LOWER(external_id)"];
            let matches: Vec<String> = columns
                .iter()
                .map(|column| format!("{column} LIKE {} ESCAPE '\\'", query.bind(Arg::Text(pattern.clone()))))
                .collect();
            query.push(&format!(" AND ({})", matches.join(" OR ")));
        }
        if let Some(status) = search.status {
            let status = query.bind(Arg::Text(status.as_str().to_owned()));
            query.push(&format!(" AND status = {status}"));
        }
        if let Some(organization) = search.organization {
            let organization = query.bind(Arg::Text(organization));
            query.push(&format!(" AND organization = {organization}"));
        }
        if let Some(after) = search.after {
            let after = query.bind(Arg::Text(after));
            query.push(&format!(" AND user_name_key > {after}"));
        }
        let limit = search.limit.max(0);
        let bound = query.bind(Arg::Int(limit));
        query.push(&format!(" ORDER BY user_name_key LIMIT {bound}"));
        let found = query.fetch_all(&self.pool).await?;
        let next_after = match found.last() {
            Some(last) if found.len() as i64 == limit => Some(rows::get::<String>(last, "user_name_key")?),
            _ => None,
        };
        Ok(UserPage { users: rows::all(&found, rows::user)?, next_after })
    }

    /// Writes new attributes of a deactivated user, which stays deactivated, without a decision (no
    /// rules run for a deactivated user): one version up, audited `user.updated` (if a stored field
    /// changed) and the caller's `extra_events`, in one transaction. Returns the user as stored.
    ///
    /// [`StoreError::VersionMismatch`] if the stored user is not at `expected_version`; `Conflict`
    /// if it is active (reactivated meanwhile), or its new user name (ignoring case) or external id
    /// is another user's; `NotFound` if the realm has no such user; `Invalid` if `user` is not
    /// deactivated, or has an organization or rule-based groups.
    pub async fn update_deactivated_user(
        &self,
        user: &UserRecord,
        expected_version: i64,
        extra_events: Vec<AuditNote>,
        audit: &Audit,
    ) -> Result<UserRecord> {
        if user.status != UserStatus::Deactivated || user.organization.is_some() || !user.rule_groups.is_empty() {
            return Err(StoreError::Invalid(format!(
                "user {} must be deactivated, with no organization and no rule-based groups",
                user.id
            )));
        }
        let (tenant, realm) = (user.tenant_id.as_str(), user.realm_id.as_str());
        let mut tx = self.write().await?;
        let stored = lock_stored_user(&mut tx, tenant, realm, &user.id)
            .await?
            .ok_or_else(|| no_user(tenant, realm, &user.id))?;
        if stored.user.version != expected_version {
            return Err(StoreError::VersionMismatch {
                what: format!("user {}", user.id),
                expected: expected_version,
                actual: stored.user.version,
            });
        }
        if stored.user.status != UserStatus::Deactivated {
            return Err(StoreError::Conflict(format!(
                "user {} is active: it is not updated as a deactivated user",
                user.id
            )));
        }
        let mut user = user.clone();
        let mut events = prepare_user(&mut tx, &mut user, Some(&stored), audit).await?;
        save_user(&mut tx, &user).await?;
        events.extend(extra_events.into_iter().map(Event::from));
        audit::append(tx.conn(), tenant, audit, events).await?;
        tx.commit().await?;
        Ok(user)
    }
}

/// A stored user as read for a write, its row locked (PostgreSQL), with the key its user name is
/// stored under.
pub(super) struct StoredUser {
    /// The user.
    pub user: UserRecord,
    /// Its `user_name_key` column as stored (not always `user_name_key(&user.user_name)`: the
    /// migration that introduced the key suffixed the keys of older duplicates).
    pub name_key: String,
}

/// Completes `user` for writing over `stored` (if there is one; the caller's checks done): the
/// store's version, `deactivated_at` and creation time go into `user`. Writes nothing: `Conflict`
/// if another user of the realm has its user name (ignoring case) or external id. Returns the user
/// events to audit: `user.created`, or `user.updated` (if a stored field changed) and
/// `user.reactivated`.
pub(super) async fn prepare_user(
    tx: &mut WriteTx,
    user: &mut UserRecord,
    stored: Option<&StoredUser>,
    audit: &Audit,
) -> Result<Vec<Event>> {
    let stored_user = stored.map(|stored| &stored.user);
    user.version = stored_user.map_or(1, |stored| stored.version + 1);
    user.deactivated_at = match user.status {
        UserStatus::Active => None,
        UserStatus::Deactivated => Some(stored_user.and_then(|stored| stored.deactivated_at).unwrap_or(audit.at)),
    };
    if let Some(stored) = stored_user {
        user.created_at = stored.created_at;
    }
    // The unique indexes already hold the stored keys: only new ones need a look.
    let keys_kept = stored.is_some_and(|stored| {
        stored.name_key == user_name_key(&user.user_name) && stored.user.external_id == user.external_id
    });
    if !keys_kept {
        check_unique(tx, user).await?;
    }
    let realm = user.realm_id.as_str();
    let mut events = Vec::new();
    match stored_user {
        None => {
            let details = json!({
                "realm_id": realm, "user_name": user.user_name, "external_id": user.external_id,
                "status": user.status.as_str(), "organization": user.organization,
            });
            events.push(Event::new("user.created", user.id.as_str(), details));
        }
        Some(stored) => {
            let changed = changed_fields(stored, user);
            if !changed.is_empty() {
                let details = json!({
                    "realm_id": realm, "changed": changed, "status": user.status.as_str(),
                    "organization": user.organization,
                });
                events.push(Event::new("user.updated", user.id.as_str(), details));
            }
            if stored.status == UserStatus::Deactivated && user.status == UserStatus::Active {
                let details = json!({ "realm_id": realm, "deactivated_at": stored.deactivated_at });
                events.push(Event::new("user.reactivated", user.id.as_str(), details));
            }
        }
    }
    Ok(events)
}

/// `Conflict` if another user of the realm has the user's name (ignoring case) or external id
/// (one query; a user name clash is reported first).
async fn check_unique(tx: &mut WriteTx, user: &UserRecord) -> Result<()> {
    let name_key = user_name_key(&user.user_name);
    let found = sqlx::query(
        "SELECT id, user_name, user_name_key, external_id FROM users WHERE tenant_id = $1 AND realm_id = $2 \
         AND id <> $3 AND (user_name_key = $4 OR external_id = $5)",
    )
    .bind(user.tenant_id.as_str())
    .bind(user.realm_id.as_str())
    .bind(user.id.as_str())
    .bind(name_key.as_str())
    .bind(user.external_id.as_deref())
    .fetch_all(tx.conn())
    .await?;
    let mut by_external = None;
    for row in &found {
        let other: String = rows::get(row, "id")?;
        let other_name: String = rows::get(row, "user_name")?;
        if rows::get::<String>(row, "user_name_key")? == name_key {
            return Err(StoreError::Conflict(format!(
                "user name {:?} of user {} is already taken by user {other} ({other_name:?}) in realm {:?}",
                user.user_name, user.id, user.realm_id
            )));
        }
        by_external = Some((other, other_name));
    }
    if let (Some((other, other_name)), Some(external_id)) = (by_external, &user.external_id) {
        return Err(StoreError::Conflict(format!(
            "external id {external_id:?} of user {} ({:?}) is already that of user {other} ({other_name:?}) in realm {:?}",
            user.id, user.user_name, user.realm_id
        )));
    }
    Ok(())
}

/// The unique-violation message when a concurrent transaction won the race past [`check_unique`].
fn user_conflict(user: &UserRecord) -> String {
    format!(
        "user {} collides with another user of realm {:?} on its id, user name {:?} or external id {:?}",
        user.id, user.realm_id, user.user_name, user.external_id
    )
}

/// Users one `INSERT` saves at most (20 parameters each).
const SAVE_CHUNK: usize = 100;

/// Inserts the user, or updates every field but its keys and creation time.
pub(super) async fn save_user(tx: &mut WriteTx, user: &UserRecord) -> Result<()> {
    save_users(tx, &[user]).await
}

/// [`save_user`] for several users (distinct ids), one statement per [`SAVE_CHUNK`]. On an error
/// some chunks may be written: roll back.
pub(super) async fn save_users(tx: &mut WriteTx, users: &[&UserRecord]) -> Result<()> {
    for chunk in users.chunks(SAVE_CHUNK) {
        let sql = format!(
            "INSERT INTO users ({}, user_name_key) VALUES {} \
             ON CONFLICT (tenant_id, realm_id, id) DO UPDATE SET user_name = excluded.user_name, \
             external_id = excluded.external_id, email = excluded.email, display_name = excluded.display_name, \
             attributes = excluded.attributes, provider_groups = excluded.provider_groups, status = excluded.status, \
             organization = excluded.organization, rule_groups = excluded.rule_groups, \
             last_login_at = excluded.last_login_at, updated_at = excluded.updated_at, scim = excluded.scim, \
             version = excluded.version, deactivated_at = excluded.deactivated_at, \
             internal_groups = excluded.internal_groups, user_name_key = excluded.user_name_key",
            user_columns!(),
            values_placeholders(chunk.len(), 20)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for user in chunk {
            query = query
                .bind(user.tenant_id.as_str())
                .bind(user.realm_id.as_str())
                .bind(user.id.as_str())
                .bind(user.user_name.as_str())
                .bind(user.external_id.as_deref())
                .bind(user.email.as_deref())
                .bind(user.display_name.as_deref())
                .bind(to_json(&user.attributes)?)
                .bind(to_json(&user.provider_groups)?)
                .bind(user.status.as_str())
                .bind(user.organization.as_deref())
                .bind(to_json(&user.rule_groups)?)
                .bind(user.last_login_at)
                .bind(user.created_at)
                .bind(user.updated_at)
                .bind(user.scim.as_ref().map(to_json).transpose()?)
                .bind(user.version)
                .bind(user.deactivated_at)
                .bind(to_json(&user.internal_groups)?)
                .bind(user_name_key(&user.user_name));
        }
        query.execute(tx.conn()).await.map_err(|e| {
            let first = chunk[0];
            write_error(
                e,
                || match chunk {
                    [one] => user_conflict(one),
                    _ => format!(
                        "one of {} users collides with another user on its id, user name or external id",
                        chunk.len()
                    ),
                },
                || no_realm(&first.tenant_id, &first.realm_id).to_string(),
            )
        })?;
    }
    Ok(())
}

/// Names of the fields that differ, ignoring login and update times (which change on every login).
fn changed_fields(before: &UserRecord, after: &UserRecord) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("user_name", before.user_name != after.user_name);
    check("external_id", before.external_id != after.external_id);
    check("email", before.email != after.email);
    check("display_name", before.display_name != after.display_name);
    check("attributes", before.attributes != after.attributes);
    check("provider_groups", before.provider_groups != after.provider_groups);
    check("internal_groups", before.internal_groups != after.internal_groups);
    check("status", before.status != after.status);
    check("organization", before.organization != after.organization);
    check("rule_groups", before.rule_groups != after.rule_groups);
    check("scim", before.scim != after.scim);
    changed
}

/// The key a user name is unique by, ignoring case.
pub(super) fn user_name_key(user_name: &str) -> String {
    user_name.to_lowercase()
}

/// `NotFound` for a missing user.
pub(super) fn no_user(tenant: &str, realm: &str, id: &str) -> StoreError {
    StoreError::NotFound(format!("no user {id:?} in realm {realm:?} of tenant {tenant:?}"))
}

/// The stored user, its row locked until commit (PostgreSQL; SQLite has one writer).
pub(super) async fn lock_user(tx: &mut WriteTx, tenant: &str, realm: &str, id: &str) -> Result<Option<UserRecord>> {
    Ok(lock_stored_user(tx, tenant, realm, id).await?.map(|stored| stored.user))
}

/// [`lock_user`] with the key its user name is stored under.
pub(super) async fn lock_stored_user(
    tx: &mut WriteTx,
    tenant: &str,
    realm: &str,
    id: &str,
) -> Result<Option<StoredUser>> {
    let sql = tx.pick(
        concat!(
            "SELECT ",
            user_columns!(),
            ", user_name_key FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3 FOR NO KEY UPDATE"
        ),
        concat!(
            "SELECT ",
            user_columns!(),
            ", user_name_key FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"
        ),
    );
    let mut found = sqlx::query(sql).bind(tenant).bind(realm).bind(id).fetch_optional(tx.conn()).await?;
    if found.is_none() && tx.backend == Backend::Postgres {
        // No row to lock: two transactions writing the same new user would both insert it, the
        // second overwriting the first. An advisory lock on the user's key serialises them; the
        // second reads again once the first has committed, and finds (and locks) its row.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("{tenant}\u{1f}{realm}\u{1f}{id}"))
            .execute(tx.conn())
            .await?;
        found = sqlx::query(sql).bind(tenant).bind(realm).bind(id).fetch_optional(tx.conn()).await?;
    }
    let Some(row) = found else { return Ok(None) };
    Ok(Some(StoredUser { user: rows::user(&row)?, name_key: rows::get(&row, "user_name_key")? }))
}

/// Replaces a (locked) user's provider-group list, one version up.
pub(super) async fn write_provider_groups(
    tx: &mut WriteTx,
    user: &UserRecord,
    provider_groups: &[String],
    at: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET provider_groups = $1, version = version + 1, updated_at = $2 \
         WHERE tenant_id = $3 AND realm_id = $4 AND id = $5",
    )
    .bind(to_json(provider_groups)?)
    .bind(at)
    .bind(user.tenant_id.as_str())
    .bind(user.realm_id.as_str())
    .bind(user.id.as_str())
    .execute(tx.conn())
    .await?;
    Ok(())
}
