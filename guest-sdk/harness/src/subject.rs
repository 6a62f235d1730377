//! What fixtures run against: a policy in-process ([`Native`]) or a compiled module in the real
//! engine ([`Wasm`]).

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
    time::Duration,
};

pub use crate::failure::Failure;
use crate::isolate::DEFAULT_CASE_TIMEOUT;
use muster_engine::{Engine, EngineConfig, EvalError, PreparedSettings, RuleModule};
use muster_wire::{Context, GroupDecision, GuestError, Response, User, UserDecision, codec, trace::TraceStep};
use serde::de::DeserializeOwned;

/// A decision with the trace that explains it.
pub type Traced<T> = (T, Vec<TraceStep>);

/// Something fixtures can run against.
pub trait Subject {
    /// How reports name this subject (`native MyPolicy`, `wasm user_rules.wasm`).
    fn label(&self) -> String;
    /// Validates a settings document and returns its prepared form.
    fn prepare(&self, settings_json: &[u8]) -> Result<Vec<u8>, Failure>;
    /// Decides about a user.
    fn user(&self, settings: &[u8], context: &Context, user: &User) -> Result<Traced<UserDecision>, Failure>;
    /// Marks provider groups.
    fn groups(&self, settings: &[u8], context: &Context, groups: &[String]) -> Result<Traced<GroupDecision>, Failure>;

    /// Runs the fixture files (or directories of them) in `paths` against this subject.
    fn run<P: AsRef<Path>>(&self, paths: impl IntoIterator<Item = P>) -> crate::Report
    where
        Self: Sized,
    {
        let paths: Vec<P> = paths.into_iter().collect();
        crate::run_fixtures(self, &paths)
    }
}

/// An entry point of the guest runtime: request bytes to response bytes.
type Entry = fn(&[u8]) -> Vec<u8>;

/// A policy run in-process through the SDK's runtime functions, the ones its module exports.
/// Build it with [`crate::native!`].
///
/// Each call runs on a thread of its own: a panicking case fails with the panic's message, and
/// a case still running after the deadline ([`crate::DEFAULT_CASE_TIMEOUT`], or
/// [`Native::with_case_timeout`]) fails as not finishing, while the other cases still run.
pub struct Native {
    label: String,
    prepare: Entry,
    user_rules: Option<Entry>,
    group_rules: Option<Entry>,
    case_timeout: Duration,
}

impl Native {
    /// A subject with settings preparation only; add rules with the `with_*` methods.
    pub fn new(label: &str, prepare: Entry) -> Self {
        Self {
            label: format!("native {label}"),
            prepare,
            user_rules: None,
            group_rules: None,
            case_timeout: DEFAULT_CASE_TIMEOUT,
        }
    }

    /// Sets how long one call may run before its case is reported as not finishing.
    pub fn with_case_timeout(mut self, timeout: Duration) -> Self {
        self.case_timeout = timeout;
        self
    }

    /// Calls `entry` in isolation (see [`crate::isolate`]).
    fn call(&self, entry: Entry, input: Vec<u8>) -> Result<Vec<u8>, Failure> {
        crate::isolate::run(entry, input, self.case_timeout)
    }

    /// Adds the user-rules entry point.
    pub fn with_user_rules(mut self, entry: Entry) -> Self {
        self.user_rules = Some(entry);
        self
    }

    /// Adds the group-rules entry point.
    pub fn with_group_rules(mut self, entry: Entry) -> Self {
        self.group_rules = Some(entry);
        self
    }
}

impl Subject for Native {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn prepare(&self, settings_json: &[u8]) -> Result<Vec<u8>, Failure> {
        decode::<Vec<u8>>(&self.call(self.prepare, settings_json.to_vec())?).map(|(prepared, _)| prepared)
    }

    fn user(&self, settings: &[u8], context: &Context, user: &User) -> Result<Traced<UserDecision>, Failure> {
        let entry = self.user_rules.ok_or(Failure::NotImplemented("user rules"))?;
        let request = codec::encode_user_request(context, settings, user).map_err(|e| Failure::Error(e.0))?;
        decode(&self.call(entry, request)?)
    }

    fn groups(&self, settings: &[u8], context: &Context, groups: &[String]) -> Result<Traced<GroupDecision>, Failure> {
        let entry = self.group_rules.ok_or(Failure::NotImplemented("group rules"))?;
        let request = codec::encode_group_request(context, settings, groups).map_err(|e| Failure::Error(e.0))?;
        decode(&self.call(entry, request)?)
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<Traced<T>, Failure> {
    let response: Response<T> = codec::decode(bytes).map_err(|e| Failure::Error(format!("malformed response: {e}")))?;
    match response.result {
        Ok(value) => Ok((value, response.trace)),
        Err(GuestError::Settings(e)) => Err(Failure::InvalidSettings(e)),
        Err(other) => Err(Failure::Error(other.to_string())),
    }
}

/// A compiled module run by the real engine, exactly as the service runs it: each settings
/// document's cases run on a snapshot of the module with those settings loaded.
pub struct Wasm {
    label: String,
    module: RuleModule,
    engine: Engine,
    /// The snapshot for the settings of the cases run last.
    snapshot: Mutex<Option<RuleModule>>,
}

impl Wasm {
    /// Loads a module file into a fresh engine with default limits.
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let engine = Engine::new(EngineConfig::default()).map_err(|e| e.to_string())?;
        let module = engine.load(&bytes).map_err(|e| format!("{} was refused: {e}", path.display()))?;
        let label = format!("wasm {}", path.file_name().unwrap_or(path.as_os_str()).to_string_lossy());
        Ok(Self { label, module, engine, snapshot: Mutex::new(None) })
    }

    /// The module to run cases with `settings` on: its snapshot with them loaded, taken on
    /// first use.
    fn with_settings(&self, settings: &PreparedSettings) -> Result<RuleModule, Failure> {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(module) = snapshot.as_ref().filter(|module| module.loaded_settings() == Some(settings)) {
            return Ok(module.clone());
        }
        let module = self
            .engine
            .snapshot_settings(&self.module, settings)
            .map_err(|e| Failure::Error(format!("settings snapshot: {e}")))?;
        *snapshot = Some(module.clone());
        Ok(module)
    }

    /// Loads the module `scripts/build-policies` built for the crate whose library is named
    /// `artifact` (`user_rules` for the crate `user-rules`). Panics, saying what to run, when it
    /// has not been built, when no module has that name (listing those that do exist), or when
    /// it is older than the sources of the crate under test (`CARGO_MANIFEST_DIR`, set by
    /// `cargo test`) whose library it is: a stale module would test yesterday's rules.
    pub fn built(artifact: &str) -> Self {
        let path = built_artifact(artifact);
        if let Err(problem) = crate::built::check(&path, artifact, crate::built::CrateUnderTest::current().as_ref()) {
            panic!("{problem}");
        }
        Self::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Where `scripts/build-policies` puts the module of library `artifact`: `$MUSTER_WASM_DIR`, or
/// the workspace's `target/wasm/wasm32-unknown-unknown/wasm-release`.
pub fn built_artifact(artifact: &str) -> PathBuf {
    let dir = std::env::var_os("MUSTER_WASM_DIR").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm/wasm32-unknown-unknown/wasm-release")
    });
    dir.join(format!("{artifact}.wasm"))
}

fn engine_failure(error: EvalError) -> Failure {
    match error {
        EvalError::InvalidSettings(e) => Failure::InvalidSettings(e),
        EvalError::NotExported(export) => Failure::NotImplemented(export),
        other => Failure::Error(other.to_string()),
    }
}

impl Subject for Wasm {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn prepare(&self, settings_json: &[u8]) -> Result<Vec<u8>, Failure> {
        self.module.prepare_settings(settings_json).map(|p| p.0).map_err(engine_failure)
    }

    fn user(&self, settings: &[u8], context: &Context, user: &User) -> Result<Traced<UserDecision>, Failure> {
        let settings = PreparedSettings(settings.to_vec());
        let module = self.with_settings(&settings)?;
        let evaluation = module.evaluate_user(&settings, context, user).map_err(engine_failure)?;
        Ok((evaluation.output, evaluation.trace))
    }

    fn groups(&self, settings: &[u8], context: &Context, groups: &[String]) -> Result<Traced<GroupDecision>, Failure> {
        let settings = PreparedSettings(settings.to_vec());
        let module = self.with_settings(&settings)?;
        let evaluation = module.evaluate_groups(&settings, context, groups).map_err(engine_failure)?;
        Ok((evaluation.output, evaluation.trace))
    }
}
