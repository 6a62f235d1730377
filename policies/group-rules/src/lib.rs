//! Stock policy **group-rules**: provider groups are marked with organizations by regular
//! expressions on their names.
//!
//! For each provider group the rules are tried in order and the **first** whose pattern matches
//! the group's name decides: the group is marked with that rule's organizations (one or more).
//! A group no rule matches gets the `fallback` organizations, or, without a fallback, *No
//! organization*; such a group is then assigned the organization of its most recent member to
//! log in.
//!
//! # Settings
//!
//! ```json
//! {
//!   "rules": [
//!     {"name": "emea", "pattern": "^sales-emea(-.*)?$", "organizations": ["acme-emea", "acme-sales"]},
//!     {"name": "sales", "pattern": "^sales-", "organizations": ["acme-sales"]},
//!     {"name": "core team", "pattern": "^team\\.core$", "organizations": ["acme-core"]}
//!   ],
//!   "fallback": ["acme-general"]
//! }
//! ```
//!
//! `pattern` uses Rust `regex` syntax and matches **anywhere** in the name unless anchored with
//! `^…$`. Special characters must be escaped to be taken literally: a dot matches any character,
//! so `team\.core` (written `"team\\.core"` in JSON) is needed to match only `team.core`. Matching
//! is case-sensitive; start the pattern with `(?i)` to ignore case. `fallback` is optional
//! (absent or `null`: No organization).
//!
//! # Validation
//!
//! A document is refused, with the path of the problem, when a rule name is empty, duplicated or
//! `fallback` (reserved for the fallback's decisions), an `organizations` list or the fallback
//! is empty or holds an empty or repeated name, a pattern does not compile, there are more than
//! 1,000 rules, or a key is unknown.
//!
//! # Trace
//!
//! Each rule tried is recorded (`group "sales-emea-north" matches regex "^sales-emea(-.*)?$"`)
//! under its name; the matching rule adds a note with the organizations; a fallback or No
//! organization is noted without a rule.

pub mod settings;

use muster_guest::prelude::*;

pub use crate::settings::{GroupRule, Settings};

/// The group-rules policy.
pub struct GroupRulesPolicy;

impl Policy for GroupRulesPolicy {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), SettingsError> {
        settings::validate(settings)
    }
}

impl GroupRules for GroupRulesPolicy {
    fn decide_group(settings: &Settings, group: &str, _: &Context, trace: &mut Trace) -> GroupAssignment {
        for rule in &settings.rules {
            let check = format!("group \"{group}\" matches regex \"{}\"", rule.pattern.as_str());
            if trace.check(&rule.name, check, rule.pattern.is_match(group)) {
                let note = format!("group \"{group}\" goes to {}", rule.organizations.join(", "));
                trace.note(Some(&rule.name), note);
                return GroupAssignment::organizations(group, &rule.organizations).by_rule(&rule.name);
            }
        }
        match &settings.fallback {
            Some(fallback) => {
                let note = format!("group \"{group}\": no rule matched; fallback {}", fallback.join(", "));
                trace.note(None, note);
                GroupAssignment::organizations(group, fallback).by_rule(settings::FALLBACK)
            }
            None => {
                let note = format!(
                    "group \"{group}\": no rule matched and there is no fallback: No organization; \
                     the group takes the organization of its most recent member to log in"
                );
                trace.note(None, note);
                GroupAssignment::organizations(group, Vec::<String>::new())
            }
        }
    }
}

muster_guest::export!(GroupRulesPolicy { group_rules, settings_schema = include_str!("../settings.schema.json") });

#[cfg(test)]
mod tests;
