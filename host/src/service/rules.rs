//! Running a realm's rules: the active (or a named) user-rules and group-rules versions, or the
//! realm's default organization when none is active.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
    time::Duration,
};

use lru::LruCache;
use muster_engine::{Engine, EvalError, PreparedSettings, RuleModule};
use muster_wire::{Context, GroupAssignment, Outcome, Trigger, User, UserDecision, trace::TraceStep};
use serde::Serialize;

use super::metrics::{EvaluationLabels, Metrics, TriggerLabels};
use muster_store::{
    Store, StoreError,
    model::{ModuleVersion, Realm, RuleKind},
};

/// The rule name used when a realm's default organization decides.
pub const DEFAULT_ORGANIZATION_RULE: &str = "default organization";

/// Which module version ran, for decision records and responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleRef {
    /// The version number in its realm.
    pub version: i64,
    /// SHA-256 of the module's bytes.
    pub digest: String,
}

/// The decision about a user, with the trace and the module that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserOutcome {
    /// The decision.
    #[serde(flatten)]
    pub decision: UserDecision,
    /// Why.
    pub trace: Vec<TraceStep>,
    /// The module that decided, or `None` when the default organization (or nothing) did.
    pub module: Option<ModuleRef>,
}

/// The organizations of the user's provider groups, with the trace and the module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupsOutcome {
    /// One assignment per provider group.
    pub groups: Vec<GroupAssignment>,
    /// Why.
    pub trace: Vec<TraceStep>,
    /// The module that decided, or `None`.
    pub module: Option<ModuleRef>,
}

/// Everything a realm's rules said about one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RealmOutcome {
    /// Organization and rule-based groups.
    pub user: UserOutcome,
    /// Provider-group organizations.
    pub groups: GroupsOutcome,
    /// Total evaluation time in microseconds.
    pub duration_us: i64,
    /// Total fuel consumed.
    pub fuel: i64,
}

/// Which versions to run: the realm's active ones, or candidates.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection {
    /// User-rules version (`None`: no module; the default organization decides).
    pub user_rules: Option<i64>,
    /// Group-rules version.
    pub group_rules: Option<i64>,
}

impl Selection {
    /// The realm's active versions.
    pub fn active(realm: &Realm) -> Self {
        Self { user_rules: realm.user_rules_version, group_rules: realm.group_rules_version }
    }
}

/// Why the rules produced no decision.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The store failed or a version is missing.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The module is stored but the engine refuses it now (should not happen: it was validated
    /// at upload).
    #[error("module {digest} cannot be loaded: {message}")]
    Load {
        /// Which module.
        digest: String,
        /// Why.
        message: String,
    },
    /// The module failed on this input.
    #[error("{kind} rules version {version} failed: {error}")]
    Evaluation {
        /// User or group rules.
        kind: &'static str,
        /// Which version.
        version: i64,
        /// The engine's typed error.
        error: EvalError,
    },
}

impl RulesError {
    /// A short snake_case name of the failure, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            RulesError::Store(_) => "store",
            RulesError::Load { .. } => "module_load",
            RulesError::Evaluation { error, .. } => error.kind(),
        }
    }
}

/// A module version's key: tenant, realm, kind, version.
type VersionKey = (String, String, RuleKind, i64);

/// Loads modules lazily into a bounded cache and runs them.
pub struct RuleRunner {
    engine: Arc<Engine>,
    /// Compiled modules by (tenant, digest).
    modules: Mutex<LruCache<(String, String), RuleModule>>,
    /// Stored versions (immutable once uploaded).
    versions: Mutex<LruCache<VersionKey, Arc<ModuleVersion>>>,
    /// Where evaluations and cache lookups are counted.
    metrics: Arc<Metrics>,
}

impl RuleRunner {
    /// A runner keeping at most `capacity` compiled modules in memory (the engine's disk cache
    /// makes reloading an evicted one cheap).
    pub fn new(engine: Arc<Engine>, capacity: NonZeroUsize, metrics: Arc<Metrics>) -> Self {
        let versions = capacity.saturating_mul(NonZeroUsize::new(4).expect("4 is not zero"));
        Self {
            engine,
            modules: Mutex::new(LruCache::new(capacity)),
            versions: Mutex::new(LruCache::new(versions)),
            metrics,
        }
    }

    /// The engine modules run in.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// A stored module version (immutable, so cached).
    pub async fn version(
        &self,
        store: &Store,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        version: i64,
    ) -> Result<Arc<ModuleVersion>, RulesError> {
        let key = (tenant.to_owned(), realm.to_owned(), kind, version);
        let cached = self.versions.lock().unwrap_or_else(|e| e.into_inner()).get(&key).map(Arc::clone);
        self.metrics.cache_lookup("version", cached.is_some());
        if let Some(found) = cached {
            return Ok(found);
        }
        let found = store.get_module_version(tenant, realm, kind, version).await?.ok_or_else(|| {
            StoreError::NotFound(format!("{} rules version {version} of realm {realm}", kind.as_str()))
        })?;
        let found = Arc::new(found);
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).put(key, Arc::clone(&found));
        Ok(found)
    }

    /// The compiled module with `digest` of `tenant`, loading it on first use.
    pub async fn module(&self, store: &Store, tenant: &str, digest: &str) -> Result<RuleModule, RulesError> {
        let key = (tenant.to_owned(), digest.to_owned());
        let cached = self.modules.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        self.metrics.cache_lookup("module", cached.is_some());
        if let Some(module) = cached {
            return Ok(module);
        }
        let wasm =
            store.module_wasm(tenant, digest).await?.ok_or_else(|| StoreError::NotFound(format!("module {digest}")))?;
        let engine = Arc::clone(&self.engine);
        let module = tokio::task::spawn_blocking(move || engine.load(&wasm))
            .await
            .map_err(|e| RulesError::Load { digest: digest.to_owned(), message: e.to_string() })?
            .map_err(|e| RulesError::Load { digest: digest.to_owned(), message: e.to_string() })?;
        self.modules.lock().unwrap_or_else(|e| e.into_inner()).put(key, module.clone());
        Ok(module)
    }

    /// Runs the selected versions of a realm's rules on a user, counting the evaluation.
    pub async fn evaluate(
        &self,
        store: &Store,
        realm: &Realm,
        selection: Selection,
        context: &Context,
        user: &User,
    ) -> Result<RealmOutcome, RulesError> {
        let result = self.run(store, realm, selection, context, user).await;
        let trigger = trigger_name(context.trigger);
        let kind = match &result {
            Ok(outcome) => {
                let seconds = outcome.duration_us as f64 / 1e6;
                self.metrics
                    .evaluation_seconds
                    .get_or_create(&TriggerLabels { trigger: trigger.clone() })
                    .observe(seconds);
                "ok"
            }
            Err(error) => {
                self.metrics.error(error.kind());
                error.kind()
            }
        };
        self.metrics.evaluations.get_or_create(&EvaluationLabels { trigger, result: kind.to_owned() }).inc();
        result
    }

    async fn run(
        &self,
        store: &Store,
        realm: &Realm,
        selection: Selection,
        context: &Context,
        user: &User,
    ) -> Result<RealmOutcome, RulesError> {
        let mut duration = Duration::ZERO;
        let mut fuel = 0u64;
        let user_outcome = match selection.user_rules {
            Some(version) => {
                let (module, stored) = self.load(store, realm, RuleKind::User, version).await?;
                let (settings, context, user_input) =
                    (PreparedSettings(stored.prepared_settings.clone()), context.clone(), user.clone());
                let evaluation = blocking(move || module.evaluate_user(&settings, &context, &user_input))
                    .await
                    .map_err(|error| RulesError::Evaluation { kind: "user", version, error })?;
                duration += evaluation.duration;
                fuel += evaluation.fuel_consumed;
                UserOutcome {
                    decision: evaluation.output,
                    trace: evaluation.trace,
                    module: Some(ModuleRef { version, digest: stored.digest.clone() }),
                }
            }
            None => default_user_outcome(realm),
        };
        let groups_outcome = match selection.group_rules {
            Some(version) => {
                let (module, stored) = self.load(store, realm, RuleKind::Group, version).await?;
                let (settings, context, groups) =
                    (PreparedSettings(stored.prepared_settings.clone()), context.clone(), user.provider_groups.clone());
                let evaluation = blocking(move || module.evaluate_groups(&settings, &context, &groups))
                    .await
                    .map_err(|error| RulesError::Evaluation { kind: "group", version, error })?;
                duration += evaluation.duration;
                fuel += evaluation.fuel_consumed;
                GroupsOutcome {
                    groups: evaluation.output.groups,
                    trace: evaluation.trace,
                    module: Some(ModuleRef { version, digest: stored.digest.clone() }),
                }
            }
            None => default_groups_outcome(realm, &user.provider_groups),
        };
        Ok(RealmOutcome {
            user: user_outcome,
            groups: groups_outcome,
            duration_us: duration.as_micros() as i64,
            fuel: fuel as i64,
        })
    }

    async fn load(
        &self,
        store: &Store,
        realm: &Realm,
        kind: RuleKind,
        version: i64,
    ) -> Result<(RuleModule, Arc<ModuleVersion>), RulesError> {
        let stored = self.version(store, &realm.tenant_id, &realm.id, kind, version).await?;
        let module = self.module(store, &realm.tenant_id, &stored.digest).await?;
        Ok((module, stored))
    }
}

/// The snake_case name of a trigger, as stored and as metrics label it.
pub fn trigger_name(trigger: Trigger) -> String {
    serde_json::to_value(trigger).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// What the rules see of a stored user: what the identity provider last said (internal groups
/// are supplied by the login service at login, so a stored user has none).
pub fn stored_user_input(stored: muster_store::model::UserRecord) -> User {
    User {
        user_name: stored.user_name,
        external_id: stored.external_id,
        email: stored.email,
        attributes: stored.attributes,
        provider_groups: stored.provider_groups,
        internal_groups: Vec::new(),
    }
}

/// Runs a CPU-bound evaluation off the async workers (a hostile module may use its whole
/// time budget).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EvalError> + Send + 'static,
) -> Result<T, EvalError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(EvalError::Trap(format!("evaluation task failed: {e}"))))
}

fn note(rule: Option<&str>, check: String) -> TraceStep {
    TraceStep { rule: rule.map(str::to_owned), check, outcome: Outcome::Note }
}

fn default_user_outcome(realm: &Realm) -> UserOutcome {
    let (decision, trace) = match &realm.default_organization {
        Some(organization) => (
            UserDecision {
                organization: Some(organization.clone()),
                rule: Some(DEFAULT_ORGANIZATION_RULE.into()),
                groups: Vec::new(),
            },
            note(Some(DEFAULT_ORGANIZATION_RULE), format!("realm {} sends every user to {organization}", realm.id)),
        ),
        None => (
            UserDecision::default(),
            note(
                None,
                format!("realm {} has no active user rules and no default organization: No organization", realm.id),
            ),
        ),
    };
    UserOutcome { decision, trace: vec![trace], module: None }
}

fn default_groups_outcome(realm: &Realm, groups: &[String]) -> GroupsOutcome {
    let organizations: Vec<String> = realm.default_organization.iter().cloned().collect();
    let rule = realm.default_organization.as_ref().map(|_| DEFAULT_ORGANIZATION_RULE.to_owned());
    let trace = match &realm.default_organization {
        Some(organization) if !groups.is_empty() => {
            vec![note(rule.as_deref(), format!("realm {} marks every provider group with {organization}", realm.id))]
        }
        _ => Vec::new(),
    };
    let groups = groups
        .iter()
        .map(|group| GroupAssignment { group: group.clone(), organizations: organizations.clone(), rule: rule.clone() })
        .collect();
    GroupsOutcome { groups, trace, module: None }
}
