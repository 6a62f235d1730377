//! Evaluating conditions against a user, recording every check in the trace.
//!
//! Matching itself borrows from the user and the settings and allocates nothing (the e-mail
//! domain is computed at most once per evaluation); only the trace's descriptions are built as
//! strings.

use muster_guest::{Trace, User};

use crate::matching::{list_values, push_count, push_parts, push_quoted};
use crate::settings::{Condition, Test};

/// Evaluates conditions about one user.
pub struct Evaluator<'a> {
    user: &'a User,
    trace: &'a mut Trace,
    /// The user's e-mail domain, once a condition has asked for it.
    email_domain: Option<Option<String>>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator for `user`, recording into `trace`.
    pub fn new(user: &'a User, trace: &'a mut Trace) -> Self {
        Self { user, trace, email_domain: None }
    }

    /// The trace, for notes between evaluations.
    pub fn trace(&mut self) -> &mut Trace {
        self.trace
    }

    /// Whether `condition` (belonging to the rule or group entry `rule`) matches.
    ///
    /// Each test of an attribute, group or e-mail domain is recorded as it is checked (under
    /// `not`, as one step with the outcome inverted). `all` and `any` stop at the first operand
    /// that settles them, and only what was evaluated is recorded; nested inside another
    /// condition, they add a summary step after their operands (at the top of a rule the rule's
    /// own outcome says it).
    pub fn matches(&mut self, rule: &str, condition: &Condition) -> bool {
        self.evaluate(rule, condition, false)
    }

    fn evaluate(&mut self, rule: &str, condition: &Condition, nested: bool) -> bool {
        match condition {
            Condition::All(conditions) => {
                let failed = conditions.iter().position(|c| !self.evaluate(rule, c, true));
                if nested {
                    let mut check = String::with_capacity(48);
                    push_count(&mut check, "all of ", conditions.len(), " conditions");
                    if let Some(i) = failed {
                        push_count(&mut check, " (condition ", i + 1, " did not match)");
                    }
                    self.trace.check(rule, check, failed.is_none());
                }
                failed.is_none()
            }
            Condition::Any(conditions) => {
                let hit = conditions.iter().position(|c| self.evaluate(rule, c, true));
                if nested {
                    let mut check = String::with_capacity(48);
                    push_count(&mut check, "any of ", conditions.len(), " conditions");
                    match hit {
                        Some(i) => push_count(&mut check, " (condition ", i + 1, " matched)"),
                        None => check.push_str(" (none matched)"),
                    }
                    self.trace.check(rule, check, hit.is_some());
                }
                hit.is_some()
            }
            Condition::Not(inner) => match self.test(rule, inner, true) {
                Some(matched) => matched,
                None => {
                    let matched = !self.evaluate(rule, inner, true);
                    let check = if matched {
                        "not (the condition above did not match)"
                    } else {
                        "not (the condition above matched)"
                    };
                    self.trace.check(rule, check, matched)
                }
            },
            test => self.test(rule, test, false).unwrap_or_default(),
        }
    }

    /// Checks and records a test of an attribute, group or e-mail domain (`None` for `all`,
    /// `any` and `not`); `negate` records and returns the opposite outcome.
    fn test(&mut self, rule: &str, condition: &Condition, negate: bool) -> Option<bool> {
        let user = self.user;
        let mut check = String::new();
        let passed = match condition {
            Condition::Attribute(attribute) => {
                let values = user.attribute(&attribute.name);
                let passed = attribute.test.passes(values);
                start(&mut check, negate, "attribute ");
                check.push_str(&attribute.name);
                check.push(' ');
                attribute.test.describe(&mut check);
                list_values(&mut check, values);
                passed
            }
            Condition::ProviderGroup(test) => {
                start(&mut check, negate, "");
                groups(&mut check, "provider group", test, &user.provider_groups)
            }
            Condition::InternalGroup(test) => {
                start(&mut check, negate, "");
                groups(&mut check, "internal group", test, &user.internal_groups)
            }
            Condition::EmailDomain(test) => {
                let domain = self.email_domain.get_or_insert_with(|| user.email_domain());
                let values: &[String] = domain.as_ref().map_or(&[], std::slice::from_ref);
                let passed = test.passes(values);
                start(&mut check, negate, "email domain ");
                test.describe(&mut check);
                match values.first() {
                    Some(domain) => push_quoted(&mut check, " (domain ", domain, ")"),
                    None => check.push_str(" (no e-mail domain)"),
                }
                passed
            }
            Condition::All(_) | Condition::Any(_) | Condition::Not(_) => return None,
        };
        Some(self.trace.check(rule, check, passed.is_some() != negate))
    }
}

/// Starts the description of a test, with room for the usual length.
fn start(check: &mut String, negate: bool, subject: &str) {
    check.reserve(96);
    if negate {
        check.push_str("not ");
    }
    check.push_str(subject);
}

/// Tests a list of group names, describing the test and what it found into `check`.
fn groups<'g>(check: &mut String, kind: &str, test: &Test, groups: &'g [String]) -> Option<&'g str> {
    let passed = test.passes(groups);
    check.push_str(kind);
    check.push(' ');
    test.describe(check);
    let plural = if groups.len() == 1 { "" } else { "s" };
    if groups.is_empty() {
        push_parts(check, &[" (the user has no ", kind, "s)"]);
    } else if let Test::Present(_) = test {
        push_count(check, " (the user has ", groups.len(), " ");
        push_parts(check, &[kind, plural, ")"]);
    } else if let Some(group) = passed {
        push_quoted(check, " (matched ", group, ")");
    } else {
        push_count(check, " (none of the user's ", groups.len(), " ");
        push_parts(check, &[kind, plural, ")"]);
    }
    passed
}
