//! Stock policy **user-rules**: an ordered list of rules, configured entirely by settings.
//!
//! * **Organization.** Rules are tried in order and the **first** whose condition matches decides
//!   the user's organization ([`UserDecision::rule`] is its name). If none matches, the
//!   `fallback` organization is used (the rule is then named `"fallback"`); without a fallback
//!   the user gets *No organization*, which blocks the login (and the rule is `None`).
//! * **Rule-based groups.** Every entry of `groups` whose condition matches adds its internal
//!   group to the decision. Group entries are evaluated for **every** user, including users the
//!   rules block, so group membership does not depend on the organization outcome.
//!
//! # Settings
//!
//! ```json
//! {
//!   "rules": [
//!     {"name": "sales", "organization": "acme-sales",
//!      "when": {"all": [{"attribute": {"name": "department", "equals": "Sales"}},
//!                       {"provider_group": {"in": ["sales-emea", "sales-apac"]}}]}},
//!     {"name": "acme staff", "organization": "acme", "when": {"email_domain": {"equals": "acme.com"}}}
//!   ],
//!   "fallback": "acme-general",
//!   "groups": [
//!     {"name": "managers", "group": "all-managers",
//!      "when": {"attribute": {"name": "title", "regex": "(?i)manager"}}}
//!   ]
//! }
//! ```
//!
//! `fallback` (absent or `null`: block) and `groups` (absent: none) are optional.
//!
//! # Conditions
//!
//! A condition is an object with one key naming its kind:
//!
//! | Condition | Matches when |
//! |---|---|
//! | `{"attribute": {"name": "department", <test>}}` | any value of the attribute passes the test |
//! | `{"provider_group": {<test>}}` | any of the user's provider groups passes the test |
//! | `{"internal_group": {<test>}}` | any of the user's internal groups passes the test |
//! | `{"email_domain": {<test>}}` | the domain of the e-mail address (else of the user name), lower-cased, passes |
//! | `{"all": [c1, c2, …]}` | every condition matches (stops at the first that does not) |
//! | `{"any": [c1, c2, …]}` | some condition matches (stops at the first that does) |
//! | `{"not": c}` | `c` does not match |
//!
//! A `<test>` is exactly one of:
//!
//! | Test | Passes when |
//! |---|---|
//! | `"equals": "Sales"` | a value is exactly `Sales` (case-sensitive) |
//! | `"equals_ignore_case": "sales"` | a value equals `sales` ignoring case |
//! | `"in": ["a", "b"]` | a value is exactly one of the list (case-sensitive) |
//! | `"regex": "^sales-"` | a value matches the regular expression anywhere (Rust `regex` syntax; anchor with `^…$`, escape special characters such as `\\.`; `(?i)` ignores case) |
//! | `"present": true` / `false` | there is at least one value / there is none |
//!
//! For an attribute the test sits beside the name (`{"name": "title", "regex": "(?i)manager"}`);
//! for the other kinds it is the whole object (`{"provider_group": {"equals": "admins"}}`).
//! An attribute the user does not have has no values: only `"present": false` passes.
//!
//! # Validation
//!
//! A document is refused, with the path of the problem (`rules[2].when.all[0].attribute.in`),
//! when: a rule or group entry has an empty or duplicate name (rules and group entries share one
//! namespace; `fallback` is reserved for the fallback), an organization, group or attribute
//! name is empty, the fallback is an empty string, an `in`, `all` or `any` list is empty,
//! conditions nest deeper than 16 levels, there are more than 1,000 rules or group entries, an
//! e-mail domain is compared exactly with an upper-case letter (it could never match), a regex
//! does not compile, an attribute condition has no test or more than one, or a key is unknown.
//!
//! # Trace
//!
//! Every test evaluated is recorded under its rule's name with the values it saw
//! (`attribute department equals "Sales" (values: ["Sales"])`; a test under `not` is one step,
//! `not attribute …`, with the outcome inverted). `all` and `any` stop at the first operand that
//! settles them and only what was evaluated is recorded; nested inside another condition they
//! add a summary step (`any of 2 conditions (condition 2 matched)`). A matching rule adds a note
//! naming the organization; the fallback or the block is noted without a rule. Group entries
//! are traced the same way, with a note for each group added.

pub mod condition;
pub mod matching;
pub mod settings;
pub mod validate;

use muster_guest::prelude::*;

use crate::condition::Evaluator;
pub use crate::settings::{AttributeCondition, Condition, GroupRule, Rule, Settings, Test};

/// The user-rules policy.
pub struct UserRulesPolicy;

impl Policy for UserRulesPolicy {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), SettingsError> {
        validate::settings(settings)
    }
}

impl UserRules for UserRulesPolicy {
    fn decide_user(settings: &Settings, user: &User, _: &Context, trace: &mut Trace) -> UserDecision {
        let mut evaluator = Evaluator::new(user, trace);
        let mut decision = organization(settings, &mut evaluator);
        for entry in &settings.groups {
            if evaluator.matches(&entry.name, &entry.when) {
                evaluator.trace().note(Some(&entry.name), format!("adds group {}", entry.group));
                if !decision.groups.contains(&entry.group) {
                    decision.groups.push(entry.group.clone());
                }
            }
        }
        decision
    }
}

/// The organization part of the decision: first matching rule, else fallback, else blocked.
fn organization(settings: &Settings, evaluator: &mut Evaluator<'_>) -> UserDecision {
    for rule in &settings.rules {
        if evaluator.matches(&rule.name, &rule.when) {
            let note = format!("rule matched: organization {}", rule.organization);
            evaluator.trace().note(Some(&rule.name), note);
            return UserDecision::organization(&rule.organization).by_rule(&rule.name);
        }
    }
    match &settings.fallback {
        Some(fallback) => {
            evaluator.trace().note(None, format!("no rule matched: fallback organization {fallback}"));
            UserDecision::organization(fallback).by_rule(validate::FALLBACK)
        }
        None => {
            evaluator
                .trace()
                .note(None, "no rule matched and there is no fallback: No organization, the login is blocked");
            UserDecision::no_organization()
        }
    }
}

muster_guest::export!(UserRulesPolicy { user_rules, settings_schema = include_str!("../settings.schema.json") });

#[cfg(test)]
mod tests;
