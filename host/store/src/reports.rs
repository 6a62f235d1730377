//! Reports over a realm's effective memberships: who is in which organization and group. Only
//! active users count; a deactivated user appears nowhere.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    Result, Store,
    model::{GroupMember, ScimGroup},
    rows::{self, scim_group_columns},
    scim_groups::sort_members,
};

/// The active users of one organization (or of none: blocked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganizationMembers {
    /// The organization; `None`: No organization.
    pub organization: Option<String>,
    /// Its members, by user name (ignoring case), then id.
    pub members: Vec<GroupMember>,
}

/// A SCIM group and its active members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScimGroupMembers {
    /// The group.
    pub group: ScimGroup,
    /// Its active members, by user name (ignoring case), then id.
    pub members: Vec<GroupMember>,
}

/// A rule-based group and its active members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleGroupMembers {
    /// The group's name.
    pub name: String,
    /// Its active members, by user name (ignoring case), then id.
    pub members: Vec<GroupMember>,
}

/// Every group of a realm with its active members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMembershipsReport {
    /// Each SCIM group, those without active members included, by display name (ignoring case).
    pub scim_groups: Vec<ScimGroupMembers>,
    /// Each rule-based group some active user is in, by name.
    pub rule_groups: Vec<RuleGroupMembers>,
}

impl Store {
    /// The realm's active users grouped by organization: No organization first, then by
    /// organization id.
    pub async fn organization_members(&self, tenant: &str, realm: &str) -> Result<Vec<OrganizationMembers>> {
        let found = sqlx::query(
            "SELECT id AS user_id, user_name, display_name, organization FROM users \
             WHERE tenant_id = $1 AND realm_id = $2 AND status = 'active'",
        )
        .bind(tenant)
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;
        let mut by_organization: BTreeMap<Option<String>, Vec<GroupMember>> = BTreeMap::new();
        for row in &found {
            let organization: Option<String> = rows::get(row, "organization")?;
            by_organization.entry(organization).or_default().push(rows::member(row)?);
        }
        Ok(by_organization
            .into_iter()
            .map(|(organization, mut members)| {
                sort_members(&mut members);
                OrganizationMembers { organization, members }
            })
            .collect())
    }

    /// Every SCIM group and every rule-based group of the realm with its active members.
    pub async fn group_memberships_report(&self, tenant: &str, realm: &str) -> Result<GroupMembershipsReport> {
        let groups = sqlx::query(concat!(
            "SELECT ",
            scim_group_columns!(),
            " FROM scim_groups WHERE tenant_id = $1 AND realm_id = $2"
        ))
        .bind(tenant)
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;
        let memberships = sqlx::query(
            "SELECT m.group_id, u.id AS user_id, u.user_name, u.display_name FROM scim_group_members m JOIN users u \
             ON u.tenant_id = m.tenant_id AND u.realm_id = m.realm_id AND u.id = m.user_id \
             WHERE m.tenant_id = $1 AND m.realm_id = $2 AND u.status = 'active'",
        )
        .bind(tenant)
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;
        let users = sqlx::query(
            "SELECT id AS user_id, user_name, display_name, rule_groups FROM users \
             WHERE tenant_id = $1 AND realm_id = $2 AND status = 'active'",
        )
        .bind(tenant)
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;

        let mut members_of: BTreeMap<String, Vec<GroupMember>> = BTreeMap::new();
        for row in &memberships {
            members_of.entry(rows::get(row, "group_id")?).or_default().push(rows::member(row)?);
        }
        let mut scim_groups = rows::all(&groups, rows::scim_group)?
            .into_iter()
            .map(|group| {
                let mut members = members_of.remove(&group.id).unwrap_or_default();
                sort_members(&mut members);
                ScimGroupMembers { group, members }
            })
            .collect::<Vec<_>>();
        scim_groups.sort_by_cached_key(|g| (g.group.display_name.to_lowercase(), g.group.id.clone()));

        let mut rule_members: BTreeMap<String, Vec<GroupMember>> = BTreeMap::new();
        for row in &users {
            let member = rows::member(row)?;
            for name in rows::json::<Vec<String>>(row, "rule_groups")? {
                rule_members.entry(name).or_default().push(member.clone());
            }
        }
        let rule_groups = rule_members
            .into_iter()
            .map(|(name, mut members)| {
                sort_members(&mut members);
                members.dedup_by(|later, earlier| later.user_id == earlier.user_id);
                RuleGroupMembers { name, members }
            })
            .collect();
        Ok(GroupMembershipsReport { scim_groups, rule_groups })
    }
}
