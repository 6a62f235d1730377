//! A login: find or create the user, run the realm's rules, apply the decision in one
//! transaction with a decision record and a new session.

use std::collections::BTreeMap;

use muster_wire::Trigger;
use serde::{Deserialize, Serialize};

use super::{
    decide::{Change, Decider, decide_and_apply},
    error::ServiceError,
    now_millis,
    ports::DecidingStore,
    retry, sessions,
};
use crate::decision::outcome::RealmOutcome;
use muster_store::{
    ProviderGroupMark,
    model::{FailedEvaluation, FailurePolicyApplied, Realm, ScimGroupsOfLogin, UserRecord, UserStatus},
};

/// What the identity provider said about the user at login.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginClaims {
    /// The IdP's stable id for the user; must equal the SCIM `externalId`.
    pub provider_user_id: String,
    /// The user name (usually the sign-in e-mail address).
    pub user_name: String,
    /// Primary e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Multi-valued attributes (claims).
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Provider groups from the claims.
    #[serde(default)]
    pub provider_groups: Vec<String>,
    /// Internal groups the login service knows the user to be in.
    #[serde(default)]
    pub internal_groups: Vec<String>,
}

/// The answer to a login.
#[derive(Debug, Clone, Serialize)]
pub struct LoginResult {
    /// Muster's id of the user.
    pub user_id: String,
    /// Whether this login created the user.
    pub created: bool,
    /// `true` when the user gets No organization (or is deactivated): the login must be refused.
    pub blocked: bool,
    /// Why the login is blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The primary organization, if any.
    pub organization: Option<String>,
    /// Rule-based internal groups.
    pub groups: Vec<String>,
    /// Each provider group with the organizations it is now marked with.
    pub provider_groups: Vec<ProviderGroupMark>,
    /// The session this login opened (absent when blocked by deactivation): give it to
    /// `…/sessions/introspect` to learn whether it is still valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The stored decision record (absent when nothing was evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// The rules' full outcome with traces (absent when nothing was evaluated, or when the rules
    /// failed and the realm's failure policy decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<RealmOutcome>,
    /// Why the rules failed, when the realm's failure policy decided instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailedEvaluation>,
    /// The failure policy that decided, why, and what it put in effect (absent when the rules
    /// decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<FailurePolicyApplied>,
}

/// Performs a login for `claims` in `realm`, reading the user again and retrying when a
/// concurrent change (another login of the same user, a SCIM write) moved the user on between
/// reading and applying.
pub async fn login<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    claims: LoginClaims,
    actor: &str,
) -> Result<LoginResult, ServiceError> {
    validate(&claims)?;
    retry::on_version_mismatch(retry::ATTEMPTS, || login_once(decider, realm, &claims, actor)).await
}

async fn login_once<S: DecidingStore>(
    decider: &Decider<'_, S>,
    realm: &Realm,
    claims: &LoginClaims,
    actor: &str,
) -> Result<LoginResult, ServiceError> {
    let existing = find_user(decider.store, realm, claims).await?;
    if let Some(user) = existing.as_ref().filter(|u| u.status == UserStatus::Deactivated) {
        return Ok(LoginResult {
            user_id: user.id.clone(),
            created: false,
            blocked: true,
            reason: Some("the user is deactivated (deprovisioned)".into()),
            organization: None,
            groups: Vec::new(),
            provider_groups: Vec::new(),
            session: None,
            decision_id: None,
            evaluation: None,
            failure: None,
            failure_policy: None,
        });
    }
    let now = now_millis();
    let created = existing.is_none();
    let expected_version = existing.as_ref().map(|user| user.version);
    let source = realm.membership_source;
    let scim = if source.login_reads_scim() {
        let user_id = existing.as_ref().map(|user| user.id.as_str());
        decider.store.scim_groups_of_login(&realm.tenant_id, &realm.id, user_id, &claims.provider_groups).await?
    } else {
        ScimGroupsOfLogin::default()
    };
    let provider_groups = source.after_login(&claims.provider_groups, &scim);
    let user = user_record(realm, existing, claims, provider_groups, now);
    let (session, token) = sessions::new_session(realm, &user.id, now, decider.session_lifetime_millis);
    let change = Change { user, trigger: Trigger::Login, expected_version, session: Some(session), events: Vec::new() };
    let applied = decide_and_apply(decider, realm, change, actor).await?;
    let blocked = applied.user.organization.is_none();
    let reason = blocked.then(|| applied.blocked_reason());
    let (failure, failure_policy) = applied.failed.map(|failed| (failed.failure, failed.policy)).unzip();
    Ok(LoginResult {
        user_id: applied.user.id,
        created,
        blocked,
        reason,
        organization: applied.user.organization,
        groups: applied.user.rule_groups,
        provider_groups: applied.provider_groups,
        session: Some(token),
        decision_id: Some(applied.decision_id),
        evaluation: applied.outcome,
        failure,
        failure_policy,
    })
}

fn validate(claims: &LoginClaims) -> Result<(), ServiceError> {
    if claims.provider_user_id.trim().is_empty() {
        return Err(ServiceError::InvalidValue("provider_user_id must not be empty".into()));
    }
    if claims.user_name.trim().is_empty() {
        return Err(ServiceError::InvalidValue("user_name must not be empty".into()));
    }
    Ok(())
}

/// The stored user this login is for, refusing a user name taken by another provider user.
async fn find_user(
    store: &impl DecidingStore,
    realm: &Realm,
    claims: &LoginClaims,
) -> Result<Option<UserRecord>, ServiceError> {
    let found =
        store.find_login_users(&realm.tenant_id, &realm.id, &claims.provider_user_id, &claims.user_name).await?;
    match (found.by_external_id, found.by_name) {
        (Some(by_id), Some(by_name)) if by_id.id != by_name.id => Err(name_conflict(claims, &by_name)),
        (Some(user), _) => Ok(Some(user)),
        (None, Some(user)) if user.external_id.as_deref().is_some_and(|id| id != claims.provider_user_id) => {
            Err(name_conflict(claims, &user))
        }
        (None, found) => Ok(found),
    }
}

fn name_conflict(claims: &LoginClaims, holder: &UserRecord) -> ServiceError {
    ServiceError::Conflict(format!(
        "cannot complete login for user name {} with provider user ID {}: that user name is already used by \
         user ID {} with provider user ID {}",
        claims.user_name,
        claims.provider_user_id,
        holder.id,
        holder.external_id.as_deref().unwrap_or("(none)")
    ))
}

/// The user as this login leaves them, before the rules decide: `provider_groups` are the
/// claims' as the realm's membership source merges them with SCIM's.
fn user_record(
    realm: &Realm,
    existing: Option<UserRecord>,
    claims: &LoginClaims,
    provider_groups: Vec<String>,
    now: i64,
) -> UserRecord {
    let mut user = existing.unwrap_or_else(|| UserRecord::new_active(realm, &claims.user_name, now));
    user.user_name = claims.user_name.clone();
    user.external_id = Some(claims.provider_user_id.clone());
    user.email = claims.email.clone().or(user.email);
    user.display_name = claims.display_name.clone().or(user.display_name);
    user.attributes = claims.attributes.clone();
    user.provider_groups = provider_groups;
    user.internal_groups = claims.internal_groups.clone();
    user.last_login_at = Some(now);
    user.updated_at = now;
    user
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ports::UserStore;
    use crate::service::{
        ports::memory::{MemoryStore, activate_trapping_user_rules, realm, rule_runner},
        rules::RuleRunner,
    };
    use muster_store::model::{FailurePolicy, FailurePolicyName, MembershipSource};

    const LIFETIME: i64 = 60_000;

    fn decider<'a>(store: &'a MemoryStore, rules: &'a RuleRunner) -> Decider<'a, MemoryStore> {
        Decider { store, rules, session_lifetime_millis: LIFETIME, max_record_bytes: usize::MAX, live: None }
    }

    fn claims(provider_user_id: &str, user_name: &str) -> LoginClaims {
        LoginClaims {
            provider_user_id: provider_user_id.into(),
            user_name: user_name.into(),
            email: None,
            display_name: None,
            attributes: [("department".to_owned(), vec!["Sales".to_owned()])].into(),
            provider_groups: vec!["all-staff".into()],
            internal_groups: Vec::new(),
        }
    }

    fn stored_user(realm: &Realm, provider_user_id: &str, user_name: &str, version: i64) -> UserRecord {
        let mut user = UserRecord::new_active(realm, user_name, 0);
        user.external_id = Some(provider_user_id.into());
        user.version = version;
        user
    }

    #[tokio::test]
    async fn a_first_login_creates_the_user_and_applies_a_decision_with_a_session() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        let result = login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap();
        assert!(result.created && !result.blocked, "{result:?}");
        assert_eq!(result.organization.as_deref(), Some("acme"));
        let stored = store.user("acme", "entra", &result.user_id).unwrap();
        assert_eq!((stored.version, stored.organization.as_deref()), (1, Some("acme")));
        assert_eq!(stored.external_id.as_deref(), Some("00u1"));
        let applied = store.applied();
        assert_eq!(applied.len(), 1);
        assert_eq!(applied[0].decision.trigger, "login");
        assert_eq!(Some(&applied[0].decision.id), result.decision_id.as_ref());
        let session = applied[0].session.as_ref().unwrap();
        assert_eq!(session.expires_at - session.created_at, LIFETIME);
    }

    #[tokio::test]
    async fn a_user_name_held_by_another_provider_user_is_a_conflict_and_nothing_is_applied() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        store.insert_user(stored_user(&realm, "00u-other", "Ada@Acme.com", 1));
        let error =
            login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap_err();
        assert!(matches!(&error, ServiceError::Conflict(message) if message.contains("00u-other")), "{error:?}");
        assert!(store.applied().is_empty());
    }

    #[tokio::test]
    async fn a_deactivated_user_is_blocked_without_a_decision_or_a_session() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        let mut user = stored_user(&realm, "00u1", "ada@acme.com", 4);
        user.status = UserStatus::Deactivated;
        store.insert_user(user.clone());
        let result = login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap();
        assert!(result.blocked && !result.created, "{result:?}");
        assert_eq!((result.session, result.decision_id), (None, None));
        assert!(store.applied().is_empty());
        assert_eq!(store.user("acme", "entra", &user.id).unwrap().version, 4);
    }

    #[tokio::test]
    async fn a_login_that_loses_a_race_reads_the_user_again_and_succeeds() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        let user = stored_user(&realm, "00u1", "ada@acme.com", 3);
        store.insert_user(user.clone());
        store.interleave_writes(retry::ATTEMPTS - 1);
        let result = login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap();
        assert_eq!(result.user_id, user.id);
        assert_eq!(store.applied().len(), 1, "only the last attempt applied");
        // Two concurrent writes, then this login's own.
        assert_eq!(store.user("acme", "entra", &user.id).unwrap().version, 3 + 2 + 1);
    }

    #[tokio::test]
    async fn a_login_that_keeps_losing_gives_up_with_the_version_mismatch() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        store.insert_user(stored_user(&realm, "00u1", "ada@acme.com", 3));
        store.interleave_writes(retry::ATTEMPTS);
        let error =
            login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap_err();
        assert!(matches!(error, ServiceError::VersionMismatch { expected: 5, actual: 6, .. }), "{error:?}");
        assert!(store.applied().is_empty());
    }

    #[tokio::test]
    async fn rules_that_fail_apply_nothing() {
        let (store, rules, mut realm) = (MemoryStore::default(), rule_runner(), realm());
        activate_trapping_user_rules(&store, &mut realm);
        let error =
            login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap_err();
        let ServiceError::RulesFailed { decision_id: Some(decision_id), .. } = &error else {
            panic!("a failure with a record: {error:?}")
        };
        assert!(store.applied().is_empty());
        let recorded = store.recorded();
        assert_eq!(recorded.len(), 1, "the failure is recorded");
        assert_eq!(&recorded[0].id, decision_id);
        assert_eq!(recorded[0].failure.as_ref().map(|f| f.kind.as_str()), Some("trap"));
        assert_eq!(recorded[0].user_id, None, "a first login names no stored user");
        let policy = recorded[0].failure_policy.as_ref().map(|p| p.policy);
        assert_eq!(policy, Some(FailurePolicyName::FailClosed), "the record says the realm failed closed");
        assert!(recorded[0].fuel > 0, "what ran is charged");
    }

    #[tokio::test]
    async fn under_last_decision_a_stored_users_previous_decision_stands_and_a_first_login_fails_closed() {
        let (store, rules, mut realm) = (MemoryStore::default(), rule_runner(), realm());
        activate_trapping_user_rules(&store, &mut realm);
        realm.failure_policy = FailurePolicy::LastDecision;
        let mut ada = stored_user(&realm, "00u1", "ada@acme.com", 2);
        (ada.organization, ada.rule_groups) = (Some("acme-sales".into()), vec!["managers".into()]);
        store.insert_user(ada.clone());
        let result = login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap();
        assert!(!result.blocked && result.session.is_some(), "{result:?}");
        assert_eq!(
            (result.organization.as_deref(), result.groups.as_slice()),
            (Some("acme-sales"), ["managers".to_owned()].as_slice())
        );
        assert_eq!(result.failure_policy.as_ref().map(|p| p.policy), Some(FailurePolicyName::LastDecision));
        assert_eq!(result.failure.as_ref().map(|f| f.kind.as_str()), Some("trap"));
        let applied = &store.applied()[0];
        assert!(applied.decision.applied && applied.decision.failure.is_some(), "{:?}", applied.decision);
        assert_eq!(applied.decision.output, "null", "the rules decided nothing");
        assert_eq!(applied.decision.failure_policy.as_ref().map(|p| p.policy), Some(FailurePolicyName::LastDecision));

        let error =
            login(&decider(&store, &rules), &realm, claims("00u2", "bob@acme.com"), "key:k1").await.unwrap_err();
        assert!(matches!(error, ServiceError::RulesFailed { decision_id: Some(_), .. }), "{error:?}");
        let closed = store.recorded().pop().unwrap();
        assert_eq!(closed.failure_policy.map(|p| p.policy), Some(FailurePolicyName::FailClosed));
        assert_eq!(store.applied().len(), 1, "the first login applied nothing");
    }

    #[tokio::test]
    async fn under_fallback_organization_a_first_login_is_placed_there_without_rule_based_groups() {
        let (store, rules, mut realm) = (MemoryStore::default(), rule_runner(), realm());
        activate_trapping_user_rules(&store, &mut realm);
        realm.failure_policy = FailurePolicy::FallbackOrganization { organization: "quarantine".into() };
        let result = login(&decider(&store, &rules), &realm, claims("00u1", "ada@acme.com"), "key:k1").await.unwrap();
        assert!(result.created && !result.blocked, "{result:?}");
        assert_eq!((result.organization.as_deref(), result.groups.len()), (Some("quarantine"), 0));
        assert!(result.evaluation.is_none(), "the rules decided nothing");
        let recorded = &store.applied()[0].decision;
        assert_eq!(recorded.user_id.as_deref(), Some(result.user_id.as_str()));
        let policy = recorded.failure_policy.as_ref().unwrap();
        assert_eq!(
            (policy.policy, policy.organization.as_deref()),
            (FailurePolicyName::FallbackOrganization, Some("quarantine"))
        );
    }

    #[tokio::test]
    async fn the_realms_membership_source_merges_the_claims_with_scims_groups() {
        let (store, rules, mut realm) = (MemoryStore::default(), rule_runner(), realm());
        store.insert_user(stored_user(&realm, "00u1", "ada@acme.com", 1));
        let ada =
            store.find_login_users("acme", "entra", "00u1", "ada@acme.com").await.unwrap().by_external_id.unwrap();
        store.insert_scim_group("sales", &[ada.id.as_str()]);
        store.insert_scim_group("Admins", &[]);
        let mut stale = claims("00u1", "ada@acme.com");
        stale.provider_groups = vec!["admins".into(), "all-staff".into(), "all-staff".into()];
        let expected: [(MembershipSource, &[&str]); 3] = [
            (MembershipSource::Newest, &["admins", "all-staff", "all-staff"]),
            (MembershipSource::Claims, &["admins", "all-staff", "all-staff"]),
            (MembershipSource::Scim, &["all-staff", "sales"]),
        ];
        for (source, groups) in expected {
            realm.membership_source = source;
            let result = login(&decider(&store, &rules), &realm, stale.clone(), "key:k1").await.unwrap();
            let seen = store.user("acme", "entra", &result.user_id).unwrap().provider_groups;
            assert_eq!(seen, groups, "{source:?}: a SCIM group is never claimed in, nor claimed away, under scim");
        }
    }

    #[tokio::test]
    async fn blank_claims_are_invalid_values() {
        let (store, rules, realm) = (MemoryStore::default(), rule_runner(), realm());
        for claims in [claims(" ", "ada@acme.com"), claims("00u1", "")] {
            let error = login(&decider(&store, &rules), &realm, claims, "key:k1").await.unwrap_err();
            assert!(matches!(error, ServiceError::InvalidValue(_)), "{error:?}");
        }
        assert!(store.applied().is_empty());
    }
}
