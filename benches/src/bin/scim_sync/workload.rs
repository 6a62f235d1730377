//! What is provisioned: users, groups and memberships as Entra ID sends them, deterministic
//! per index, and what the demo realm's rules should make of them.
//!
//! Users have the department mix of `login_load` against the demo rules
//! (`docs/demo/user-rules.json`): about a third Sales, a third Engineering, the rest other
//! departments; one in twenty at a partner domain; one in five a manager. With department groups
//! (the default) the first groups are `sales-emea`, `sales-apac`, `sales-amer` and `engineers`:
//! each Sales user is in one region group (→ `acme-sales` once the membership arrives), each
//! Engineering user in `engineers`. The other groups are teams named like the provider groups
//! the demo's group rules mark (`^sales-` → `acme-sales`): `sales-emea-team-0042`,
//! `eng-team-0043`, `team-0044`. Each user's remaining memberships are distinct team groups.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::{
    people::{Person, person},
    rng::SplitMix64,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GIVEN: [&str; 8] = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"];
const FAMILY: [&str; 8] = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"];
const REGIONS: [&str; 3] = ["emea", "apac", "amer"];
/// The department groups (with `--department-groups`): three Sales regions, then Engineering.
pub const DEPARTMENT_GROUPS: [&str; 4] = ["sales-emea", "sales-apac", "sales-amer", "engineers"];

/// One user as the generator knows it.
pub struct User {
    pub department: &'static str,
    pub domain: &'static str,
    pub title: &'static str,
    /// Index in `DEPARTMENT_GROUPS` of a Sales user's region group.
    pub region: usize,
}

/// User `index`'s attributes (deterministic).
pub fn user(index: u64) -> User {
    let mut random = SplitMix64(index);
    let Person { department, domain, title } = person(&mut random);
    User { department, domain, title, region: random.below(3) as usize }
}

/// The userName (and work e-mail) of user `index`.
pub fn user_name(index: u64) -> String {
    format!("user{index}@{}", user(index).domain)
}

/// The `POST /Users` body of user `index`, as Entra ID sends it.
pub fn user_body(index: u64) -> Bytes {
    let u = user(index);
    let mut random = SplitMix64(index ^ NAME_SEED);
    let given = GIVEN[random.below(8) as usize];
    let family = FAMILY[random.below(8) as usize];
    let user_name = user_name(index);
    let mut enterprise = json!({
        "department": u.department,
        "employeeNumber": format!("E{index:07}"),
        "costCenter": format!("CC-{:04}", random.below(500)),
        "division": format!("Division {}", random.below(8)),
        "organization": "ACME Corporation",
    });
    if index > 0 {
        enterprise["manager"] = json!({"value": external_id(random.below(index))});
    }
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external_id(index),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family} {index}"),
        "name": {"formatted": format!("{given} {family}"), "givenName": given, "familyName": family},
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "title": u.title,
        "preferredLanguage": "en-US",
        ENTERPRISE: enterprise,
    });
    Bytes::from(serde_json::to_vec(&body).expect("a JSON value serializes"))
}

/// The externalId of user `index` (Entra: the object id or mailNickname).
fn external_id(index: u64) -> String {
    format!("scim-{index:08}")
}

/// A seed that keeps the names apart from the department draw.
const NAME_SEED: u64 = 0x5c1a_b0d1;

/// The group layout: how many department groups lead, how many teams follow.
#[derive(Clone, Copy)]
pub struct Groups {
    pub total: u64,
    /// 4 with department groups, else 0.
    pub departments: u64,
}

impl Groups {
    pub fn new(total: u64, department_groups: bool) -> anyhow::Result<Self> {
        let departments = if department_groups { DEPARTMENT_GROUPS.len() as u64 } else { 0 };
        anyhow::ensure!(
            total > departments,
            "--groups must be more than {departments} (the department groups) to leave team groups"
        );
        Ok(Groups { total, departments })
    }

    fn teams(&self) -> u64 {
        self.total - self.departments
    }

    /// The displayName of group `index`.
    pub fn name(&self, index: u64) -> String {
        if index < self.departments {
            return DEPARTMENT_GROUPS[index as usize].to_owned();
        }
        match index % 3 {
            0 => format!("sales-{}-team-{index:04}", REGIONS[(index / 3 % 3) as usize]),
            1 => format!("eng-team-{index:04}"),
            _ => format!("team-{index:04}"),
        }
    }

    /// The `POST /Groups` body of group `index`, as Entra ID sends it (members come later).
    pub fn body(&self, index: u64) -> Bytes {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": format!("grp-{index:06}"),
            "displayName": self.name(index),
            "members": [],
        });
        Bytes::from(serde_json::to_vec(&body).expect("a JSON value serializes"))
    }

    /// The groups user `index` is in: its department group, if any, then distinct team groups up
    /// to `memberships` (fewer when there are not that many teams).
    pub fn of_user(&self, index: u64, memberships: usize) -> Vec<u64> {
        let u = user(index);
        let mut groups = Vec::with_capacity(memberships);
        if self.departments > 0 && memberships > 0 {
            match u.department {
                "Sales" => groups.push(u.region as u64),
                "Engineering" => groups.push(3),
                _ => {}
            }
        }
        let wanted = memberships.min(groups.len() + self.teams() as usize);
        let mut random = SplitMix64(index.wrapping_mul(31).wrapping_add(7));
        while groups.len() < wanted {
            let team = self.departments + random.below(self.teams());
            if !groups.contains(&team) {
                groups.push(team);
            }
        }
        groups
    }
}

/// The organization the demo rules give user `index` once its memberships are in: Sales in a
/// sales region group → `acme-sales`; Engineering → `acme-engineering`; otherwise `acme` at
/// acme.com, none (blocked) elsewhere.
pub fn expected_organization(index: u64, names: &[String]) -> Option<&'static str> {
    let u = user(index);
    let in_region = names.iter().any(|n| matches!(n.as_str(), "sales-emea" | "sales-apac" | "sales-amer"));
    if u.department == "Sales" && in_region {
        Some("acme-sales")
    } else if u.department == "Engineering" || names.iter().any(|n| n == "engineers") {
        Some("acme-engineering")
    } else if u.domain == "acme.com" {
        Some("acme")
    } else {
        None
    }
}

/// The `PATCH /Groups/{id}` body adding these members (SCIM ids), as Entra ID sends it.
pub fn add_members_body(member_ids: &[&str]) -> Bytes {
    let value: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": value}],
    });
    Bytes::from(serde_json::to_vec(&body).expect("a JSON value serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_deterministic_and_entra_shaped() {
        assert_eq!(user_body(42), user_body(42));
        let body: Value = serde_json::from_slice(&user_body(42)).unwrap();
        assert_eq!(body["externalId"], "scim-00000042");
        assert_eq!(body["emails"][0]["type"], "work");
        assert!(body[ENTERPRISE]["department"].is_string());
        assert!(body[ENTERPRISE]["manager"]["value"].is_string());
    }

    #[test]
    fn memberships_are_distinct_and_hit_the_department_groups() {
        let groups = Groups::new(1000, true).unwrap();
        let mut sizes = vec![0u64; 1000];
        for index in 0..10_000 {
            let of = groups.of_user(index, 3);
            assert_eq!(of.len(), 3);
            let mut unique = of.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 3);
            of.iter().for_each(|&g| sizes[g as usize] += 1);
        }
        assert!((2500..4500).contains(&sizes[3]), "engineers: {}", sizes[3]);
        assert!(sizes[4..].iter().all(|&s| s < 100));
        assert_eq!(groups.name(0), "sales-emea");
        assert!(groups.name(6).starts_with("sales-"));
    }
}
