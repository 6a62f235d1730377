//! The engine: wasmtime configured for untrusted rule modules, the host functions, the epoch
//! clock and the on-disk cache of compiled code.

use std::{path::PathBuf, sync::Arc, sync::mpsc, thread};

use sha2::{Digest, Sha256};
use wasmtime::{Config, InstanceAllocationStrategy, Linker, Module, OptLevel, PoolingAllocationConfig};

use crate::{
    EngineError, EvalError, Limits, LoadError,
    compile_cache::CompiledFunctions,
    compile_slots::CompileSlots,
    contract,
    disk_cache::DiskCache,
    error::one_line,
    host_functions::{self, HostState},
    invoke::Callable,
    module::{PreparedSettings, RuleModule, Snapshot},
    prevalidate,
    regex_cache::{CompiledRegex, RegexCache},
    snapshot,
    ticker::EpochTicker,
};

/// How to build an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The bounds every module and evaluation runs under.
    pub limits: Limits,
    /// Where compiled code is cached across restarts; `None` keeps nothing on disk.
    pub cache_dir: Option<PathBuf>,
    /// Most bytes of compiled code kept in `cache_dir`; the least recently used entries beyond
    /// it are removed. Default [`EngineConfig::DEFAULT_CACHE_MAX_BYTES`].
    pub cache_max_bytes: u64,
    /// Most bytes of compiled functions kept in memory for later compiles to reuse (a
    /// version's settings snapshot has its module's functions; see `compile_cache.rs`); the
    /// least recently used beyond it are dropped, and 0 keeps none. Default
    /// [`EngineConfig::DEFAULT_COMPILE_CACHE_BYTES`].
    pub compile_cache_bytes: usize,
}

impl EngineConfig {
    /// The default budget of the on-disk cache: 1 GiB.
    pub const DEFAULT_CACHE_MAX_BYTES: u64 = 1 << 30;
    /// The default budget of the in-memory cache of compiled functions: 64 MiB, the functions
    /// of about 40 modules the size of the stock user-rules module.
    pub const DEFAULT_COMPILE_CACHE_BYTES: usize = 64 << 20;
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            cache_dir: None,
            cache_max_bytes: Self::DEFAULT_CACHE_MAX_BYTES,
            compile_cache_bytes: Self::DEFAULT_COMPILE_CACHE_BYTES,
        }
    }
}

/// Loads and runs rule modules. One per process is enough; share it.
pub struct Engine {
    wasm: wasmtime::Engine,
    linker: Linker<HostState>,
    limits: Limits,
    cache: Option<DiskCache>,
    compile_slots: Arc<CompileSlots>,
    _ticker: EpochTicker,
}

impl Engine {
    /// Builds an engine: pooling allocator sized by the limits, fuel metering and epoch
    /// interruption on, and only Muster's host functions linkable.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let limits = config.limits;
        if limits.max_concurrent_compiles == 0 {
            return Err(EngineError::Config("max_concurrent_compiles must be at least 1".into()));
        }
        let mut wasmtime_config = wasmtime_config(&limits);
        if config.compile_cache_bytes > 0 {
            let compiled_functions = Arc::new(CompiledFunctions::new(config.compile_cache_bytes));
            wasmtime_config
                .enable_incremental_compilation(compiled_functions)
                .map_err(|e| EngineError::Config(format!("{e:#}")))?;
        }
        let wasm = wasmtime::Engine::new(&wasmtime_config).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let linker = host_functions::linker(&wasm).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let cache = config.cache_dir.map(|dir| DiskCache::open(&dir, &wasm, config.cache_max_bytes)).transpose()?;
        let ticker = EpochTicker::start(wasm.clone())
            .map_err(|e| EngineError::Config(format!("cannot start the epoch thread: {e}")))?;
        let compile_slots = CompileSlots::new(limits.max_concurrent_compiles);
        Ok(Self { wasm, linker, limits, cache, compile_slots, _ticker: ticker })
    }

    /// The limits this engine enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validates and compiles a module (or loads its compiled code from the disk cache), checks
    /// it against the ABI contract, and asks it for its ABI version. A module exporting
    /// `muster_load_settings` is compiled instrumented, ready for [`Engine::snapshot_settings`].
    ///
    /// Before anything is compiled the module must fit the size and shape limits (functions,
    /// body size, nesting, locals), and the compile must get one of the engine's compile slots
    /// within [`Limits::compile_wait`].
    pub fn load(&self, wasm: &[u8]) -> Result<RuleModule, LoadError> {
        self.load_holding(wasm, ())
    }

    /// [`Engine::load`], keeping `held` until the load is over or, when the module has to be
    /// compiled, until the compiler really finishes, even after a
    /// [`LoadError::CompileTimeout`]. A caller that bounds compiles of its own (per tenant, say)
    /// passes its permit here, so that its bound also covers compiles still running in the
    /// background.
    pub fn load_holding<H: Send + 'static>(&self, wasm: &[u8], held: H) -> Result<RuleModule, LoadError> {
        if wasm.len() > self.limits.max_module_bytes {
            return Err(LoadError::TooLarge { size: wasm.len(), limit: self.limits.max_module_bytes });
        }
        prevalidate::check(wasm, &self.limits)?;
        let digest = hex::encode(Sha256::digest(wasm));
        // A module that can keep its settings is compiled instrumented, ready for snapshots.
        let (module, from_cache) =
            self.compiled(&digest, || snapshot::instrument(wasm).unwrap_or_else(|| wasm.to_vec()), held)?;
        let snapshot =
            if snapshot::is_instrumented(&module) { Snapshot::Source(Arc::from(wasm)) } else { Snapshot::Unsupported };
        let cache_as = (!from_cache).then(|| digest.clone());
        self.ready(digest, module, cache_as, Arc::new(RegexCache::default()), Arc::from([]), snapshot)
    }

    /// A module whose fresh instances start with `settings` (prepared by `module`) already
    /// decoded, so evaluations given these settings skip decoding them; `module` itself if it
    /// cannot be snapshotted (it does not export `muster_load_settings`), or already is this
    /// snapshot.
    ///
    /// Loading the settings runs the module once, under the evaluation limits; the snapshot is
    /// then compiled like an upload (compile slots, timeout, the disk cache, keyed by the
    /// snapshot's bytes). Its evaluations decide exactly as `module`'s do with `settings`, and
    /// consume less fuel. Keep it beside the version whose settings it holds.
    pub fn snapshot_settings(&self, module: &RuleModule, settings: &PreparedSettings) -> Result<RuleModule, LoadError> {
        self.snapshot_settings_holding(module, settings, ())
    }

    /// [`Engine::snapshot_settings`], keeping `held` as [`Engine::load_holding`] does.
    pub fn snapshot_settings_holding<H: Send + 'static>(
        &self,
        module: &RuleModule,
        settings: &PreparedSettings,
        held: H,
    ) -> Result<RuleModule, LoadError> {
        let source = match module.snapshot() {
            Snapshot::Source(source) => source,
            Snapshot::Unsupported | Snapshot::Loaded(_) => return Ok(module.clone()),
        };
        let taken =
            snapshot::take(module.callable(), source, &settings.0).map_err(|e| LoadError::Startup(Box::new(e)))?;
        // The snapshot's digest keys its compiled code; the module's own still names it.
        let snapshot_digest = hex::encode(Sha256::digest(&taken.wasm));
        let (compiled, from_cache) = self.compiled(&snapshot_digest, || taken.wasm, held)?;
        let regexes = Arc::clone(&module.callable().regexes);
        let snapshot = Snapshot::Loaded(settings.clone());
        let cache_as = (!from_cache).then_some(snapshot_digest);
        self.ready(module.digest().to_owned(), compiled, cache_as, regexes, taken.handles.into(), snapshot)
    }

    /// The compiled module with `digest`, from the disk cache (`true`) or compiled from
    /// `wasm()` (`false`: cache it once it passed the checks).
    fn compiled<H: Send + 'static>(
        &self,
        digest: &str,
        wasm: impl FnOnce() -> Vec<u8>,
        held: H,
    ) -> Result<(Module, bool), LoadError> {
        match self.load_cached(digest) {
            Some(module) => Ok((module, true)),
            None => Ok((self.compile(wasm(), held)?, false)),
        }
    }

    /// Checks a compiled module against the contract, links it and asks it for its ABI version;
    /// then, if it was just compiled, keeps its code in the disk cache under `cache_as`.
    fn ready(
        &self,
        digest: String,
        module: Module,
        cache_as: Option<String>,
        regexes: Arc<RegexCache>,
        snapshot_handles: Arc<[Arc<CompiledRegex>]>,
        snapshot: Snapshot,
    ) -> Result<RuleModule, LoadError> {
        let entries = contract::check(&module)?;
        let pre =
            self.linker.instantiate_pre(&module).map_err(|e| LoadError::InvalidWasm(one_line(&format!("{e:#}"))))?;
        let callable = Callable { pre, regexes, snapshot_handles, limits: self.limits.clone() };
        let rule_module = RuleModule::new(digest, entries, callable, snapshot);
        let version = rule_module.callable().abi_version().map_err(|e| LoadError::Startup(Box::new(e)))?;
        if version != muster_wire::abi::ABI_VERSION as i32 {
            return Err(LoadError::UnsupportedAbi { found: version.into(), supported: muster_wire::abi::ABI_VERSION });
        }
        if let Some(key) = cache_as {
            self.store_cached(&key, rule_module.callable().pre.module());
        }
        Ok(rule_module)
    }

    /// Compiles on a separate thread, in one of the compile slots, so a slow compile costs at
    /// most the compile timeout of the caller's time. A compile that times out finishes in the
    /// background (its result is discarded) and keeps its slot, and `held`, until then.
    fn compile<H: Send + 'static>(&self, wasm: Vec<u8>, held: H) -> Result<Module, LoadError> {
        let wait = self.limits.compile_wait;
        let slot = self
            .compile_slots
            .acquire(wait)
            .ok_or(LoadError::CompilerBusy { slots: self.compile_slots.total(), waited: wait })?;
        let (sender, receiver) = mpsc::sync_channel(1);
        let engine = self.wasm.clone();
        let wasm = Arc::<[u8]>::from(wasm);
        let bytes = Arc::clone(&wasm);
        thread::Builder::new()
            .name("muster-compile".into())
            .spawn(move || {
                let compiled = Module::new(&engine, &bytes);
                // Free the slot before answering, so that a caller that got its module can
                // compile the next one at once.
                drop((slot, held));
                let _ = sender.send(compiled);
            })
            .map_err(|e| LoadError::InvalidWasm(format!("cannot start the compiler thread: {e}")))?;
        match receiver.recv_timeout(self.limits.compile_timeout) {
            Ok(Ok(module)) => Ok(module),
            // Valid WebAssembly that still does not compile is a module the instance pool cannot
            // hold: an initial memory or table above the caps, or more than one of either. That
            // is the instantiation failure of docs/abi.md, not invalid bytes; report the
            // innermost cause, which names the size and the cap but not the pool behind them.
            Ok(Err(error)) if Module::validate(&self.wasm, &wasm).is_ok() => {
                let cause = error.chain().last().map(ToString::to_string).unwrap_or_else(|| error.to_string());
                Err(LoadError::Startup(Box::new(EvalError::Instantiation(one_line(&cause)))))
            }
            Ok(Err(error)) => Err(LoadError::InvalidWasm(one_line(&format!("{error:#}")))),
            Err(_) => Err(LoadError::CompileTimeout(self.limits.compile_timeout)),
        }
    }

    fn load_cached(&self, digest: &str) -> Option<Module> {
        let cache = self.cache.as_ref()?;
        let compiled = cache.read(digest)?;
        // SAFETY: cache entries are written only by `store_cached` from `Module::serialize`
        // of this engine configuration (the entry name includes the engine fingerprint), in a
        // directory that must be writable by Muster alone (`--data-dir`, docs/configuration.md). wasmtime
        // still checks the header and refuses code built for another engine or version.
        match unsafe { Module::deserialize(&self.wasm, &compiled) } {
            Ok(module) => Some(module),
            Err(_) => {
                cache.remove(digest);
                None
            }
        }
    }

    fn store_cached(&self, digest: &str, module: &Module) {
        if let (Some(cache), Ok(compiled)) = (&self.cache, module.serialize()) {
            // A failed write only means compiling again after a restart.
            let _ = cache.write(digest, &compiled);
        }
    }
}

fn wasmtime_config(limits: &Limits) -> Config {
    let slots = limits.max_concurrent_evaluations;
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(limits.max_memory_bytes)
        .table_elements(limits.max_table_elements)
        .linear_memory_keep_resident(KEEP_RESIDENT);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling))
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(limits.max_stack_bytes)
        .cranelift_opt_level(OptLevel::Speed)
        // Each compile on its own thread, never in wasmtime's shared pool: there, the functions
        // of one large compile (also one that timed out and goes on in the background) queue
        // ahead of every other module's: a module that compiles in 25 ms timed out at 514 ms behind
        // a 5 s one (contract.rs, `a_compile_bomb_hits_the_compile_timeout`). So
        // one compile takes one core, and `max_concurrent_compiles` bounds the cores compiling.
        .parallel_compilation(false);
    config
}
/// Bytes at the bottom of each pooled linear memory that are reset with `memset` and kept
/// mapped instead of being unmapped between evaluations. A rule module built with the SDK's
/// linker flags keeps its stack, data and the start of its heap there, so an evaluation takes
/// almost no page faults. Measured on the stock default-organization module: 0 → 26 µs,
/// 128 KiB → 18 µs, 1 MiB → 37 µs per evaluation.
const KEEP_RESIDENT: usize = 128 << 10;
