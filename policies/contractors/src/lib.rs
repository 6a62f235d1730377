//! Example policy **contractors**: rules written by hand in Rust, the way a tenant would write
//! its own module with the guest SDK.
//!
//! * A user whose `employee_type` attribute is `terminated` (any case) is blocked.
//! * A user whose e-mail domain is a contractor domain is a contractor: blocked if any of their
//!   departments is a blocked department, else put in the contractors organization and the
//!   rule-based group `contractors`.
//! * A user whose e-mail domain is an employee domain goes to the employees organization and the
//!   group `employees`, plus `engineering` if a department is exactly `Engineering`.
//! * Anyone else is blocked.
//!
//! Settings:
//!
//! ```json
//! {
//!   "employee_domains": ["acme.com"],
//!   "contractor_domains": ["partners.acme.io"],
//!   "employees": "acme",
//!   "contractors": "acme-contractors",
//!   "blocked_departments": ["Legal"]
//! }
//! ```

use muster_guest::prelude::*;
use muster_guest::schema::{self, JsonSchema};
use muster_guest::settings::error_at;
use serde::{Deserialize, Serialize};

/// The settings document.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// E-mail domains of employees (lower case).
    pub employee_domains: Vec<String>,
    /// E-mail domains of contractors (lower case).
    pub contractor_domains: Vec<String>,
    /// The employees' organization.
    #[schemars(transform = schema::organization)]
    pub employees: String,
    /// The contractors' organization.
    #[schemars(transform = schema::organization)]
    pub contractors: String,
    /// Departments whose contractors are blocked (exact names; none if absent).
    #[serde(default)]
    pub blocked_departments: Vec<String>,
}

/// The policy.
pub struct Contractors;

impl Policy for Contractors {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), SettingsError> {
        for (path, organization) in [("employees", &settings.employees), ("contractors", &settings.contractors)] {
            if organization.trim().is_empty() {
                return Err(error_at(path, "must name an organization"));
            }
        }
        for (list, domains) in
            [("employee_domains", &settings.employee_domains), ("contractor_domains", &settings.contractor_domains)]
        {
            for (i, domain) in domains.iter().enumerate() {
                if domain.is_empty() || *domain != domain.to_lowercase() {
                    return Err(error_at(format!("{list}[{i}]"), "must be a lower-case domain such as acme.com"));
                }
            }
        }
        if let Some(i) = settings.contractor_domains.iter().position(|d| settings.employee_domains.contains(d)) {
            return Err(error_at(format!("contractor_domains[{i}]"), "is also an employee domain"));
        }
        Ok(())
    }
}

impl UserRules for Contractors {
    fn decide_user(settings: &Settings, user: &User, _: &Context, trace: &mut Trace) -> UserDecision {
        let terminated = user.attribute("employee_type").iter().any(|t| t.eq_ignore_ascii_case("terminated"));
        if trace.check("terminated", "employee_type is \"terminated\"", terminated) {
            return UserDecision::no_organization().by_rule("terminated");
        }

        let domain = user.email_domain().unwrap_or_default();
        let departments = user.attribute("department");

        let contractor = settings.contractor_domains.contains(&domain);
        if trace.check("contractors", format!("\"{domain}\" is a contractor domain"), contractor) {
            let blocked = departments.iter().find(|d| settings.blocked_departments.contains(d));
            if let Some(department) = blocked {
                trace.note(Some("blocked department"), format!("contractors in {department} are blocked"));
                return UserDecision::no_organization().by_rule("blocked department");
            }
            return UserDecision::organization(&settings.contractors)
                .by_rule("contractors")
                .with_groups(["contractors"]);
        }

        let employee = settings.employee_domains.contains(&domain);
        if trace.check("employees", format!("\"{domain}\" is an employee domain"), employee) {
            let mut decision =
                UserDecision::organization(&settings.employees).by_rule("employees").with_groups(["employees"]);
            let engineer = departments.iter().any(|d| d == "Engineering");
            if trace.check("engineering", "department is \"Engineering\"", engineer) {
                decision = decision.with_groups(["engineering"]);
            }
            return decision;
        }

        trace.note(None, format!("\"{domain}\" is neither an employee nor a contractor domain: blocked"));
        UserDecision::no_organization()
    }
}

muster_guest::export!(Contractors { user_rules, settings_schema = include_str!("../settings.schema.json") });

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn settings() -> Settings {
        Settings {
            employee_domains: vec!["acme.com".into()],
            contractor_domains: vec!["partners.acme.io".into()],
            employees: "acme".into(),
            contractors: "acme-contractors".into(),
            blocked_departments: vec!["Legal".into()],
        }
    }

    fn decide(email: &str, attributes: &[(&str, &str)]) -> (UserDecision, Trace) {
        let mut user = User { user_name: email.into(), ..User::default() };
        user.attributes = attributes.iter().fold(BTreeMap::new(), |mut map, (k, v)| {
            map.entry(k.to_string()).or_insert_with(Vec::new).push(v.to_string());
            map
        });
        let mut trace = Trace::new();
        let decision = Contractors::decide_user(&settings(), &user, &Context::default(), &mut trace);
        (decision, trace)
    }

    #[test]
    fn employees_and_engineers() {
        let (decision, _) = decide("ada@acme.com", &[("department", "Engineering")]);
        assert_eq!(decision.organization.as_deref(), Some("acme"));
        assert_eq!(decision.groups, ["employees", "engineering"]);
    }

    #[test]
    fn contractors_blocked_by_department() {
        let (decision, _) = decide("bo@partners.acme.io", &[("department", "Sales")]);
        assert_eq!(decision.organization.as_deref(), Some("acme-contractors"));
        assert_eq!(decision.groups, ["contractors"]);

        let (decision, trace) = decide("bo@partners.acme.io", &[("department", "Sales"), ("department", "Legal")]);
        assert_eq!((decision.organization, decision.rule.as_deref()), (None, Some("blocked department")));
        assert_eq!(trace.steps().last().unwrap().check, "contractors in Legal are blocked");
    }

    #[test]
    fn terminated_and_strangers_are_blocked() {
        let (decision, _) = decide("cy@acme.com", &[("employee_type", "Terminated")]);
        assert_eq!((decision.organization, decision.rule.as_deref()), (None, Some("terminated")));
        let (decision, _) = decide("di@elsewhere.org", &[]);
        assert_eq!((decision.organization, decision.rule), (None, None));
    }

    #[test]
    fn settings_are_checked() {
        let mut bad = settings();
        bad.contractor_domains.push("acme.com".into());
        assert_eq!(Contractors::validate_settings(&bad).unwrap_err().path, "contractor_domains[1]");
        let mut bad = settings();
        bad.employee_domains[0] = "Acme.com".into();
        assert_eq!(Contractors::validate_settings(&bad).unwrap_err().path, "employee_domains[0]");
        let mut bad = settings();
        bad.contractors.clear();
        assert_eq!(Contractors::validate_settings(&bad).unwrap_err().path, "contractors");
    }

    #[test]
    fn the_published_settings_schema_is_the_settings_types_schema() {
        muster_guest::schema::assert_published::<Contractors>(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/settings.schema.json"
        ));
    }
}
