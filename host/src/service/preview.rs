//! Seeing a change before making it: the dry run (one user), the impact preview (every stored
//! user, page by page), the backtest (past decisions, page by page) and the replay of one
//! recorded decision. Each evaluates what the live path would, through the same decision core,
//! and changes nothing. The dry run, the impact preview and the backtest also run drafts
//! ([`super::drafts`]): a stored version's module with settings that are not stored.

use std::collections::BTreeSet;

use muster_wire::{Context, Trigger, User};
use serde::Serialize;

use super::{
    SharedState,
    draft_set::Drafts,
    error::{ServiceError, preview_failure},
    rules::{RulesError, Selection},
};
use crate::decision::{
    difference::Difference,
    input::{CanonicalInput, rules_input},
    outcome::{DecisionOutput, DecisionTrace, Effect, RealmOutcome},
};
use muster_store::{
    DecisionFilter, ProviderGroupMark,
    model::{DecisionRecord, FailedEvaluation, Millis, Realm, RuleKind},
};

/// What a dry run answers.
#[derive(Debug, Serialize)]
pub struct DryRun {
    /// Whether the user would be blocked.
    pub blocked: bool,
    /// Each provider group with the organizations it would be marked with.
    pub provider_groups: Vec<ProviderGroupMark>,
    /// The organizations the decision names that the tenant does not have, sorted: live, it
    /// would fail (or, in a realm that creates organizations on first use, create them).
    pub unknown_organizations: Vec<String>,
    /// The full outcome with traces.
    pub evaluation: RealmOutcome,
}

/// Evaluates `selection` of the realm's rules, with `drafts` in place of their kinds, on `user`
/// (who may never have logged in).
pub async fn dry_run(
    state: &SharedState,
    realm: &Realm,
    selection: Selection,
    drafts: &Drafts,
    user: &User,
) -> Result<DryRun, ServiceError> {
    let context = Context { realm: realm.id.clone(), trigger: Trigger::DryRun };
    let evaluation = state
        .rules
        .evaluate_drafts(&state.store, realm, selection, drafts, &context, user)
        .await
        .map_err(preview_failure)?;
    let effect = Effect::of(DecisionOutput::of(&evaluation));
    let unknown_organizations =
        KnownOrganizations::of_tenant(state, &realm.tenant_id).await?.unknown_among(effect.organizations());
    Ok(DryRun {
        blocked: evaluation.blocked(),
        provider_groups: effect.provider_groups,
        unknown_organizations: unknown_organizations.into_iter().collect(),
        evaluation,
    })
}

/// The tenant's organizations, to find those a decision names that the tenant does not have.
struct KnownOrganizations(BTreeSet<String>);

impl KnownOrganizations {
    /// The tenant's organizations, read once for a whole preview.
    async fn of_tenant(state: &SharedState, tenant: &str) -> Result<Self, ServiceError> {
        Ok(KnownOrganizations(state.store.list_organizations(tenant).await?.into_iter().map(|o| o.id).collect()))
    }

    /// Those of `named` the tenant does not have.
    fn unknown_among<'a>(&self, named: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
        named.filter(|name| !self.0.contains(*name)).map(str::to_owned).collect()
    }
}

/// Evaluates `selection` (with `drafts`) on the stored user `user_id`, exactly as the live path
/// sees them.
pub async fn dry_run_stored_user(
    state: &SharedState,
    realm: &Realm,
    selection: Selection,
    drafts: &Drafts,
    user_id: &str,
) -> Result<DryRun, ServiceError> {
    let user = state
        .store
        .get_user(&realm.tenant_id, &realm.id, user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no user {user_id} in realm {}", realm.id)))?;
    dry_run(state, realm, selection, drafts, &rules_input(&user)).await
}

/// Which page of stored users an impact preview evaluates.
#[derive(Debug, Clone, Default)]
pub struct UserPage {
    /// Continue after this user id (the `next_after` of the previous page).
    pub after: Option<String>,
    /// Users per page.
    pub limit: i64,
}

/// A user whose decision the candidate would change.
#[derive(Debug, Serialize)]
pub struct UserChange {
    /// Muster's id of the user.
    pub user_id: String,
    /// Their user name.
    pub user_name: String,
    /// Under the realm's active versions.
    pub active: Effect,
    /// Under the candidate.
    pub candidate: Effect,
}

/// Which of the two selections an impact preview compares failed on a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedSide {
    /// The realm's active versions.
    Active,
    /// The candidate.
    Candidate,
}

/// A user on whom the candidate (or the active rules) failed: nothing to compare.
#[derive(Debug, Serialize)]
pub struct UserFailure {
    /// Muster's id of the user.
    pub user_id: String,
    /// Their user name.
    pub user_name: String,
    /// Which rules failed (the candidate's failure is named when both did).
    pub failed: FailedSide,
    /// The failure's kind (`fuel_exhausted`, `trap`, …).
    pub kind: String,
    /// Why.
    pub error: String,
}

/// The impact preview of one page.
#[derive(Debug, Serialize)]
pub struct Impact {
    /// The kind of the candidate.
    pub kind: RuleKind,
    /// The candidate version (of a draft: the version whose module it runs).
    pub version: i64,
    /// Whether the candidate is a draft: `version`'s module with settings that are not stored.
    pub draft: bool,
    /// Users evaluated on this page.
    pub evaluated: usize,
    /// How many of them the candidate would change.
    pub changed: usize,
    /// How many of them the candidate (or the active rules) failed on.
    pub failed: usize,
    /// The changes.
    pub changes: Vec<UserChange>,
    /// The failures, beside the changes.
    pub failures: Vec<UserFailure>,
    /// The organizations the candidate names on this page that the tenant does not have,
    /// sorted: live, those decisions would fail (or, in a realm that creates organizations on
    /// first use, create them).
    pub unknown_organizations: Vec<String>,
    /// Continue with `{"after": next_after}`; `null` on the last page.
    pub next_after: Option<String>,
}

/// Evaluates the candidate (`version` of `kind`, or the draft of `kind` in `drafts`, which runs
/// that version's module) and the active versions on a page of stored users.
pub async fn impact(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    version: i64,
    drafts: &Drafts,
    page: UserPage,
) -> Result<Impact, ServiceError> {
    let active = Selection::active(realm);
    let candidate = Selection::candidate(realm, kind, version);
    let none = Drafts::default();
    state.rules.version(&state.store, &realm.tenant_id, &realm.id, kind, version).await.map_err(preview_failure)?;
    let users = state.store.list_users(&realm.tenant_id, &realm.id, page.after.as_deref(), page.limit).await?;
    let next_after = (users.len() as i64 == page.limit).then(|| users.last().map(|u| u.id.clone())).flatten();
    let context = Context { realm: realm.id.clone(), trigger: Trigger::DryRun };
    let evaluated = users.len();
    let known = KnownOrganizations::of_tenant(state, &realm.tenant_id).await?;
    let (mut changes, mut failures, mut unknown) = (Vec::new(), Vec::new(), BTreeSet::new());
    for stored in users {
        let input = rules_input(&stored);
        let active_effect = effect(state, realm, active, &none, &context, &input).await?;
        let candidate_effect = effect(state, realm, candidate, drafts, &context, &input).await?;
        if let Ok(candidate) = &candidate_effect {
            unknown.extend(known.unknown_among(candidate.organizations()));
        }
        let (user_id, user_name) = (stored.id, stored.user_name);
        match (active_effect, candidate_effect) {
            (Ok(active), Ok(candidate)) if active != candidate => {
                changes.push(UserChange { user_id, user_name, active, candidate })
            }
            (Ok(_), Ok(_)) => {}
            (_, Err(error)) => failures.push(UserFailure::of(user_id, user_name, FailedSide::Candidate, &error)),
            (Err(error), Ok(_)) => failures.push(UserFailure::of(user_id, user_name, FailedSide::Active, &error)),
        }
    }
    Ok(Impact {
        kind,
        version,
        draft: drafts.of_kind(kind).is_some(),
        evaluated,
        changed: changes.len(),
        failed: failures.len(),
        changes,
        failures,
        unknown_organizations: unknown.into_iter().collect(),
        next_after,
    })
}

impl UserFailure {
    fn of(user_id: String, user_name: String, failed: FailedSide, error: &RulesError) -> UserFailure {
        UserFailure { user_id, user_name, failed, kind: error.kind().to_owned(), error: error.to_string() }
    }
}

/// The effect of `selection` on one user, or the rules' failure on them; a failure that is not
/// the rules' (the store, the tenant's slots) ends the preview.
async fn effect(
    state: &SharedState,
    realm: &Realm,
    selection: Selection,
    drafts: &Drafts,
    context: &Context,
    input: &User,
) -> Result<Result<Effect, RulesError>, ServiceError> {
    match state.rules.evaluate_drafts(&state.store, realm, selection, drafts, context, input).await {
        Ok(outcome) => Ok(Ok(Effect::of(DecisionOutput::of(&outcome)))),
        Err(error) if error.is_rules_failure() => Ok(Err(error)),
        Err(error) => Err(preview_failure(error)),
    }
}

/// Which past decisions a backtest re-runs.
#[derive(Debug, Clone, Default)]
pub struct DecisionWindow {
    /// Decisions made at or after this time (Unix ms).
    pub since: Option<Millis>,
    /// Decisions made before this time (Unix ms).
    pub until: Option<Millis>,
    /// Continue after (older than) this decision id: the `next_before` of the previous page.
    pub before: Option<String>,
    /// Decisions per page.
    pub limit: i64,
}

/// A past decision the candidate would have made differently.
#[derive(Debug, Serialize)]
pub struct DecisionChange {
    /// The decision record.
    pub decision_id: String,
    /// The user it was about.
    pub user_id: Option<String>,
    /// When it was made.
    pub created_at: Millis,
    /// What the decision did; `None` when the recorded rules failed (nothing was applied).
    pub recorded: Option<Effect>,
    /// Why the recorded rules failed, when they did: the candidate decides where they could not.
    pub recorded_failure: Option<FailedEvaluation>,
    /// What the candidate would have done.
    pub candidate: Effect,
}

/// A past decision the candidate could not decide (it failed on that input).
#[derive(Debug, Serialize)]
pub struct DecisionFailure {
    /// The decision record.
    pub decision_id: String,
    /// The failure's kind (`fuel_exhausted`, `trap`, …; `internal` when the record could not be
    /// read).
    pub kind: String,
    /// Why the candidate failed.
    pub error: String,
}

/// One page of a backtest.
#[derive(Debug, Serialize)]
pub struct Backtest {
    /// The kind of the candidate.
    pub kind: RuleKind,
    /// The candidate version (of a draft: the version whose module it runs).
    pub version: i64,
    /// Whether the candidate is a draft: `version`'s module with settings that are not stored.
    pub draft: bool,
    /// Decisions re-run on this page.
    pub examined: usize,
    /// How many would have ended differently.
    pub changed: usize,
    /// How many the candidate failed on.
    pub failed: usize,
    /// The differences.
    pub changes: Vec<DecisionChange>,
    /// The failures.
    pub failures: Vec<DecisionFailure>,
    /// Continue with `{"before": next_before}`; `null` on the last page.
    pub next_before: Option<String>,
}

/// Re-runs a page of the realm's live decisions with the candidate (`version` of `kind`, or the
/// draft of `kind` in `drafts`, which runs that version's module) in place of the version of
/// that kind they were made with. Each recorded input runs again
/// exactly as recorded (same context, same user), with the recorded version of the other kind.
/// The decisions include those whose rules failed (recorded with their failure, not applied): a
/// candidate that decides one is a change.
pub async fn backtest(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    version: i64,
    drafts: &Drafts,
    window: DecisionWindow,
) -> Result<Backtest, ServiceError> {
    state.rules.version(&state.store, &realm.tenant_id, &realm.id, kind, version).await.map_err(preview_failure)?;
    let decisions = state
        .store
        .list_decisions(DecisionFilter {
            tenant_id: realm.tenant_id.clone(),
            realm_id: Some(realm.id.clone()),
            shadow: Some(false),
            since: window.since,
            until: window.until,
            before_id: window.before,
            limit: window.limit,
            ..DecisionFilter::default()
        })
        .await?;
    let next_before =
        (decisions.len() as i64 == window.limit).then(|| decisions.last().map(|d| d.id.clone())).flatten();
    let examined = decisions.len();
    let (mut changes, mut failures) = (Vec::new(), Vec::new());
    for record in decisions {
        match rerun(state, realm, kind, version, drafts, &record).await {
            Ok(Some((recorded, candidate))) => changes.push(DecisionChange {
                decision_id: record.id,
                user_id: record.user_id,
                created_at: record.created_at,
                recorded,
                recorded_failure: record.failure,
                candidate,
            }),
            Ok(None) => {}
            Err(error) => failures.push(DecisionFailure {
                decision_id: record.id,
                kind: error.kind().to_owned(),
                error: error.to_string(),
            }),
        }
    }
    Ok(Backtest {
        kind,
        version,
        draft: drafts.of_kind(kind).is_some(),
        examined,
        changed: changes.len(),
        failed: failures.len(),
        changes,
        failures,
        next_before,
    })
}

/// The recorded (`None`: the rules failed) and the candidate's effect of one decision, if they
/// differ.
async fn rerun(
    state: &SharedState,
    realm: &Realm,
    kind: RuleKind,
    version: i64,
    drafts: &Drafts,
    record: &DecisionRecord,
) -> Result<Option<(Option<Effect>, Effect)>, ServiceError> {
    let input: CanonicalInput = serde_json::from_str(&record.input).map_err(ServiceError::internal)?;
    let recorded: Option<DecisionOutput> = serde_json::from_str(&record.output).map_err(ServiceError::internal)?;
    let selection = match kind {
        RuleKind::User => Selection { user_rules: Some(version), group_rules: record.group_rules_version },
        RuleKind::Group => Selection { user_rules: record.user_rules_version, group_rules: Some(version) },
    };
    let outcome = state
        .rules
        .evaluate_drafts(&state.store, realm, selection, drafts, &input.context, &input.user)
        .await
        .map_err(preview_failure)?;
    let (recorded, candidate) = (recorded.map(Effect::of), Effect::of(DecisionOutput::of(&outcome)));
    Ok((recorded.as_ref() != Some(&candidate)).then_some((recorded, candidate)))
}

/// The module versions a replay ran.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReplayVersions {
    /// User-rules version (`None`: none; the default organization decided).
    pub user_rules: Option<i64>,
    /// Group-rules version.
    pub group_rules: Option<i64>,
}

/// A decision's output and trace.
#[derive(Debug, Serialize)]
pub struct Decided {
    /// What was decided (`None` in a record of rules that failed).
    pub output: Option<DecisionOutput>,
    /// Why.
    pub trace: DecisionTrace,
}

/// The replay of a recorded decision.
#[derive(Debug, Serialize)]
pub struct Replay {
    /// The decision record.
    pub decision_id: String,
    /// The versions replayed.
    pub versions: ReplayVersions,
    /// Output and trace are the recorded ones, bit for bit.
    pub identical: bool,
    /// The output is the recorded one.
    pub output_identical: bool,
    /// What was recorded.
    pub recorded: Decided,
    /// What the replay decided.
    pub replayed: Decided,
    /// Which fields changed from the record to the replay, each with its before and after.
    pub difference: Difference,
}

/// Re-runs the recorded input of `tenant`'s decision `decision_id`, on the recorded versions
/// except where `candidate` names another. On the recorded versions `identical` must be `true`
/// (evaluation is deterministic); with a candidate, it says whether it would have decided the
/// same.
pub async fn replay(
    state: &SharedState,
    tenant: &str,
    decision_id: &str,
    candidate: Selection,
) -> Result<Replay, ServiceError> {
    let record = state
        .store
        .get_decision(tenant, decision_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no decision {decision_id}")))?;
    let realm = state
        .store
        .get_realm(tenant, &record.realm_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no realm {}", record.realm_id)))?;
    let input: CanonicalInput = serde_json::from_str(&record.input).map_err(ServiceError::internal)?;
    let selection = Selection {
        user_rules: candidate.user_rules.or(record.user_rules_version),
        group_rules: candidate.group_rules.or(record.group_rules_version),
    };
    let outcome = state
        .rules
        .evaluate(&state.store, &realm, selection, &input.context, &input.user)
        .await
        .map_err(preview_failure)?;
    let recorded = Decided {
        output: serde_json::from_str(&record.output).map_err(ServiceError::internal)?,
        trace: serde_json::from_str(&record.trace).map_err(ServiceError::internal)?,
    };
    let (output, trace) = (DecisionOutput::of(&outcome), DecisionTrace::of(&outcome));
    let difference = Difference::between(recorded.output.as_ref(), &recorded.trace, &output, &trace);
    let replayed = Decided { output: Some(output), trace };
    let output_identical = replayed.output == recorded.output;
    Ok(Replay {
        decision_id: record.id,
        versions: ReplayVersions { user_rules: selection.user_rules, group_rules: selection.group_rules },
        identical: output_identical && replayed.trace == recorded.trace,
        output_identical,
        recorded,
        replayed,
        difference,
    })
}
