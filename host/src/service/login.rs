//! A login: find or create the user, run the realm's rules, apply the decision in one
//! transaction with a decision record and a new session.

use std::collections::BTreeMap;

use muster_wire::{Context, Trigger, User};
use serde::{Deserialize, Serialize};

use super::{
    SharedState,
    decide::{Change, DecideError, decide_and_apply, new_user},
    now_millis,
    rules::{RealmOutcome, trigger_name},
    sessions,
};
use crate::api::error::ApiError;
use muster_store::{
    ProviderGroupMark, StoreError,
    model::{DecisionRecord, Realm, UserRecord, UserStatus},
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
    /// The rules' full outcome with traces (absent when nothing was evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<RealmOutcome>,
}

/// The canonical input of a decision: what the rules saw, exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CanonicalInput {
    /// Realm and trigger.
    pub context: Context,
    /// The user as the rules saw it.
    pub user: User,
}

/// How often a login is retried when a concurrent change (another login of the same user, a
/// SCIM write) moved the user on between reading and applying.
const ATTEMPTS: usize = 3;

/// Performs a login for `claims` in `realm`.
pub async fn login(
    state: &SharedState,
    realm: &Realm,
    claims: LoginClaims,
    actor: &str,
) -> Result<LoginResult, ApiError> {
    validate(&claims)?;
    let mut attempt = 1;
    loop {
        match login_once(state, realm, &claims, actor).await {
            Err(DecideError::Store(StoreError::VersionMismatch { .. })) if attempt < ATTEMPTS => attempt += 1,
            result => return result.map_err(login_failure),
        }
    }
}

async fn login_once(
    state: &SharedState,
    realm: &Realm,
    claims: &LoginClaims,
    actor: &str,
) -> Result<LoginResult, DecideError> {
    let existing = find_user(state, realm, claims).await?;
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
        });
    }
    let now = now_millis();
    let created = existing.is_none();
    let expected_version = existing.as_ref().map(|user| user.version);
    let user = user_record(realm, existing, claims, now);
    let (session, token) = sessions::new_session(realm, &user.id, now);
    let change = Change {
        user,
        trigger: Trigger::Login,
        internal_groups: claims.internal_groups.clone(),
        expected_version,
        session: Some(session),
        events: Vec::new(),
    };
    let applied = decide_and_apply(state, realm, change, actor).await?;
    let blocked = applied.user.organization.is_none();
    Ok(LoginResult {
        user_id: applied.user.id,
        created,
        blocked,
        reason: blocked.then(|| blocked_reason(&applied.outcome)),
        organization: applied.user.organization,
        groups: applied.user.rule_groups,
        provider_groups: applied.provider_groups,
        session: Some(token),
        decision_id: Some(applied.decision_id),
        evaluation: Some(applied.outcome),
    })
}

fn validate(claims: &LoginClaims) -> Result<(), ApiError> {
    if claims.provider_user_id.trim().is_empty() {
        return Err(ApiError::Unprocessable("provider_user_id must not be empty".into()));
    }
    if claims.user_name.trim().is_empty() {
        return Err(ApiError::Unprocessable("user_name must not be empty".into()));
    }
    Ok(())
}

/// The stored user this login is for, refusing a user name taken by another provider user.
async fn find_user(state: &SharedState, realm: &Realm, claims: &LoginClaims) -> Result<Option<UserRecord>, StoreError> {
    let found =
        state.store.find_login_users(&realm.tenant_id, &realm.id, &claims.provider_user_id, &claims.user_name).await?;
    match (found.by_external_id, found.by_name) {
        (Some(by_id), Some(by_name)) if by_id.id != by_name.id => Err(name_conflict(claims, &by_name)),
        (Some(user), _) => Ok(Some(user)),
        (None, Some(user)) if user.external_id.as_deref().is_some_and(|id| id != claims.provider_user_id) => {
            Err(name_conflict(claims, &user))
        }
        (None, found) => Ok(found),
    }
}

fn name_conflict(claims: &LoginClaims, holder: &UserRecord) -> StoreError {
    StoreError::Conflict(format!(
        "cannot complete login for user name {} with provider user ID {}: that user name is already used by \
         user ID {} with provider user ID {}",
        claims.user_name,
        claims.provider_user_id,
        holder.id,
        holder.external_id.as_deref().unwrap_or("(none)")
    ))
}

/// The user as this login leaves them, before the rules decide.
fn user_record(realm: &Realm, existing: Option<UserRecord>, claims: &LoginClaims, now: i64) -> UserRecord {
    let mut user = existing.unwrap_or_else(|| new_user(realm, &claims.user_name, now));
    user.user_name = claims.user_name.clone();
    user.external_id = Some(claims.provider_user_id.clone());
    user.email = claims.email.clone().or(user.email);
    user.display_name = claims.display_name.clone().or(user.display_name);
    user.attributes = claims.attributes.clone();
    user.provider_groups = claims.provider_groups.clone();
    user.last_login_at = Some(now);
    user.updated_at = now;
    user
}

/// Marks each provider group; a group the rules give No organization takes the organization
/// of this user, its most recent member to log in.
pub fn provider_group_marks(
    assignments: &[muster_wire::GroupAssignment],
    user_organization: Option<&str>,
) -> Vec<ProviderGroupMark> {
    assignments
        .iter()
        .map(|assignment| ProviderGroupMark {
            name: assignment.group.clone(),
            organizations: if assignment.organizations.is_empty() {
                user_organization.map(str::to_owned).into_iter().collect()
            } else {
                assignment.organizations.clone()
            },
        })
        .collect()
}

/// A decision record of `outcome` on `input`.
pub fn decision_record(
    realm: &Realm,
    user_id: Option<&str>,
    input: &CanonicalInput,
    outcome: &RealmOutcome,
    applied: bool,
    shadow: bool,
    now: i64,
) -> Result<DecisionRecord, ApiError> {
    Ok(DecisionRecord {
        id: muster_store::ids::random_id(12),
        tenant_id: realm.tenant_id.clone(),
        realm_id: realm.id.clone(),
        user_id: user_id.map(str::to_owned),
        trigger: trigger_name(input.context.trigger),
        applied,
        shadow,
        input: to_json(input)?,
        user_rules_version: outcome.user.module.as_ref().map(|m| m.version),
        user_rules_digest: outcome.user.module.as_ref().map(|m| m.digest.clone()),
        group_rules_version: outcome.groups.module.as_ref().map(|m| m.version),
        group_rules_digest: outcome.groups.module.as_ref().map(|m| m.digest.clone()),
        output: to_json(&DecisionOutput::of(outcome))?,
        trace: to_json(&DecisionTrace::of(outcome))?,
        duration_us: outcome.duration_us,
        fuel: outcome.fuel,
        created_at: now,
        shadow_of: None,
        differs: None,
    })
}

/// The output part of a decision record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionOutput {
    /// The user decision.
    pub user: muster_wire::UserDecision,
    /// The provider-group assignments.
    pub groups: Vec<muster_wire::GroupAssignment>,
}

impl DecisionOutput {
    /// The output of an outcome.
    pub fn of(outcome: &RealmOutcome) -> Self {
        Self { user: outcome.user.decision.clone(), groups: outcome.groups.groups.clone() }
    }
}

/// The trace part of a decision record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTrace {
    /// Steps of the user rules.
    pub user: Vec<muster_wire::trace::TraceStep>,
    /// Steps of the group rules.
    pub groups: Vec<muster_wire::trace::TraceStep>,
}

impl DecisionTrace {
    /// The trace of an outcome.
    pub fn of(outcome: &RealmOutcome) -> Self {
        Self { user: outcome.user.trace.clone(), groups: outcome.groups.trace.clone() }
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

fn blocked_reason(outcome: &RealmOutcome) -> String {
    let last_note = outcome.user.trace.iter().rev().find(|s| s.outcome == muster_wire::Outcome::Note);
    match last_note {
        Some(step) => format!("No organization: {}", step.check),
        None => "No organization: no rule gave the user an organization".into(),
    }
}

fn login_failure(error: DecideError) -> ApiError {
    match error {
        DecideError::Store(StoreError::VersionMismatch { .. }) => {
            ApiError::Conflict("the login conflicts with concurrent changes of the same user; retry".into())
        }
        DecideError::Store(store) => store.into(),
        DecideError::Rules(super::rules::RulesError::Store(store)) => store.into(),
        DecideError::Rules(rules) => ApiError::Unprocessable(format!("the realm's rules failed: {rules}")),
        DecideError::Encode(message) => ApiError::Internal(message),
    }
}
