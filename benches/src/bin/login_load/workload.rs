//! The users that log in: realistic login bodies, deterministic per user index.
//!
//! Each user has 20 attributes and `all-staff`, a department group and `groups` team groups
//! (from a pool of 200) as provider groups. Against the demo realm's rules
//! (`docs/demo/user-rules.json` and the demo group rules) the mix is: about a third Sales with
//! a `sales-emea|apac|amer` group (→ `acme-sales`), a third Engineering with `engineers`
//! (→ `acme-engineering`), the rest other departments at `acme.com` (→ `acme`), and about one
//! in twenty at a partner domain in no rule (blocked: No organization); about one in five has a
//! manager title (→ group `all-managers`).

use bytes::Bytes;
use serde_json::{Value, json};

use crate::{
    people::{Person, person},
    rng::SplitMix64,
};

const CITIES: [(&str, &str, &str); 6] = [
    ("Berlin", "DE", "Europe/Berlin"),
    ("London", "GB", "Europe/London"),
    ("Paris", "FR", "Europe/Paris"),
    ("New York", "US", "America/New_York"),
    ("Singapore", "SG", "Asia/Singapore"),
    ("Sydney", "AU", "Australia/Sydney"),
];
const SALES_GROUPS: [&str; 3] = ["sales-emea", "sales-apac", "sales-amer"];
/// Distinct team groups users draw from.
const TEAM_POOL: u64 = 200;

/// The JSON body of user `index`'s login, serialized.
pub fn login_body(index: u64, groups: usize) -> Bytes {
    Bytes::from(serde_json::to_vec(&login_claims(index, groups)).expect("a JSON value serializes"))
}

/// The login claims of user `index` (see the module documentation for the mix).
fn login_claims(index: u64, groups: usize) -> Value {
    let mut random = SplitMix64(index);
    let Person { department, domain, title } = person(&mut random);
    let (city, country, zone) = CITIES[random.below(CITIES.len() as u64) as usize];
    let user_name = format!("user{index}@{domain}");

    let mut provider_groups = vec!["all-staff".to_owned()];
    provider_groups.push(match department {
        "Sales" => SALES_GROUPS[random.below(3) as usize].to_owned(),
        "Engineering" => "engineers".to_owned(),
        other => other.to_lowercase(),
    });
    for _ in 0..groups {
        provider_groups.push(format!("team-{:03}", random.below(TEAM_POOL)));
    }

    let attributes = json!({
        "department": [department],
        "title": [title],
        "employee_id": [format!("E{index:07}")],
        "employee_type": [if random.below(10) == 0 { "Contractor" } else { "Employee" }],
        "company": ["ACME Corporation"],
        "division": [format!("Division {}", random.below(8))],
        "cost_center": [format!("CC-{:04}", random.below(500))],
        "manager_id": [format!("E{:07}", random.below(index.max(1)))],
        "office_location": [format!("{city} {}", 1 + random.below(4))],
        "city": [city],
        "country": [country],
        "usage_location": [country],
        "time_zone": [zone],
        "preferred_language": ["en-US"],
        "job_family": [format!("{department} {}", ["I", "II", "III", "IV"][random.below(4) as usize])],
        "hire_year": [(2005 + random.below(20)).to_string()],
        "account_enabled": ["true"],
        "mfa_methods": ["authenticator", "fido2"],
        "proxy_addresses": [format!("SMTP:{user_name}"), format!("smtp:u{index}@mail.acme.com")],
        "extension_badge": [format!("{:08x}", random.next())],
    });
    json!({
        "provider_user_id": format!("load-{index:08}"),
        "user_name": user_name,
        "email": user_name,
        "display_name": format!("Load User {index}"),
        "attributes": attributes,
        "provider_groups": provider_groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_deterministic_and_realistic() {
        assert_eq!(login_body(42, 8), login_body(42, 8));
        assert_ne!(login_body(42, 8), login_body(43, 8));
        let claims = login_claims(7, 8);
        assert_eq!(claims["attributes"].as_object().unwrap().len(), 20);
        assert_eq!(claims["provider_groups"].as_array().unwrap().len(), 10);
        assert_eq!(claims["provider_user_id"], "load-00000007");
    }

    #[test]
    fn the_mix_hits_the_demo_rules() {
        let users: Vec<Value> = (0..1000).map(|i| login_claims(i, 8)).collect();
        let count = |f: &dyn Fn(&Value) -> bool| users.iter().filter(|u| f(u)).count();
        let sales = count(&|u| u["attributes"]["department"][0] == "Sales");
        let engineers = count(&|u| u["provider_groups"].as_array().unwrap().iter().any(|g| g == "engineers"));
        let partners = count(&|u| u["email"].as_str().unwrap().ends_with("@partner.example"));
        let managers = count(&|u| u["attributes"]["title"][0].as_str().unwrap().contains("Manager"));
        assert!((250..450).contains(&sales), "{sales} sales");
        assert!((250..450).contains(&engineers), "{engineers} engineers");
        assert!((20..90).contains(&partners), "{partners} partners");
        assert!((120..400).contains(&managers), "{managers} managers");
    }
}
