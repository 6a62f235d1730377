//! Deciding about a user and applying the decision: the one path every trigger takes (a login,
//! a SCIM create, update, reactivation or group change). Runs the realm's active rules on what
//! the rules see of the user, applies organization, provider-group marks and rule-based groups
//! with a decision record in one transaction, and runs the realm's shadow versions beside it.
//! [`redecide`] is the same for a stored user whose inputs changed elsewhere (a group write).

use muster_wire::{Context, Trigger};

use super::{
    SharedState,
    error::ServiceError,
    failure_rates::{self, Ran},
    now_millis,
    ports::DecidingStore,
    retry,
    rules::{RuleRunner, RulesError, Selection},
};
use crate::decision::{
    failure_policy::{self, Previous},
    input::{CanonicalInput, rules_input},
    outcome::RealmOutcome,
    record::{FailedRun, RecordError, Recorded, Subject, decision_record, failure_record, trigger_name},
};
use muster_store::{
    ApplyDecision, Audit, AuditNote, ProviderGroupMark, Store, StoreError,
    model::{
        DecisionRecord, FailedEvaluation, FailurePolicyApplied, FailurePolicyName, Realm, Session, UserRecord,
        UserStatus,
    },
};

/// What deciding runs on: a store (through the narrow [`DecidingStore`] view), the rule runner,
/// the session lifetime of logins and, in the live service, the state shadow versions run from.
pub struct Decider<'a, S> {
    /// Where users, modules and decisions are.
    pub store: &'a S,
    /// Loads and runs the rules.
    pub rules: &'a RuleRunner,
    /// How long a login's session lives (Unix ms).
    pub session_lifetime_millis: i64,
    /// The largest decision record stored, in bytes (`max_decision_record_bytes`).
    pub max_record_bytes: usize,
    /// The live state, to run the realm's shadow versions beside each applied decision and to
    /// count live evaluations for automatic rollback (`None`: neither, as in unit tests).
    pub live: Option<&'a SharedState>,
}

impl<'a> Decider<'a, Store> {
    /// The live service's decider: its store, its rules, shadow runs and failure counts on.
    pub fn live(state: &'a SharedState) -> Self {
        Decider {
            store: &state.store,
            rules: &state.rules,
            session_lifetime_millis: state.config.session_lifetime_millis(),
            max_record_bytes: state.config.max_decision_record_bytes,
            live: Some(state),
        }
    }
}

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
    /// The rules' full outcome with traces; `None` when they failed and the realm's failure
    /// policy decided instead.
    pub outcome: Option<RealmOutcome>,
    /// When the rules failed: the failure and what the realm's failure policy made of it.
    pub failed: Option<PolicyDecided>,
}

/// A live decision the realm's failure policy made because the rules failed.
#[derive(Debug)]
pub struct PolicyDecided {
    /// Why the rules failed.
    pub failure: FailedEvaluation,
    /// The policy that applied and what it put in effect.
    pub policy: FailurePolicyApplied,
}

impl Applied {
    /// Why a user this decision leaves without an organization is blocked.
    pub fn blocked_reason(&self) -> String {
        match (&self.outcome, &self.failed) {
            (Some(outcome), _) => outcome.blocked_reason(),
            (None, Some(failed)) => format!("{}, and it is no organization", failed.policy.reason),
            (None, None) => "no organization".to_owned(),
        }
    }
}

/// Why a decision could not be made or applied.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The rules failed, the realm's failure policy failed closed, and the failure is recorded
    /// as the decision `decision_id` (not applied).
    #[error("{error}")]
    Failed {
        /// Why.
        error: RulesError,
        /// The record of the failure.
        decision_id: String,
    },
    /// The rules did not run, or failed without a record (the tenant's slots were taken, the
    /// store failed).
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The store refused the change (conflict, version mismatch, missing user) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The decision record could not be encoded.
    #[error(transparent)]
    Encode(#[from] RecordError),
}

impl DecideError {
    /// A short snake_case name of the failure, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            DecideError::Failed { error, .. } | DecideError::Rules(error) => error.kind(),
            DecideError::Store(_) => "store",
            DecideError::Encode(_) => "encode",
        }
    }
}

impl From<DecideError> for ServiceError {
    fn from(error: DecideError) -> Self {
        match error {
            DecideError::Failed { error, decision_id } => ServiceError::rules_failed(error, Some(decision_id)),
            DecideError::Rules(rules) => rules.into(),
            DecideError::Store(store) => store.into(),
            DecideError::Encode(encode) => ServiceError::Internal(encode.to_string()),
        }
    }
}

/// Rules that failed on a live decision, before the realm's failure policy has its say.
struct RulesFailure {
    /// Why.
    error: RulesError,
    /// Time spent and fuel consumed, when the rules decided but the decision could not be kept.
    cost: Option<(i64, i64)>,
}

/// Why [`apply_rules`] applied nothing.
enum NotApplied {
    /// The rules failed: the realm's failure policy decides.
    Failed(RulesFailure),
    /// Anything else: the caller's error.
    Error(DecideError),
}

/// Runs the realm's active rules on `change.user` and applies the decision. When the rules fail
/// (see [`RulesError::failed_run`]), the realm's failure policy decides what is applied, and
/// the decision record keeps the failure and the policy. In the live service, the run is counted
/// against the active versions, and one whose failure rate passes the realm's `auto_rollback`
/// is rolled back ([`failure_rates::observe`]).
pub async fn decide_and_apply<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    change: Change,
    actor: &str,
) -> Result<Applied, DecideError> {
    let context = Context { realm: realm.id.clone(), trigger: change.trigger };
    let input = CanonicalInput { context, user: rules_input(&change.user) };
    let selection = Selection::active(realm);
    let applied = apply_rules(decider, realm, &input, selection, &change, actor).await;
    let ran = match &applied {
        Ok(_) => Some(Ran::Decided),
        Err(NotApplied::Failed(failure)) => Some(Ran::Failed(failure_rates::failed_kind(&failure.error))),
        Err(NotApplied::Error(_)) => None,
    };
    if let (Some(state), Some(ran)) = (decider.live, ran) {
        failure_rates::observe(state, realm, selection, ran).await;
    }
    match applied {
        Ok(applied) => Ok(applied),
        Err(NotApplied::Error(error)) => Err(error),
        Err(NotApplied::Failed(failure)) => {
            apply_failure_policy(decider, realm, &input, selection, change, failure, actor).await
        }
    }
}

/// Runs the rules of `selection` on `input` and applies what they decide to `change`.
async fn apply_rules<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    input: &CanonicalInput,
    selection: Selection,
    change: &Change,
    actor: &str,
) -> Result<Applied, NotApplied> {
    let failed = |error, outcome: Option<&RealmOutcome>| {
        let cost = outcome.map(|outcome| (outcome.duration_us, outcome.fuel));
        NotApplied::Failed(RulesFailure { error, cost })
    };
    let outcome = match decider.rules.evaluate(decider.store, realm, selection, &input.context, &input.user).await {
        Ok(outcome) => outcome,
        Err(error) if error.is_rules_failure() => return Err(failed(error, None)),
        Err(error) => return Err(NotApplied::Error(error.into())),
    };
    let now = now_millis();
    let mut user = change.user.clone();
    user.organization = outcome.user.decision.organization.clone();
    user.rule_groups = outcome.user.decision.groups.clone();
    user.updated_at = now;
    let provider_groups = outcome.provider_group_marks();
    let subject = Subject {
        tenant_id: &realm.tenant_id,
        realm_id: &realm.id,
        user_id: Some(&user.id),
        budget: decider.rules.budget(realm),
    };
    let decision = match decision_record(subject, input, &outcome, Recorded::Applied, now, decider.max_record_bytes) {
        Ok(decision) => decision,
        Err(RecordError::TooLarge { size, limit }) => {
            return Err(failed(RulesError::RecordTooLarge { size, limit }, Some(&outcome)));
        }
        Err(encode) => return Err(NotApplied::Error(encode.into())),
    };
    let decision_id = decision.id.clone();
    match apply(decider, realm, change, user.clone(), provider_groups.clone(), decision, now, actor).await {
        Ok(()) => {}
        // Checked in the store's transaction: one indexed look-up, true on every host sharing
        // the database, with nothing to invalidate when organizations change.
        Err(StoreError::UnknownOrganizations(organizations)) => {
            return Err(failed(RulesError::UnknownOrganizations { organizations }, Some(&outcome)));
        }
        Err(other) => return Err(NotApplied::Error(other.into())),
    }
    if let Some(state) = decider.live {
        state.shadow.spawn(state, realm, input.clone(), &decision_id, &user.id, &outcome);
    }
    Ok(Applied { user, provider_groups, decision_id, outcome: Some(outcome), failed: None })
}

/// Applies `user` and `provider_groups` with `decision`, and `change`'s session and audit
/// events, in one store transaction.
#[expect(clippy::too_many_arguments, reason = "one transaction's parts, each named")]
async fn apply<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    change: &Change,
    user: UserRecord,
    provider_groups: Vec<ProviderGroupMark>,
    decision: DecisionRecord,
    now: i64,
    actor: &str,
) -> Result<(), StoreError> {
    let apply = ApplyDecision {
        user,
        provider_groups,
        decision,
        session: change.session.clone(),
        expected_version: change.expected_version,
        extra_events: change.events.clone(),
        create_organizations: realm.create_organizations,
    };
    decider.store.apply_decision(apply, &Audit { actor: actor.to_owned(), at: now }).await
}

/// The user's previous applied decision, as the change found it stored: none for a user not
/// stored yet (a first login, a SCIM create) or coming back from deprovisioning (whose stored
/// organization and groups were taken away, not decided).
fn previous_decision(change: &Change) -> Option<Previous<'_>> {
    let stored = change.expected_version.is_some() && change.trigger != Trigger::ScimReactivate;
    stored.then_some(Previous { organization: change.user.organization.as_deref(), groups: &change.user.rule_groups })
}

/// What the realm's failure policy makes of rules that failed on `input`: failing closed, the
/// failure is recorded and nothing applied (the error names the record); otherwise the policy's
/// decision is applied to `change` with a record of the failure and the policy. Counted by
/// policy and kind. A failure that is not the rules' own is not recorded (see
/// [`RulesError::failed_run`]).
async fn apply_failure_policy<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    input: &CanonicalInput,
    selection: Selection,
    change: Change,
    failure: RulesFailure,
    actor: &str,
) -> Result<Applied, DecideError> {
    let RulesFailure { error, cost } = failure;
    let Some(mut run) = error.failed_run(selection) else { return Err(DecideError::Rules(error)) };
    if let Some(cost) = cost {
        (run.duration_us, run.fuel) = cost;
    }
    let policy = failure_policy::resolve(&realm.failure_policy, previous_decision(&change));
    decider.rules.metrics().rule_failure(policy.policy.as_str(), error.kind());
    if policy.policy == FailurePolicyName::FailClosed {
        // A user not stored yet (a first login, a SCIM create) is not named by a failure's record.
        let stored_user = change.expected_version.map(|_| change.user.id.as_str());
        let subject = Subject {
            tenant_id: &realm.tenant_id,
            realm_id: &realm.id,
            user_id: stored_user,
            budget: decider.rules.budget(realm),
        };
        return Err(record_failure(decider, subject, input, run, error, policy).await);
    }
    let now = now_millis();
    let mut user = change.user.clone();
    (user.organization, user.rule_groups, user.updated_at) = (policy.organization.clone(), policy.groups.clone(), now);
    let subject = Subject {
        tenant_id: &realm.tenant_id,
        realm_id: &realm.id,
        user_id: Some(&user.id),
        budget: decider.rules.budget(realm),
    };
    let mut decision = failure_record(subject, input, run, Recorded::Applied, now)?;
    let failure = FailedEvaluation { kind: error.kind().to_owned(), message: error.to_string() };
    (decision.applied, decision.failure_policy) = (true, Some(policy.clone()));
    let decision_id = decision.id.clone();
    apply(decider, realm, &change, user.clone(), Vec::new(), decision, now, actor).await?;
    tracing::warn!(
        tenant = realm.tenant_id, realm = realm.id, user = input.user.user_name,
        trigger = trigger_name(input.context.trigger), decision = %decision_id, kind = error.kind(), %error,
        policy = policy.policy.as_str(), "the realm's rules failed: its failure policy decided"
    );
    Ok(Applied {
        user,
        provider_groups: Vec::new(),
        decision_id,
        outcome: None,
        failed: Some(PolicyDecided { failure, policy }),
    })
}

/// Records rules that failed on `input` as a decision that was not applied, failing closed as
/// `policy` says, and logs it; the error names the record. A record the store refuses is
/// logged, and the error names none.
async fn record_failure<S: DecidingStore>(
    decider: &Decider<'_, S>,
    subject: Subject<'_>,
    input: &CanonicalInput,
    run: FailedRun,
    error: RulesError,
    policy: FailurePolicyApplied,
) -> DecideError {
    let trigger = trigger_name(input.context.trigger);
    let recorded = match failure_record(subject, input, run, Recorded::Applied, now_millis()) {
        Ok(mut record) => {
            record.failure_policy = Some(policy);
            decider.store.insert_decision(&record).await.map(|()| record.id).map_err(|e| e.to_string())
        }
        Err(encode) => Err(encode.to_string()),
    };
    match recorded {
        Ok(decision_id) => {
            tracing::warn!(
                tenant = subject.tenant_id, realm = subject.realm_id, user = input.user.user_name, trigger,
                decision = %decision_id, kind = error.kind(), %error,
                "the realm's rules failed: nothing was applied"
            );
            DecideError::Failed { error, decision_id }
        }
        Err(not_recorded) => {
            tracing::warn!(
                tenant = subject.tenant_id, realm = subject.realm_id, user = input.user.user_name, trigger,
                kind = error.kind(), %error, %not_recorded,
                "the realm's rules failed: nothing was applied, and the failure could not be recorded"
            );
            DecideError::Rules(error)
        }
    }
}

/// Decides again about the stored user `user_id` whose inputs changed elsewhere (`trigger`
/// says how), reading them again and retrying when a concurrent write moved them on. A user
/// that is gone or not active is left as it is (`None`): there is nothing to decide.
pub async fn redecide<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    user_id: &str,
    trigger: Trigger,
    actor: &str,
) -> Result<Option<Applied>, ServiceError> {
    retry::on_version_mismatch(retry::ATTEMPTS, || async {
        let Some(user) = decider.store.get_user(&realm.tenant_id, &realm.id, user_id).await? else { return Ok(None) };
        if user.status != UserStatus::Active {
            return Ok(None);
        }
        let expected_version = Some(user.version);
        let change = Change { user, trigger, expected_version, session: None, events: Vec::new() };
        Ok(Some(decide_and_apply(decider, realm, change, actor).await?))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ports::memory::{MemoryStore, realm, rule_runner};

    fn decider<'a>(store: &'a MemoryStore, rules: &'a RuleRunner) -> Decider<'a, MemoryStore> {
        Decider { store, rules, session_lifetime_millis: 60_000, max_record_bytes: usize::MAX, live: None }
    }

    fn member(realm: &Realm, status: UserStatus) -> UserRecord {
        let mut user = UserRecord::new_active(realm, "ada@acme.com", 0);
        user.status = status;
        user.version = 2;
        user.provider_groups = vec!["sales-emea".into()];
        user
    }

    #[tokio::test]
    async fn redeciding_an_active_user_applies_a_decision_with_the_trigger_given() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        let user = member(&realm, UserStatus::Active);
        store.insert_user(user.clone());
        let applied = redecide(&decider(&store, &rules), &realm, &user.id, Trigger::ScimGroupChange, "scim:c1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(applied.user.organization.as_deref(), Some("acme"));
        assert_eq!(applied.provider_groups.len(), 1);
        let recorded = store.applied();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].decision.trigger, "scim_group_change");
        assert_eq!(recorded[0].expected_version, Some(2));
        assert_eq!(store.user("acme", "entra", &user.id).unwrap().version, 3);
    }

    #[tokio::test]
    async fn users_that_are_gone_or_not_active_are_skipped() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        let deactivated = member(&realm, UserStatus::Deactivated);
        store.insert_user(deactivated.clone());
        for id in [deactivated.id.as_str(), "u-gone"] {
            let result = redecide(&decider(&store, &rules), &realm, id, Trigger::ScimGroupChange, "scim:c1").await;
            assert!(result.unwrap().is_none());
        }
        assert!(store.applied().is_empty());
    }

    #[tokio::test]
    async fn a_redecision_that_loses_a_race_reads_the_user_again() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        let user = member(&realm, UserStatus::Active);
        store.insert_user(user.clone());
        store.interleave_writes(1);
        let applied =
            redecide(&decider(&store, &rules), &realm, &user.id, Trigger::ScimGroupChange, "scim:c1").await.unwrap();
        assert!(applied.is_some());
        assert_eq!(store.applied()[0].expected_version, Some(3), "the second attempt read the moved-on user");
    }

    #[tokio::test]
    async fn a_decision_is_applied_exactly_as_the_rules_decided_on_the_canonical_input() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        let user = member(&realm, UserStatus::Active);
        let change = Change {
            user: user.clone(),
            trigger: Trigger::ScimCreate,
            expected_version: None,
            session: None,
            events: Vec::new(),
        };
        let applied = decide_and_apply(&decider(&store, &rules), &realm, change, "scim:c1").await.unwrap();
        let recorded = &store.applied()[0];
        let input: CanonicalInput = serde_json::from_str(&recorded.decision.input).unwrap();
        assert_eq!(input.user, rules_input(&user), "the record holds the one definition of the rules' input");
        assert_eq!(recorded.user.organization, applied.user.organization);
        assert_eq!(recorded.provider_groups, applied.provider_groups);
    }
}
