//! After the sync: is the server's state what was sent? The SCIM resource counts, and for a
//! sample of users, through the admin API, their provider groups (the SCIM groups they are in)
//! and the organization the rules gave them.

use std::collections::BTreeSet;

use hyper::{Method, StatusCode, header::HeaderValue};
use serde::Serialize;

use crate::{
    client::Client,
    workload::{self, Groups},
};

/// What the check found.
#[derive(Serialize)]
pub struct Check {
    /// `totalResults` of `GET /Users`.
    pub users_total: Option<u64>,
    /// `totalResults` of `GET /Groups`.
    pub groups_total: Option<u64>,
    /// Users whose record was compared.
    pub sampled: u64,
    /// Every difference found, for people.
    pub problems: Vec<String>,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What the check needs to know of the sync.
pub struct Expected<'a> {
    pub users: u64,
    pub groups: &'a Groups,
    pub memberships: usize,
    /// SCIM ids of the users by index (`None`: its POST failed).
    pub user_ids: &'a [Option<String>],
    pub sample: u64,
}

/// Compares the server's state with `expected`.
#[allow(clippy::too_many_arguments, reason = "the check needs every piece of the sync it compares against")]
pub async fn run(
    client: &mut Client,
    scim: &HeaderValue,
    admin: &HeaderValue,
    scim_base: &str,
    admin_users: &str,
    expected: Expected<'_>,
) -> Check {
    let mut check = Check { users_total: None, groups_total: None, sampled: 0, problems: Vec::new() };
    for (resource, wanted) in [("Users", expected.users), ("Groups", expected.groups.total)] {
        let path = format!("{scim_base}/{resource}?count=1&attributes=id");
        match client.json(Method::GET, &path, scim, None, StatusCode::OK).await {
            Ok(list) => {
                let total = list["totalResults"].as_u64();
                if total != Some(wanted) {
                    check.problems.push(format!("GET {resource}: totalResults {total:?}, expected {wanted}"));
                }
                if resource == "Users" { check.users_total = total } else { check.groups_total = total }
            }
            Err(error) => check.problems.push(format!("{error:#}")),
        }
    }
    let step = (expected.users / expected.sample.max(1)).max(1);
    for index in (0..expected.users).step_by(step as usize).take(expected.sample as usize) {
        let Some(id) = &expected.user_ids[index as usize] else { continue };
        check.sampled += 1;
        let record = match client.json(Method::GET, &format!("{admin_users}/{id}"), admin, None, StatusCode::OK).await {
            Ok(record) => record,
            Err(error) => {
                check.problems.push(format!("user {index}: {error:#}"));
                continue;
            }
        };
        let names: Vec<String> =
            expected.groups.of_user(index, expected.memberships).into_iter().map(|g| expected.groups.name(g)).collect();
        let want: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let have: BTreeSet<&str> =
            record["provider_groups"].as_array().into_iter().flatten().filter_map(|g| g.as_str()).collect();
        if want != have {
            check.problems.push(format!("user {index} ({id}): provider groups {have:?}, expected {want:?}"));
        }
        let organization = record["organization"].as_str();
        let wanted = workload::expected_organization(index, &names);
        if organization != wanted {
            check.problems.push(format!("user {index} ({id}): organization {organization:?}, expected {wanted:?}"));
        }
    }
    check
}
