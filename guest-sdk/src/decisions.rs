//! Builders for decisions, so rules read as sentences.

use crate::{GroupAssignment, UserDecision};

/// Shorthands for building a [`UserDecision`].
pub trait UserDecisionExt: Sized {
    /// The user goes to `organization`.
    fn organization(organization: impl Into<String>) -> Self;
    /// *No organization*: the user is blocked.
    fn no_organization() -> Self;
    /// Names the rule that decided.
    fn by_rule(self, rule: impl Into<String>) -> Self;
    /// Adds rule-based groups.
    fn with_groups<I: IntoIterator<Item = S>, S: Into<String>>(self, groups: I) -> Self;
}

impl UserDecisionExt for UserDecision {
    fn organization(organization: impl Into<String>) -> Self {
        UserDecision { organization: Some(organization.into()), ..UserDecision::default() }
    }

    fn no_organization() -> Self {
        UserDecision::default()
    }

    fn by_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    fn with_groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        self.groups.extend(groups.into_iter().map(Into::into));
        self
    }
}

/// Shorthands for building a [`GroupAssignment`].
pub trait GroupAssignmentExt: Sized {
    /// The group is marked with `organizations` (empty: *No organization*).
    fn organizations<I: IntoIterator<Item = S>, S: Into<String>>(group: &str, organizations: I) -> Self;
    /// Names the rule that decided.
    fn by_rule(self, rule: impl Into<String>) -> Self;
}

impl GroupAssignmentExt for GroupAssignment {
    fn organizations<I: IntoIterator<Item = S>, S: Into<String>>(group: &str, organizations: I) -> Self {
        GroupAssignment {
            group: group.to_owned(),
            organizations: organizations.into_iter().map(Into::into).collect(),
            rule: None,
        }
    }

    fn by_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }
}
