//! Deciding about a user and applying the decision: the one path every trigger takes (a login,
//! a SCIM create, update, reactivation or group change). Runs the realm's active rules on what
//! the rules see of the user, applies organization, provider-group marks and rule-based groups
//! with a decision record in one transaction, and runs the realm's shadow versions beside it.

use muster_wire::{Context, Trigger};

use super::{
    SharedState, now_millis,
    rules::{RulesError, Selection},
};
use crate::decision::{
    input::{CanonicalInput, rules_input},
    outcome::RealmOutcome,
    record::{Recorded, Subject, decision_record},
};
use muster_store::{
    ApplyDecision, Audit, AuditNote, ProviderGroupMark, StoreError,
    model::{Realm, Session, UserRecord},
};

/// A change to a user that the rules must decide about.
#[derive(Debug)]
pub struct Change {
    /// The user's new state (organization and rule-based groups are filled in from the rules).
    pub user: UserRecord,
    /// What triggered the decision.
    pub trigger: Trigger,
    /// The version the stored user must be at (SCIM `If-Match`); `None` for a new user.
    pub expected_version: Option<i64>,
    /// A session to record with the decision (a login).
    pub session: Option<Session>,
    /// Audit events to append with the change.
    pub events: Vec<AuditNote>,
}

/// What was decided and applied.
#[derive(Debug)]
pub struct Applied {
    /// The user as applied (its `version` is the one passed in: the store keeps its own, so read
    /// the user again where the new version matters).
    pub user: UserRecord,
    /// Each provider group with the organizations it is now marked with.
    pub provider_groups: Vec<ProviderGroupMark>,
    /// The decision record's id.
    pub decision_id: String,
    /// The rules' full outcome with traces.
    pub outcome: RealmOutcome,
}

/// Why a decision could not be made or applied.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The rules failed.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The store refused the change (conflict, version mismatch, missing user) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The decision record could not be encoded.
    #[error("the decision record could not be encoded: {0}")]
    Encode(String),
}

impl DecideError {
    /// A short snake_case name of the failure, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            DecideError::Rules(rules) => rules.kind(),
            DecideError::Store(_) => "store",
            DecideError::Encode(_) => "encode",
        }
    }
}

/// Runs the realm's active rules on `change.user` and applies the decision.
pub async fn decide_and_apply(
    state: &SharedState,
    realm: &Realm,
    change: Change,
    actor: &str,
) -> Result<Applied, DecideError> {
    let Change { mut user, trigger, expected_version, session, events } = change;
    let input = CanonicalInput { context: Context { realm: realm.id.clone(), trigger }, user: rules_input(&user) };
    let outcome =
        state.rules.evaluate(&state.store, realm, Selection::active(realm), &input.context, &input.user).await?;
    let now = now_millis();
    user.organization = outcome.user.decision.organization.clone();
    user.rule_groups = outcome.user.decision.groups.clone();
    user.updated_at = now;
    let provider_groups = outcome.provider_group_marks();
    let subject = Subject { tenant_id: &realm.tenant_id, realm_id: &realm.id, user_id: Some(&user.id) };
    let decision = decision_record(subject, &input, &outcome, Recorded::Applied, now)
        .map_err(|e| DecideError::Encode(e.to_string()))?;
    let decision_id = decision.id.clone();
    state
        .store
        .apply_decision(
            ApplyDecision {
                user: user.clone(),
                provider_groups: provider_groups.clone(),
                decision,
                session,
                expected_version,
                extra_events: events,
            },
            &Audit { actor: actor.to_owned(), at: now },
        )
        .await?;
    state.shadow.spawn(state, realm, input, &decision_id, &user.id, &outcome);
    Ok(Applied { user, provider_groups, decision_id, outcome })
}
