//! Deciding about a user and applying the decision: the one path every trigger takes (a login,
//! a SCIM create, update, reactivation or group change). Runs the realm's active rules on what
//! the rules see of the user, applies organization, provider-group marks and rule-based groups
//! with a decision record in one transaction, and runs the realm's shadow versions beside it.

use std::collections::BTreeMap;

use muster_wire::{Context, Trigger, User};

use super::{
    SharedState,
    login::{CanonicalInput, decision_record, provider_group_marks},
    now_millis,
    rules::{RealmOutcome, RulesError, Selection},
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
    /// Internal groups the caller knows the user to be in (the login service's), for the rules.
    pub internal_groups: Vec<String>,
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

/// A user new to the realm, active, with a fresh id, nothing decided yet.
pub fn new_user(realm: &Realm, user_name: &str, now: i64) -> UserRecord {
    UserRecord {
        id: muster_store::ids::random_id(12),
        tenant_id: realm.tenant_id.clone(),
        realm_id: realm.id.clone(),
        user_name: user_name.to_owned(),
        external_id: None,
        email: None,
        display_name: None,
        attributes: BTreeMap::new(),
        provider_groups: Vec::new(),
        status: muster_store::model::UserStatus::Active,
        organization: None,
        rule_groups: Vec::new(),
        last_login_at: None,
        created_at: now,
        updated_at: now,
        scim: None,
        version: 1,
        deactivated_at: None,
    }
}

/// What the rules see of a stored user: the attributes SCIM provisioned, with the claims of the
/// user's last login on top (the identity provider's freshest word), the provider groups it last
/// reported, and the internal groups the caller supplies.
pub fn rules_input(user: &UserRecord, internal_groups: Vec<String>) -> User {
    let mut attributes: BTreeMap<String, Vec<String>> =
        user.scim.as_ref().map(crate::service::provisioning::scim_attributes).unwrap_or_default();
    attributes.extend(user.attributes.iter().map(|(name, values)| (name.clone(), values.clone())));
    User {
        user_name: user.user_name.clone(),
        external_id: user.external_id.clone(),
        email: user.email.clone(),
        attributes,
        provider_groups: user.provider_groups.clone(),
        internal_groups,
    }
}

/// Runs the realm's active rules on `change.user` and applies the decision.
pub async fn decide_and_apply(
    state: &SharedState,
    realm: &Realm,
    change: Change,
    actor: &str,
) -> Result<Applied, DecideError> {
    let Change { mut user, trigger, internal_groups, expected_version, session, events } = change;
    let input = CanonicalInput {
        context: Context { realm: realm.id.clone(), trigger },
        user: rules_input(&user, internal_groups),
    };
    let outcome =
        state.rules.evaluate(&state.store, realm, Selection::active(realm), &input.context, &input.user).await?;
    let now = now_millis();
    user.organization = outcome.user.decision.organization.clone();
    user.rule_groups = outcome.user.decision.groups.clone();
    user.updated_at = now;
    let provider_groups = provider_group_marks(&outcome.groups.groups, user.organization.as_deref());
    let decision = decision_record(realm, Some(&user.id), &input, &outcome, true, false, now)
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
