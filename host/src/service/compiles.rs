//! Loading a tenant's modules under a per-tenant bound: at most `tenant_max_concurrent_compiles`
//! loads of one tenant run at once (the engine bounds all tenants together with
//! `engine.max_concurrent_compiles`), and a load waits at most `engine.compile_wait` for its
//! tenant's turn. A tenant's slot stays taken while its compile runs, also in the background
//! after a compile timeout, so one tenant cannot crowd the engine's compile slots out of
//! everyone else's reach.

use std::{num::NonZeroUsize, sync::Arc, time::Duration};

use muster_engine::{Engine, LoadError, PreparedSettings, RuleModule};
use tokio::sync::OwnedSemaphorePermit;

use super::engine_work::EngineWork;
use super::tenant_slots::TenantSlots;

/// Who was too busy to compile a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusyScope {
    /// The tenant's own compile slots.
    Tenant,
    /// The server's compile slots, shared by every tenant.
    Server,
}

/// Why a tenant's module was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The tenant's compile slots stayed busy for the whole wait.
    #[error(
        "tenant {tenant} already has {limit} module compile(s) in progress and none finished within {waited:?}; try again later"
    )]
    TenantBusy {
        /// The tenant.
        tenant: String,
        /// Its compile slots.
        limit: usize,
        /// How long the load waited.
        waited: Duration,
    },
    /// The engine refused the module, or had no compile slot free ([`LoadError::CompilerBusy`]).
    #[error(transparent)]
    Refused(#[from] LoadError),
    /// The blocking task running the load failed.
    #[error("the module load task failed: {0}")]
    Task(String),
}

impl CompileError {
    /// Whose compile slots were busy, if that is why, and how long the load waited for one:
    /// trying again after about as long may succeed.
    pub fn busy(&self) -> Option<(BusyScope, Duration)> {
        match self {
            CompileError::TenantBusy { waited, .. } => Some((BusyScope::Tenant, *waited)),
            CompileError::Refused(LoadError::CompilerBusy { waited, .. }) => Some((BusyScope::Server, *waited)),
            _ => None,
        }
    }
}

/// The per-tenant compile slots.
pub struct TenantCompiles {
    slots: TenantSlots,
}

impl TenantCompiles {
    /// `per_tenant` slots for each tenant, waited for at most `wait`.
    pub fn new(per_tenant: NonZeroUsize, wait: Duration) -> Self {
        Self { slots: TenantSlots::new(per_tenant, wait) }
    }

    /// Loads `wasm` with `engine` in one of `tenant`'s slots, off the async workers (`work`).
    pub async fn load(
        &self,
        engine: &Arc<Engine>,
        tenant: &str,
        wasm: Vec<u8>,
        work: &EngineWork,
    ) -> Result<RuleModule, CompileError> {
        self.in_slot(engine, tenant, work, move |engine, permit| engine.load_holding(&wasm, permit)).await
    }

    /// Snapshots `module` with `settings` loaded ([`Engine::snapshot_settings`]) in one of
    /// `tenant`'s slots, off the async workers: a snapshot is compiled like a module.
    pub async fn snapshot(
        &self,
        engine: &Arc<Engine>,
        tenant: &str,
        module: RuleModule,
        settings: PreparedSettings,
        work: &EngineWork,
    ) -> Result<RuleModule, CompileError> {
        self.in_slot(engine, tenant, work, move |engine, permit| {
            engine.snapshot_settings_holding(&module, &settings, permit)
        })
        .await
    }

    /// Runs `compile` on `work` once `tenant` has a slot. The permit goes into the engine,
    /// which keeps it until the compiler really finishes.
    async fn in_slot(
        &self,
        engine: &Arc<Engine>,
        tenant: &str,
        work: &EngineWork,
        compile: impl FnOnce(&Engine, OwnedSemaphorePermit) -> Result<RuleModule, LoadError> + Send + 'static,
    ) -> Result<RuleModule, CompileError> {
        let permit = self.slots.acquire(tenant).await.map_err(|no_slot| CompileError::TenantBusy {
            tenant: no_slot.tenant,
            limit: no_slot.slots,
            waited: no_slot.waited,
        })?;
        let engine = Arc::clone(engine);
        work.run(move || compile(&engine, permit))
            .await
            .map_err(|e| CompileError::Task(e.to_string()))?
            .map_err(CompileError::Refused)
    }
}
