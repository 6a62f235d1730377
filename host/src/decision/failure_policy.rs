//! A realm's failure policy on a live decision whose rules failed: what the user is left with.
//! A pure function of the policy and the user's previous decision; the service records and
//! applies what it says. Previews never call it: they show the rules as they are.

use muster_store::model::{FailurePolicy, FailurePolicyApplied, FailurePolicyName};

/// A user's previous applied decision, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    /// Their organization (`None`: none, blocked).
    pub organization: Option<&'a str>,
    /// Their rule-based groups.
    pub groups: &'a [String],
}

/// What `policy` makes of a failed decision about a user whose previous decision is `previous`
/// (`None`: they have none, so `last_decision` fails closed).
pub fn resolve(policy: &FailurePolicy, previous: Option<Previous<'_>>) -> FailurePolicyApplied {
    match (policy, previous) {
        (FailurePolicy::FailClosed, _) => fail_closed("the realm fails closed"),
        (FailurePolicy::LastDecision, None) => {
            fail_closed("the realm keeps the last decision, but the user has no previous decision: failing closed")
        }
        (FailurePolicy::LastDecision, Some(previous)) => FailurePolicyApplied {
            policy: FailurePolicyName::LastDecision,
            reason: "the rules failed: the user's previous decision stands".to_owned(),
            organization: previous.organization.map(str::to_owned),
            groups: previous.groups.to_vec(),
        },
        (FailurePolicy::FallbackOrganization { organization }, _) => FailurePolicyApplied {
            policy: FailurePolicyName::FallbackOrganization,
            reason: format!("the rules failed: the user is placed in the realm's fallback organization {organization}"),
            organization: Some(organization.clone()),
            groups: Vec::new(),
        },
    }
}

/// Failing closed, for `reason`: nothing is applied.
fn fail_closed(reason: &str) -> FailurePolicyApplied {
    FailurePolicyApplied {
        policy: FailurePolicyName::FailClosed,
        reason: reason.to_owned(),
        organization: None,
        groups: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous(groups: &[String]) -> Previous<'_> {
        Previous { organization: Some("acme-sales"), groups }
    }

    #[test]
    fn failing_closed_applies_nothing_whatever_came_before() {
        let groups = vec!["managers".to_owned()];
        for before in [None, Some(previous(&groups))] {
            let applied = resolve(&FailurePolicy::FailClosed, before);
            assert_eq!(
                (applied.policy, applied.organization, applied.groups),
                (FailurePolicyName::FailClosed, None, vec![])
            );
        }
    }

    #[test]
    fn the_last_decision_stands_and_a_user_without_one_fails_closed() {
        let groups = vec!["managers".to_owned()];
        let kept = resolve(&FailurePolicy::LastDecision, Some(previous(&groups)));
        assert_eq!(kept.policy, FailurePolicyName::LastDecision);
        assert_eq!((kept.organization.as_deref(), kept.groups), (Some("acme-sales"), groups));
        let first = resolve(&FailurePolicy::LastDecision, None);
        assert_eq!((first.policy, first.organization), (FailurePolicyName::FailClosed, None));
        assert!(first.reason.contains("no previous decision"), "{}", first.reason);
    }

    #[test]
    fn the_fallback_organization_comes_without_rule_based_groups() {
        let groups = vec!["managers".to_owned()];
        let policy = FailurePolicy::FallbackOrganization { organization: "quarantine".into() };
        for before in [None, Some(previous(&groups))] {
            let placed = resolve(&policy, before);
            assert_eq!(placed.policy, FailurePolicyName::FallbackOrganization);
            assert_eq!((placed.organization.as_deref(), placed.groups.len()), (Some("quarantine"), 0));
        }
    }
}
