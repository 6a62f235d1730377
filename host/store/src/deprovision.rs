//! Deprovisioning: deactivating a user (blocked, in no group, sessions revoked, its memberships kept
//! but suspended) and deleting one for good.

use serde::Serialize;
use serde_json::json;

use super::{
    Audit, Result, Store,
    audit::{self, Event},
    model::{UserRecord, UserStatus},
    rows::to_json,
    scim_groups, sessions,
    users::{lock_user, no_user},
};

/// What deactivating a user did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deactivation {
    /// The user as now stored: deactivated, no organization, no rule-based groups.
    pub user: UserRecord,
    /// How many of its sessions were revoked.
    pub revoked_sessions: u64,
    /// Display names of the SCIM groups whose membership is suspended (kept, not counted), by name.
    pub suspended_groups: Vec<String>,
    /// The organization the user had.
    pub previous_organization: Option<String>,
    /// The rule-based groups the user was in.
    pub previous_rule_groups: Vec<String>,
}

impl Store {
    /// Deactivates the user in one transaction: status deactivated, `deactivated_at`, no
    /// organization, no rule-based groups, one version up; every session revoked with `reason`;
    /// its SCIM group memberships and provider-group list kept but suspended (no read of
    /// memberships counts a deactivated user; reactivation, through `apply_decision`, restores
    /// them). Audited `user.deactivated` {reason}, `user.groups_suspended` {groups, rule_groups,
    /// organization} and `user.sessions_revoked` {count}.
    ///
    /// `Ok(None)`, changing nothing, if the user is deactivated already; `NotFound` if the realm has
    /// no such user.
    pub async fn deactivate_user(
        &self,
        tenant: &str,
        realm: &str,
        user_id: &str,
        reason: &str,
        audit: &Audit,
    ) -> Result<Option<Deactivation>> {
        let mut tx = self.write().await?;
        let Some(before) = lock_user(&mut tx, tenant, realm, user_id).await? else {
            return Err(no_user(tenant, realm, user_id));
        };
        if before.status == UserStatus::Deactivated {
            return Ok(None);
        }
        let mut user = before.clone();
        user.status = UserStatus::Deactivated;
        user.deactivated_at = Some(audit.at);
        user.organization = None;
        user.rule_groups = Vec::new();
        user.version += 1;
        user.updated_at = audit.at;
        sqlx::query(
            "UPDATE users SET status = $1, deactivated_at = $2, organization = NULL, rule_groups = $3, \
             version = $4, updated_at = $5 WHERE tenant_id = $6 AND realm_id = $7 AND id = $8",
        )
        .bind(user.status.as_str())
        .bind(user.deactivated_at)
        .bind(to_json(&user.rule_groups)?)
        .bind(user.version)
        .bind(user.updated_at)
        .bind(tenant)
        .bind(realm)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
        let revoked_sessions = sessions::revoke_all(tx.conn(), tenant, realm, user_id, reason, audit.at).await?;
        let mut suspended_groups = scim_groups::group_names_of_member(tx.conn(), tenant, realm, user_id).await?;
        suspended_groups.sort_by_cached_key(|name| (name.to_lowercase(), name.clone()));
        let events = vec![
            Event::new("user.deactivated", user_id, json!({ "realm_id": realm, "reason": reason })),
            Event::new(
                "user.groups_suspended",
                user_id,
                json!({
                    "realm_id": realm, "groups": suspended_groups, "rule_groups": before.rule_groups,
                    "organization": before.organization,
                }),
            ),
            Event::new("user.sessions_revoked", user_id, json!({ "realm_id": realm, "count": revoked_sessions })),
        ];
        audit::append(tx.conn(), tenant, audit, events).await?;
        tx.commit().await?;
        Ok(Some(Deactivation {
            user,
            revoked_sessions,
            suspended_groups,
            previous_organization: before.organization,
            previous_rule_groups: before.rule_groups,
        }))
    }

    /// Deletes the user for good in one transaction: its sessions, its SCIM group memberships and
    /// its row (audited `user.deleted` {user_name, external_id}). Its decision records stay, as
    /// history. The groups it leaves keep their version: a group's version counts the group's own
    /// writes. `NotFound` if the realm has no such user.
    pub async fn delete_user(&self, tenant: &str, realm: &str, user_id: &str, audit: &Audit) -> Result<()> {
        let mut tx = self.write().await?;
        let Some(user) = lock_user(&mut tx, tenant, realm, user_id).await? else {
            return Err(no_user(tenant, realm, user_id));
        };
        for sql in [
            "DELETE FROM sessions WHERE tenant_id = $1 AND realm_id = $2 AND user_id = $3",
            "DELETE FROM scim_group_members WHERE tenant_id = $1 AND realm_id = $2 AND user_id = $3",
            "DELETE FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id = $3",
        ] {
            sqlx::query(sql).bind(tenant).bind(realm).bind(user_id).execute(tx.conn()).await?;
        }
        let details = json!({ "realm_id": realm, "user_name": user.user_name, "external_id": user.external_id });
        audit::append(tx.conn(), tenant, audit, vec![Event::new("user.deleted", user_id, details)]).await?;
        tx.commit().await
    }
}
