//! Deciding about a user and applying the decision: the one path every trigger takes (a login,
//! a SCIM create, update, reactivation or group change). Runs the realm's active rules on what
//! the rules see of the user, applies organization, provider-group marks and rule-based groups
//! with a decision record in one transaction, and runs the realm's shadow versions beside it.
//! [`redecide`] is the same for a stored user whose inputs changed elsewhere (a group write).

use muster_wire::{Context, Trigger};

use super::{
    SharedState,
    error::ServiceError,
    now_millis,
    ports::DecidingStore,
    retry,
    rules::{RuleRunner, RulesError, Selection},
};
use crate::decision::{
    input::{CanonicalInput, rules_input},
    outcome::RealmOutcome,
    record::{RecordError, Recorded, Subject, decision_record, failure_record, trigger_name},
};
use muster_store::{
    ApplyDecision, Audit, AuditNote, ProviderGroupMark, Store, StoreError,
    model::{Realm, Session, UserRecord, UserStatus},
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
    /// The live state, to run the realm's shadow versions beside each applied decision (`None`:
    /// no shadow runs, as in unit tests).
    pub shadow: Option<&'a SharedState>,
}

impl<'a> Decider<'a, Store> {
    /// The live service's decider: its store, its rules, shadow runs on.
    pub fn live(state: &'a SharedState) -> Self {
        Decider {
            store: &state.store,
            rules: &state.rules,
            session_lifetime_millis: state.config.session_lifetime_millis(),
            max_record_bytes: state.config.max_decision_record_bytes,
            shadow: Some(state),
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
    /// The rules' full outcome with traces.
    pub outcome: RealmOutcome,
}

/// Why a decision could not be made or applied.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The rules failed, and the failure is recorded as the decision `decision_id` (not
    /// applied).
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
    #[error("{0}")]
    Encode(String),
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
            DecideError::Encode(detail) => ServiceError::Internal(detail),
        }
    }
}

/// Runs the realm's active rules on `change.user` and applies the decision.
pub async fn decide_and_apply<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    change: Change,
    actor: &str,
) -> Result<Applied, DecideError> {
    let Change { mut user, trigger, expected_version, session, events } = change;
    let input = CanonicalInput { context: Context { realm: realm.id.clone(), trigger }, user: rules_input(&user) };
    // A user not stored yet (a first login, a SCIM create) is not named by a failure's record.
    let stored_user = expected_version.map(|_| user.id.clone());
    let subject = Subject { tenant_id: &realm.tenant_id, realm_id: &realm.id, user_id: stored_user.as_deref() };
    let selection = Selection::active(realm);
    let outcome = match decider.rules.evaluate(decider.store, realm, selection, &input.context, &input.user).await {
        Ok(outcome) => outcome,
        Err(error) => return Err(record_failure(decider, subject, &input, selection, error, None).await),
    };
    let now = now_millis();
    user.organization = outcome.user.decision.organization.clone();
    user.rule_groups = outcome.user.decision.groups.clone();
    user.updated_at = now;
    let provider_groups = outcome.provider_group_marks();
    let subject = Subject { user_id: Some(&user.id), ..subject };
    let decision = match decision_record(subject, &input, &outcome, Recorded::Applied, now, decider.max_record_bytes) {
        Ok(decision) => decision,
        Err(RecordError::TooLarge { size, limit }) => {
            let subject = Subject { user_id: stored_user.as_deref(), ..subject };
            let error = RulesError::RecordTooLarge { size, limit };
            return Err(record_failure(decider, subject, &input, selection, error, Some(&outcome)).await);
        }
        Err(encode @ RecordError::Encode(_)) => return Err(DecideError::Encode(encode.to_string())),
    };
    let decision_id = decision.id.clone();
    let applied = decider
        .store
        .apply_decision(
            ApplyDecision {
                user: user.clone(),
                provider_groups: provider_groups.clone(),
                decision,
                session,
                expected_version,
                extra_events: events,
                create_organizations: realm.create_organizations,
            },
            &Audit { actor: actor.to_owned(), at: now },
        )
        .await;
    match applied {
        Ok(()) => {}
        // Checked in the store's transaction: one indexed look-up, true on every host sharing
        // the database, with nothing to invalidate when organizations change.
        Err(StoreError::UnknownOrganizations(organizations)) => {
            let subject = Subject { user_id: stored_user.as_deref(), ..subject };
            let error = RulesError::UnknownOrganizations { organizations };
            return Err(record_failure(decider, subject, &input, selection, error, Some(&outcome)).await);
        }
        Err(other) => return Err(other.into()),
    }
    if let Some(state) = decider.shadow {
        state.shadow.spawn(state, realm, input, &decision_id, &user.id, &outcome);
    }
    Ok(Applied { user, provider_groups, decision_id, outcome })
}

/// Records rules that failed on `input` as a decision (not applied) and logs it; the error names
/// the record. `ran` is the outcome when the rules decided but the decision could not be kept.
/// A failure that is not the rules' (see [`RulesError::failed_run`]) is neither recorded nor
/// logged here, and so is a record the store refuses (logged).
async fn record_failure<S: DecidingStore>(
    decider: &Decider<'_, S>,
    subject: Subject<'_>,
    input: &CanonicalInput,
    selection: Selection,
    error: RulesError,
    ran: Option<&RealmOutcome>,
) -> DecideError {
    let Some(mut run) = error.failed_run(selection) else { return DecideError::Rules(error) };
    if let Some(outcome) = ran {
        (run.duration_us, run.fuel) = (outcome.duration_us, outcome.fuel);
    }
    let trigger = trigger_name(input.context.trigger);
    let recorded = match failure_record(subject, input, run, Recorded::Applied, now_millis()) {
        Ok(record) => decider.store.insert_decision(&record).await.map(|()| record.id).map_err(|e| e.to_string()),
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
        Decider { store, rules, session_lifetime_millis: 60_000, max_record_bytes: usize::MAX, shadow: None }
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
