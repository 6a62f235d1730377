//! Running a realm's rules as a service: loads the selected module versions (cached), hands them
//! to the pure [`evaluator`] on a blocking thread, and counts the
//! evaluation. What is decided is entirely the decision core's; this adds only I/O.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use lru::LruCache;
use muster_engine::{Budget, Engine, PreparedSettings, RuleModule};
use muster_wire::{Context, User};
use sha2::{Digest as _, Sha256};

use tokio::sync::OwnedSemaphorePermit;

use super::compiles::{CompileError, TenantCompiles};
use super::draft_set::Drafts;
use super::engine_work::EngineWork;
use super::metrics::{EvaluationLabels, Metrics, TriggerLabels};
use super::module_cache::{ModuleCache, ModuleKey};
use super::ports::ModuleStore;
use super::tenant_slots::{NoSlot, TenantSlots};
use crate::decision::{
    evaluator::{self, EvaluationError, FailedRules, LoadedModule, RealmRules},
    outcome::{ModuleRef, RealmOutcome},
    record::{FailedRun, trigger_name},
};
use muster_store::{
    StoreError,
    model::{FailedEvaluation, ModuleVersion, Realm, RuleKind},
};

/// Which versions to run: the realm's active ones, or candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

    /// The realm's active versions with `version` in place of the active one of `kind`.
    pub fn candidate(realm: &Realm, kind: RuleKind, version: i64) -> Self {
        let active = Self::active(realm);
        match kind {
            RuleKind::User => Self { user_rules: Some(version), ..active },
            RuleKind::Group => Self { group_rules: Some(version), ..active },
        }
    }
}

/// Why the rules produced no decision.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A selected version does not exist.
    #[error("{} rules version {version} of realm {realm} does not exist", kind.as_str())]
    MissingVersion {
        /// Which kind.
        kind: RuleKind,
        /// Which version.
        version: i64,
        /// In which realm.
        realm: String,
    },
    /// The module is stored but the engine refuses it now (should not happen: it was validated
    /// at upload).
    #[error("module {digest} cannot be loaded: {message}")]
    Load {
        /// Which module.
        digest: String,
        /// Why.
        message: String,
    },
    /// The module is not compiled yet and the compile slots (the tenant's or the server's)
    /// stayed busy: nothing was decided; trying again later may succeed.
    #[error(transparent)]
    CompileBusy(CompileError),
    /// The module failed on this input.
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
    /// The tenant's evaluation slots stayed taken: it is running as many evaluations as its
    /// share allows.
    #[error(transparent)]
    Busy(#[from] NoSlot),
    /// The rules decided, but named organizations the tenant does not have, and the realm does
    /// not create organizations on first use: nothing was applied.
    #[error("the decision names organizations the tenant does not have: {}", organizations.join(", "))]
    UnknownOrganizations {
        /// The unknown organizations, sorted.
        organizations: Vec<String>,
    },
    /// The module decided, but its decision (input and output, without any trace) is larger
    /// than a decision record may be: it is neither recorded nor applied.
    #[error(
        "the decision is too large to record: {size} bytes of input and output; the limit of a record is {limit} bytes"
    )]
    RecordTooLarge {
        /// Bytes of the decision's input and output.
        size: usize,
        /// `max_decision_record_bytes`.
        limit: usize,
    },
}

impl RulesError {
    /// A short snake_case name of the failure, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            RulesError::Store(_) => "store",
            RulesError::MissingVersion { .. } => "missing_version",
            RulesError::Load { .. } => "module_load",
            RulesError::CompileBusy(_) => "compile_busy",
            RulesError::Evaluation(failure) => failure.error.kind(),
            RulesError::Busy(_) => "busy",
            RulesError::RecordTooLarge { .. } => "record_too_large",
            RulesError::UnknownOrganizations { .. } => "unknown_organization",
        }
    }

    /// Whether this is the rules' own failure (they trapped, ran out of budget, answered too
    /// much, could not be loaded): a decision that failed, recorded as such and listed by
    /// previews; `false` when nothing was run for another reason (the store failed, the
    /// tenant's slots or the compile slots were taken), which ends a preview and is not
    /// recorded.
    pub fn is_rules_failure(&self) -> bool {
        !matches!(self, RulesError::Store(_) | RulesError::CompileBusy(_) | RulesError::Busy(_))
    }

    /// What a record of this failure of `selection` keeps, if it is the rules' failure
    /// ([`RulesError::is_rules_failure`]); `None` otherwise, which is not recorded as a decision.
    pub fn failed_run(&self, selection: Selection) -> Option<FailedRun> {
        if !self.is_rules_failure() {
            return None;
        }
        let (mut duration_us, mut fuel, mut digest) = (0, 0, None);
        if let RulesError::Evaluation(failure) = self {
            duration_us = i64::try_from(failure.duration.as_micros()).unwrap_or(i64::MAX);
            fuel = i64::try_from(failure.fuel).unwrap_or(i64::MAX);
            digest = Some((failure.kind, failure.module.digest.clone()));
        }
        let digest_of = |kind| digest.as_ref().filter(|(failed, _)| *failed == kind).map(|(_, digest)| digest.clone());
        Some(FailedRun {
            user_rules: selection.user_rules.map(|version| (version, digest_of(FailedRules::User))),
            group_rules: selection.group_rules.map(|version| (version, digest_of(FailedRules::Group))),
            failure: FailedEvaluation { kind: self.kind().to_owned(), message: self.to_string() },
            duration_us,
            fuel,
        })
    }
}

/// A module version's key: tenant, realm, kind, version.
type VersionKey = (String, String, RuleKind, i64);

/// Loads modules lazily into a bounded cache and runs them.
pub struct RuleRunner {
    engine: Arc<Engine>,
    /// The per-tenant bound on loads.
    compiles: TenantCompiles,
    /// Compiled modules by (tenant, digest) and versions' settings snapshots, bounded by count
    /// and code bytes.
    modules: Mutex<ModuleCache>,
    /// Loads and snapshots in progress, one gate per module key (see
    /// [`RuleRunner::load_once`]).
    loading: Mutex<HashMap<ModuleKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Stored versions (immutable once uploaded).
    versions: Mutex<LruCache<VersionKey, Arc<ModuleVersion>>>,
    /// Where evaluations and cache lookups are counted.
    metrics: Arc<Metrics>,
    /// Each tenant's share of the evaluations running at once.
    slots: TenantSlots,
    /// Where evaluations and compiles run.
    work: EngineWork,
}

impl RuleRunner {
    /// A runner keeping at most `capacity` compiled modules and `max_code_bytes` of their
    /// compiled code in memory (the engine's disk cache makes reloading an evicted one cheap),
    /// running each tenant's evaluations in its `slots` and loading one module of a tenant at a
    /// time.
    pub fn new(
        engine: Arc<Engine>,
        capacity: NonZeroUsize,
        max_code_bytes: usize,
        metrics: Arc<Metrics>,
        slots: TenantSlots,
    ) -> Self {
        let versions = capacity.saturating_mul(NonZeroUsize::new(4).expect("4 is not zero"));
        Self {
            compiles: TenantCompiles::new(NonZeroUsize::MIN, engine.limits().compile_wait),
            engine,
            modules: Mutex::new(ModuleCache::new(capacity, max_code_bytes)),
            loading: Mutex::new(HashMap::new()),
            versions: Mutex::new(LruCache::new(versions)),
            metrics,
            slots,
            work: EngineWork::undemoted(),
        }
    }

    /// Where evaluations, cache lookups and rule failures are counted.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The same runner, running evaluations and compiles as `work` says (demoted once long).
    pub fn with_engine_work(mut self, work: EngineWork) -> Self {
        self.work = work;
        self
    }

    /// Where engine work runs.
    pub fn engine_work(&self) -> &EngineWork {
        &self.work
    }

    /// The same runner, loading at most `per_tenant` modules of one tenant at a time.
    pub fn with_tenant_compiles(mut self, per_tenant: NonZeroUsize) -> Self {
        self.compiles = TenantCompiles::new(per_tenant, self.engine.limits().compile_wait);
        self
    }

    /// The engine modules run in.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Loads (validates and compiles, or finds in the disk cache) `wasm` for `tenant`, in one of
    /// the tenant's compile slots: every load the service makes goes through here.
    pub async fn load_module(&self, tenant: &str, wasm: Vec<u8>) -> Result<RuleModule, CompileError> {
        self.compiles.load(&self.engine, tenant, wasm, &self.work).await
    }

    /// A stored module version (immutable, so cached).
    pub async fn version(
        &self,
        store: &impl ModuleStore,
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
        let found = store
            .get_module_version(tenant, realm, kind, version)
            .await?
            .ok_or_else(|| RulesError::MissingVersion { kind, version, realm: realm.to_owned() })?;
        let found = Arc::new(found);
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).put(key, Arc::clone(&found));
        Ok(found)
    }

    /// The compiled module with `digest` of `tenant`, loading it on first use.
    pub async fn module(&self, store: &impl ModuleStore, tenant: &str, digest: &str) -> Result<RuleModule, RulesError> {
        let key = (tenant.to_owned(), digest.to_owned());
        if let Some(module) = self.cached(&key, "module") {
            return Ok(module);
        }
        self.load_once(key, async || {
            let wasm = store
                .module_wasm(tenant, digest)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("module {digest}")))?;
            self.load_module(tenant, wasm).await.map_err(|error| load_failed(error, digest))
        })
        .await
    }

    /// The module of a stored version with its settings loaded: its settings snapshot
    /// ([`Engine::snapshot_settings`]), taken on first use and kept in the module cache, or the
    /// module itself if it cannot be snapshotted.
    async fn with_settings(&self, store: &impl ModuleStore, stored: &ModuleVersion) -> Result<RuleModule, RulesError> {
        let tenant = &stored.tenant_id;
        let key = (
            tenant.clone(),
            format!("{}@{}/{}/{}", stored.digest, stored.realm_id, stored.kind.as_str(), stored.version),
        );
        if let Some(snapshot) = self.cached(&key, "snapshot") {
            return Ok(snapshot);
        }
        let module = self.module(store, tenant, &stored.digest).await?;
        if !module.takes_snapshots() {
            return Ok(module);
        }
        self.load_once(key, async || {
            let settings = PreparedSettings(stored.prepared_settings.clone());
            self.snapshot_module(tenant, module, settings).await.map_err(|error| load_failed(error, &stored.digest))
        })
        .await
    }

    /// `module` with a draft's `settings` loaded: its settings snapshot, taken as
    /// [`RuleRunner::snapshot_module`] takes one and kept in the module cache under the tenant,
    /// the module's digest and the SHA-256 of the prepared settings (so the pages of one preview,
    /// and the previews after it, take it once), or the module itself if it cannot be
    /// snapshotted.
    pub async fn draft_snapshot(
        &self,
        tenant: &str,
        module: RuleModule,
        settings: PreparedSettings,
    ) -> Result<RuleModule, CompileError> {
        if !module.takes_snapshots() {
            return Ok(module);
        }
        let key = (tenant.to_owned(), format!("{}#{}", module.digest(), hex::encode(Sha256::digest(&settings.0))));
        if let Some(snapshot) = self.cached(&key, "snapshot") {
            return Ok(snapshot);
        }
        self.load_once(key, async || self.snapshot_module(tenant, module, settings).await).await
    }

    /// Snapshots `module` with `settings` loaded ([`Engine::snapshot_settings`]) in one of the
    /// tenant's compile slots: every snapshot the service takes goes through here.
    pub async fn snapshot_module(
        &self,
        tenant: &str,
        module: RuleModule,
        settings: PreparedSettings,
    ) -> Result<RuleModule, CompileError> {
        self.compiles.snapshot(&self.engine, tenant, module, settings, &self.work).await
    }

    /// The module cached under `key`, counted as a lookup of `cache`.
    fn cached(&self, key: &ModuleKey, cache: &'static str) -> Option<RuleModule> {
        let cached = self.modules.lock().unwrap_or_else(|e| e.into_inner()).get(key);
        self.metrics.cache_lookup(cache, cached.is_some());
        cached
    }

    /// `load`'s module for `key` (not in the cache a moment ago), then cached. One load per key
    /// at a time: callers arriving while one runs wait for it and take what it cached, so a
    /// burst of first uses (after an activation, a restart) compiles once.
    async fn load_once<E>(
        &self,
        key: ModuleKey,
        load: impl AsyncFnOnce() -> Result<RuleModule, E>,
    ) -> Result<RuleModule, E> {
        let gate = Arc::clone(self.loading.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default());
        let turn = gate.lock().await;
        let earlier = self.modules.lock().unwrap_or_else(|e| e.into_inner()).get(&key);
        let result = match earlier {
            Some(module) => Ok(module),
            None => load().await.inspect(|module| {
                self.modules.lock().unwrap_or_else(|e| e.into_inner()).put(key.clone(), module.clone());
            }),
        };
        drop(turn);
        let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        // Waiters clone the gate under this lock: only the map's and this caller's are left.
        if Arc::strong_count(&gate) <= 2 {
            loading.remove(&key);
        }
        result
    }

    /// Runs the selected versions of a realm's rules on a user, counting the evaluation.
    pub async fn evaluate(
        &self,
        store: &impl ModuleStore,
        realm: &Realm,
        selection: Selection,
        context: &Context,
        user: &User,
    ) -> Result<RealmOutcome, RulesError> {
        self.evaluate_drafts(store, realm, selection, &Drafts::default(), context, user).await
    }

    /// [`RuleRunner::evaluate`], each of `drafts` running in place of what `selection` names of
    /// its kind (a preview's).
    pub async fn evaluate_drafts(
        &self,
        store: &impl ModuleStore,
        realm: &Realm,
        selection: Selection,
        drafts: &Drafts,
        context: &Context,
        user: &User,
    ) -> Result<RealmOutcome, RulesError> {
        let result = match self.load(store, realm, selection, drafts).await {
            Ok(rules) => match self.slots.acquire(&realm.tenant_id).await {
                Ok(slot) => evaluate_blocking(&self.work, rules, context.clone(), user.clone(), slot).await,
                Err(no_slot) => Err(no_slot.into()),
            },
            Err(error) => Err(error),
        };
        let trigger = trigger_name(context.trigger).to_owned();
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

    /// Loads the selected versions of a realm's rules, ready for the evaluator; a draft of a kind
    /// takes the place of what `selection` names of that kind.
    pub async fn load(
        &self,
        store: &impl ModuleStore,
        realm: &Realm,
        selection: Selection,
        drafts: &Drafts,
    ) -> Result<RealmRules, RulesError> {
        Ok(RealmRules {
            realm_id: realm.id.clone(),
            default_organization: realm.default_organization.clone(),
            user_rules: self.selected(store, realm, RuleKind::User, selection.user_rules, drafts).await?,
            group_rules: self.selected(store, realm, RuleKind::Group, selection.group_rules, drafts).await?,
            budget: self.budget(realm),
        })
    }

    /// What runs of `kind`: its draft, else `version`, else nothing.
    async fn selected(
        &self,
        store: &impl ModuleStore,
        realm: &Realm,
        kind: RuleKind,
        version: Option<i64>,
        drafts: &Drafts,
    ) -> Result<Option<LoadedModule>, RulesError> {
        match (drafts.of_kind(kind), version) {
            (Some(draft), _) => Ok(Some(draft.loaded().clone())),
            (None, Some(version)) => Ok(Some(self.loaded(store, realm, kind, version).await?)),
            (None, None) => Ok(None),
        }
    }

    /// The bounds the realm's rules run under: its own limits, each within the operator's
    /// (the engine's), which stand for those it does not set.
    pub fn budget(&self, realm: &Realm) -> Budget {
        let maxima = self.engine.limits();
        let own = realm.limits;
        let asked = Budget {
            fuel: own.fuel.unwrap_or(maxima.fuel),
            timeout: own.timeout_ms.map_or(maxima.timeout, std::time::Duration::from_millis),
            max_memory_bytes: own
                .max_memory_bytes
                .map_or(maxima.max_memory_bytes, |bytes| usize::try_from(bytes).unwrap_or(usize::MAX)),
        };
        asked.within(maxima)
    }

    async fn loaded(
        &self,
        store: &impl ModuleStore,
        realm: &Realm,
        kind: RuleKind,
        version: i64,
    ) -> Result<LoadedModule, RulesError> {
        let stored = self.version(store, &realm.tenant_id, &realm.id, kind, version).await?;
        let module = self.with_settings(store, &stored).await?;
        Ok(LoadedModule {
            module,
            settings: PreparedSettings(stored.prepared_settings.clone()),
            reference: ModuleRef { version, digest: stored.digest.clone(), draft: false },
        })
    }
}

/// A module that could not be loaded (or snapshotted): busy compile slots, or the engine's
/// refusal.
fn load_failed(error: CompileError, digest: &str) -> RulesError {
    match error.busy() {
        Some(_) => RulesError::CompileBusy(error),
        None => RulesError::Load { digest: digest.to_owned(), message: error.to_string() },
    }
}

/// Runs the pure evaluator off the async workers ([`EngineWork`]), holding the tenant's `slot`
/// until it is done, even if the caller stops waiting.
async fn evaluate_blocking(
    work: &EngineWork,
    rules: RealmRules,
    context: Context,
    user: User,
    slot: OwnedSemaphorePermit,
) -> Result<RealmOutcome, RulesError> {
    work.run(move || {
        let outcome = evaluator::evaluate(&rules, &context, &user);
        drop(slot);
        outcome
    })
    .await
    .map_err(|e| RulesError::Load { digest: String::new(), message: format!("evaluation task failed: {e}") })?
    .map_err(RulesError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rules_own_failures_are_recorded_as_failed_runs() {
        let selection = Selection { user_rules: Some(2), group_rules: None };
        let store = RulesError::Store(StoreError::Conflict("lost a race".into()));
        assert!(!store.is_rules_failure());
        assert!(store.failed_run(selection).is_none());
        for failure in [
            RulesError::MissingVersion { kind: RuleKind::User, version: 2, realm: "entra".into() },
            RulesError::Load { digest: "ab".into(), message: "refused".into() },
            RulesError::RecordTooLarge { size: 10, limit: 5 },
        ] {
            assert!(failure.is_rules_failure(), "{failure}");
            let run = failure.failed_run(selection).expect("a failed run");
            assert_eq!((run.user_rules, run.group_rules), (Some((2, None)), None));
            assert_eq!(run.failure.kind, failure.kind());
        }
    }
}
