//! Stock policy **default-organization**: every user and every provider group of the realm goes
//! to the one organization named in the settings.
//!
//! Settings: `{"organization": "acme"}`.

use muster_guest::prelude::*;
use muster_guest::schema::{self, JsonSchema};
use muster_guest::settings::error_at;
use serde::{Deserialize, Serialize};

/// The settings document.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The organization every user and group is assigned to.
    #[schemars(transform = schema::organization)]
    pub organization: String,
}

/// The policy.
pub struct DefaultOrganization;

const RULE: &str = "default organization";

impl Policy for DefaultOrganization {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), SettingsError> {
        if settings.organization.trim().is_empty() {
            return Err(error_at("organization", "must name an organization"));
        }
        Ok(())
    }
}

impl UserRules for DefaultOrganization {
    fn decide_user(settings: &Settings, _: &User, _: &Context, trace: &mut Trace) -> UserDecision {
        trace.note(Some(RULE), format!("every user goes to {}", settings.organization));
        UserDecision::organization(&settings.organization).by_rule(RULE)
    }
}

impl GroupRules for DefaultOrganization {
    fn decide_group(settings: &Settings, group: &str, _: &Context, trace: &mut Trace) -> GroupAssignment {
        trace.note(Some(RULE), format!("group {group} goes to {}", settings.organization));
        GroupAssignment::organizations(group, [&settings.organization]).by_rule(RULE)
    }
}

muster_guest::export!(DefaultOrganization { user_rules, group_rules, settings_schema = include_str!("../settings.schema.json") });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_settings_schema_is_the_settings_types_schema() {
        muster_guest::schema::assert_published::<DefaultOrganization>(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/settings.schema.json"
        ));
    }
}
