//! A loaded rule module and its evaluations.

use std::{sync::Arc, time::Duration};

use muster_wire::{
    Context, GroupDecision, GuestError, MissingEntries, Response, User, UserDecision, abi, codec, trace::TraceStep,
};
use serde::de::DeserializeOwned;

use crate::{Budget, EvalError, Failure, invoke::Callable, trace};

/// Which entry points a module exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entries {
    /// `muster_user_rules`: decides users.
    pub user_rules: bool,
    /// `muster_group_rules`: marks provider groups.
    pub group_rules: bool,
    /// `muster_prepare_settings`: validates and prepares settings.
    pub prepare_settings: bool,
    /// `muster_settings_schema`: publishes the JSON Schema of the settings.
    pub settings_schema: bool,
    /// `muster_load_settings`: keeps decoded settings in the instance (what a settings snapshot
    /// is taken of).
    pub load_settings: bool,
    /// `muster_settings_entries`: says which exported rules a settings document leaves nothing
    /// to run.
    pub settings_entries: bool,
}

/// Settings as the module prepared them (opaque bytes), ready to pass to every evaluation.
/// Store them beside the module: they are only meaningful to the module that made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSettings(pub Vec<u8>);

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation<T> {
    /// The module's decision.
    pub output: T,
    /// The steps the module recorded, truncated to [`Limits::max_trace_steps`] and
    /// [`Limits::max_trace_bytes`] with a marker step ([`trace::marker`]) after the last kept one.
    ///
    /// [`Limits::max_trace_steps`]: crate::Limits::max_trace_steps
    /// [`Limits::max_trace_bytes`]: crate::Limits::max_trace_bytes
    pub trace: Vec<TraceStep>,
    /// Wall-clock time, instantiation included.
    pub duration: Duration,
    /// Fuel consumed, instantiation included: a deterministic measure of the work done.
    pub fuel_consumed: u64,
}

/// A validated, compiled rule module, ready to evaluate. Cheap to clone and shareable across
/// threads; every evaluation runs in a fresh instance.
#[derive(Clone)]
pub struct RuleModule {
    inner: Arc<Inner>,
}

struct Inner {
    digest: String,
    entries: Entries,
    code_bytes: usize,
    callable: Callable,
    snapshot: Snapshot,
}

/// Where a module stands with settings snapshots (see [`crate::Engine::snapshot_settings`]).
#[derive(Clone)]
pub(crate) enum Snapshot {
    /// It cannot be snapshotted: every request carries its settings.
    Unsupported,
    /// The module as uploaded, compiled instrumented: its bytes, to snapshot with any settings.
    Source(Arc<[u8]>),
    /// A snapshot with these settings decoded: a request with the same settings carries none.
    Loaded(PreparedSettings),
}

impl RuleModule {
    pub(crate) fn new(digest: String, entries: Entries, callable: Callable, snapshot: Snapshot) -> Self {
        let image = callable.pre.module().image_range();
        let source_bytes = match &snapshot {
            Snapshot::Source(source) => source.len(),
            Snapshot::Unsupported | Snapshot::Loaded(_) => 0,
        };
        let code_bytes = (image.end as usize).saturating_sub(image.start as usize) + source_bytes;
        Self { inner: Arc::new(Inner { digest, entries, code_bytes, callable, snapshot }) }
    }

    pub(crate) fn callable(&self) -> &Callable {
        &self.inner.callable
    }

    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.inner.snapshot
    }

    /// Whether [`crate::Engine::snapshot_settings`] can make a snapshot of this module (it
    /// exports `muster_load_settings` and is not a snapshot already).
    pub fn takes_snapshots(&self) -> bool {
        matches!(self.inner.snapshot, Snapshot::Source(_))
    }

    /// The settings this module's instances start with already decoded (a settings snapshot's),
    /// if any: evaluations given these settings skip decoding them.
    pub fn loaded_settings(&self) -> Option<&PreparedSettings> {
        match &self.inner.snapshot {
            Snapshot::Loaded(settings) => Some(settings),
            Snapshot::Unsupported | Snapshot::Source(_) => None,
        }
    }

    /// The settings a request must carry: none when the instance starts with them decoded.
    fn carried<'a>(&self, settings: &'a PreparedSettings) -> &'a [u8] {
        if self.loaded_settings() == Some(settings) { &[] } else { &settings.0 }
    }

    /// The SHA-256 digest of the module's bytes, in lower-case hex.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// The size of the module's compiled code in memory (and, for a module that can be
    /// snapshotted, of its bytes, kept for snapshots), in bytes: what keeping it loaded costs. A
    /// settings snapshot has code of its own.
    pub fn code_bytes(&self) -> usize {
        self.inner.code_bytes
    }

    /// Which entry points the module exports.
    pub fn entries(&self) -> Entries {
        self.inner.entries
    }

    /// Validates a JSON settings document with the module and returns its prepared form. A
    /// module that does not export `muster_prepare_settings` gets the JSON bytes unchanged.
    pub fn prepare_settings(&self, settings_json: &[u8]) -> Result<PreparedSettings, EvalError> {
        if !self.inner.entries.prepare_settings {
            return Ok(PreparedSettings(settings_json.to_vec()));
        }
        let invocation = self.callable().invoke(abi::PREPARE_SETTINGS, settings_json).map_err(|f| f.error)?;
        let (prepared, _trace) = decode_response::<Vec<u8>>(&invocation.output)?;
        Ok(PreparedSettings(prepared))
    }

    /// Which of the module's exported rules cannot run with `settings`, and why, as the module
    /// says (`muster_settings_entries`); nothing missing for a module without that export. Runs
    /// the module once, under the same limits as an evaluation.
    pub fn missing_entries(&self, settings: &PreparedSettings) -> Result<MissingEntries, EvalError> {
        if !self.inner.entries.settings_entries {
            return Ok(MissingEntries::default());
        }
        let invocation = self.callable().invoke(abi::SETTINGS_ENTRIES, &settings.0).map_err(|f| f.error)?;
        let (missing, _trace) = decode_response::<MissingEntries>(&invocation.output)?;
        Ok(missing)
    }

    /// The JSON Schema of the module's settings document, as the module publishes it (JSON text,
    /// for the caller to parse); `None` for a module without `muster_settings_schema`. Runs the
    /// module once, under the same limits as an evaluation.
    pub fn settings_schema(&self) -> Result<Option<String>, EvalError> {
        if !self.inner.entries.settings_schema {
            return Ok(None);
        }
        let invocation = self.callable().invoke(abi::SETTINGS_SCHEMA, &[]).map_err(|f| f.error)?;
        let (schema, _trace) = decode_response::<String>(&invocation.output)?;
        Ok(Some(schema))
    }

    /// Decides one user's organization and rule-based groups, under the engine's limits.
    pub fn evaluate_user(
        &self,
        settings: &PreparedSettings,
        context: &Context,
        user: &User,
    ) -> Result<Evaluation<UserDecision>, EvalError> {
        let budget = self.callable().limits.budget();
        self.evaluate_user_within(settings, context, user, budget).map_err(|failure| failure.error)
    }

    /// [`RuleModule::evaluate_user`] under `budget` (capped at the engine's limits), whose
    /// failure also says what it cost.
    pub fn evaluate_user_within(
        &self,
        settings: &PreparedSettings,
        context: &Context,
        user: &User,
        budget: Budget,
    ) -> Result<Evaluation<UserDecision>, Failure> {
        self.require(self.inner.entries.user_rules, abi::USER_RULES)?;
        let request = codec::encode_user_request(context, self.carried(settings), user).map_err(encode_failed)?;
        self.evaluate(abi::USER_RULES, &request, budget)
    }

    /// Marks provider groups with organizations, under the engine's limits.
    pub fn evaluate_groups(
        &self,
        settings: &PreparedSettings,
        context: &Context,
        groups: &[String],
    ) -> Result<Evaluation<GroupDecision>, EvalError> {
        let budget = self.callable().limits.budget();
        self.evaluate_groups_within(settings, context, groups, budget).map_err(|failure| failure.error)
    }

    /// [`RuleModule::evaluate_groups`] under `budget` (capped at the engine's limits), whose
    /// failure also says what it cost.
    pub fn evaluate_groups_within(
        &self,
        settings: &PreparedSettings,
        context: &Context,
        groups: &[String],
        budget: Budget,
    ) -> Result<Evaluation<GroupDecision>, Failure> {
        self.require(self.inner.entries.group_rules, abi::GROUP_RULES)?;
        let request = codec::encode_group_request(context, self.carried(settings), groups).map_err(encode_failed)?;
        let evaluation: Evaluation<GroupDecision> = self.evaluate(abi::GROUP_RULES, &request, budget)?;
        let answered: Vec<&str> = evaluation.output.groups.iter().map(|a| a.group.as_str()).collect();
        if answered.len() != groups.len() || answered.iter().zip(groups).any(|(a, g)| *a != g) {
            let error = EvalError::MalformedOutput(format!(
                "asked about {} groups, answered about {:?}",
                groups.len(),
                answered
            ));
            return Err(Failure { error, duration: evaluation.duration, fuel_consumed: evaluation.fuel_consumed });
        }
        Ok(evaluation)
    }

    fn require(&self, exported: bool, export: &'static str) -> Result<(), Failure> {
        if exported { Ok(()) } else { Err(Failure::nothing_ran(EvalError::NotExported(export))) }
    }

    fn evaluate<T: DeserializeOwned>(
        &self,
        export: &'static str,
        request: &[u8],
        budget: Budget,
    ) -> Result<Evaluation<T>, Failure> {
        let invocation = self.callable().invoke_within(export, request, budget)?;
        let (output, mut trace) = decode_response(&invocation.output).map_err(|error| Failure {
            error,
            duration: invocation.duration,
            fuel_consumed: invocation.fuel_consumed,
        })?;
        let limits = &self.callable().limits;
        trace::truncate(&mut trace, limits.max_trace_steps, limits.max_trace_bytes, trace::text_bytes);
        Ok(Evaluation { output, trace, duration: invocation.duration, fuel_consumed: invocation.fuel_consumed })
    }
}

fn encode_failed(error: codec::CodecError) -> Failure {
    Failure::nothing_ran(EvalError::Encode(error.0))
}

/// The module's answer, or the error it reported.
pub(crate) fn decode_response<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, Vec<TraceStep>), EvalError> {
    let response: Response<T> = codec::decode(bytes).map_err(|e| EvalError::MalformedOutput(e.0))?;
    match response.result {
        Ok(output) => Ok((output, response.trace)),
        Err(GuestError::Settings(error)) => Err(EvalError::InvalidSettings(error)),
        Err(other) => Err(EvalError::Guest(other.to_string())),
    }
}
