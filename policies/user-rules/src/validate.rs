//! Checks on a settings document beyond its shape, each reported at its exact path.

use std::collections::BTreeMap;

use muster_guest::SettingsError;
use muster_guest::settings::error_at;

use crate::settings::{Condition, Settings, Test};

/// Most rules (and, separately, most group entries) a document may hold.
pub const MAX_RULES: usize = 1000;

/// Deepest nesting of conditions: a rule's `when` is level 1, each `all`, `any` or `not` adds one.
pub const MAX_DEPTH: usize = 16;

/// The name [`UserDecision::rule`](muster_guest::UserDecision) carries when the fallback decided;
/// no rule may take it.
pub const FALLBACK: &str = "fallback";

/// Checks everything the types cannot: names, organizations, list lengths, nesting depth.
pub fn settings(settings: &Settings) -> Result<(), SettingsError> {
    count("rules", settings.rules.len())?;
    count("groups", settings.groups.len())?;

    // Rule and group-entry names share one namespace: traces refer to both by name.
    let mut names = BTreeMap::new();
    for (i, rule) in settings.rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        name(&mut names, &at, &rule.name)?;
        if rule.name == FALLBACK {
            return Err(error_at(
                format!("{at}.name"),
                "`fallback` is reserved: decisions made by the fallback carry that rule name",
            ));
        }
        non_empty(&format!("{at}.organization"), &rule.organization, "must name an organization")?;
        condition(&format!("{at}.when"), &rule.when, 1)?;
    }
    if let Some(fallback) = &settings.fallback {
        non_empty(
            "fallback",
            fallback,
            "must name an organization; leave it out (or null) to block users no rule matches",
        )?;
    }
    for (i, entry) in settings.groups.iter().enumerate() {
        let at = format!("groups[{i}]");
        name(&mut names, &at, &entry.name)?;
        non_empty(&format!("{at}.group"), &entry.group, "must name an internal group")?;
        condition(&format!("{at}.when"), &entry.when, 1)?;
    }
    Ok(())
}

fn count(path: &str, len: usize) -> Result<(), SettingsError> {
    if len > MAX_RULES {
        return Err(error_at(path, format!("holds {len} entries; at most {MAX_RULES} are allowed")));
    }
    Ok(())
}

fn non_empty(path: &str, value: &str, message: &str) -> Result<(), SettingsError> {
    if value.trim().is_empty() {
        return Err(error_at(path, message));
    }
    Ok(())
}

fn name(names: &mut BTreeMap<String, String>, at: &str, name: &str) -> Result<(), SettingsError> {
    let path = format!("{at}.name");
    non_empty(&path, name, "must not be empty")?;
    if let Some(first) = names.insert(name.to_owned(), at.to_owned()) {
        return Err(error_at(path, format!("duplicate name `{name}` (already used by {first})")));
    }
    Ok(())
}

fn condition(path: &str, cond: &Condition, depth: usize) -> Result<(), SettingsError> {
    if depth > MAX_DEPTH {
        return Err(error_at(
            path,
            format!("conditions are nested too deeply; at most {MAX_DEPTH} levels are allowed"),
        ));
    }
    match cond {
        Condition::Attribute(attribute) => {
            non_empty(&format!("{path}.attribute.name"), &attribute.name, "must name an attribute")?;
            test(&format!("{path}.attribute"), &attribute.test, false)
        }
        Condition::ProviderGroup(t) => test(&format!("{path}.provider_group"), t, false),
        Condition::InternalGroup(t) => test(&format!("{path}.internal_group"), t, false),
        Condition::EmailDomain(t) => test(&format!("{path}.email_domain"), t, true),
        Condition::All(list) => conditions(&format!("{path}.all"), list, depth),
        Condition::Any(list) => conditions(&format!("{path}.any"), list, depth),
        Condition::Not(inner) => condition(&format!("{path}.not"), inner, depth + 1),
    }
}

fn conditions(path: &str, list: &[Condition], depth: usize) -> Result<(), SettingsError> {
    if list.is_empty() {
        return Err(error_at(path, "must list at least one condition"));
    }
    for (i, inner) in list.iter().enumerate() {
        condition(&format!("{path}[{i}]"), inner, depth + 1)?;
    }
    Ok(())
}

/// `lower_case`: the tested values are lower-cased (e-mail domains), so an exact comparison with
/// an upper-case letter could never match.
fn test(path: &str, test: &Test, lower_case: bool) -> Result<(), SettingsError> {
    let exact = |path: String, value: &str| {
        if lower_case && value.chars().any(char::is_uppercase) {
            let hint = value.to_lowercase();
            return Err(error_at(path, format!("e-mail domains are compared in lower case; write `{hint}`")));
        }
        Ok(())
    };
    match test {
        Test::Equals(value) => exact(format!("{path}.equals"), value),
        Test::In(values) if values.is_empty() => Err(error_at(format!("{path}.in"), "must list at least one value")),
        Test::In(values) => {
            values.iter().enumerate().try_for_each(|(i, value)| exact(format!("{path}.in[{i}]"), value))
        }
        Test::EqualsIgnoreCase(_) | Test::Regex(_) | Test::Present(_) => Ok(()),
    }
}
