//! Settings snapshots: a module whose fresh instances start with a version's settings already
//! decoded.
//!
//! A module that exports [`abi::LOAD_SETTINGS`] is compiled *instrumented* (its memory and
//! mutable globals exported under names of their own, by `wasmtime-wizer`), which changes
//! nothing it does. For a version's prepared settings, [`take`] instantiates it, calls
//! `muster_load_settings` under the usual limits, reads the memory and globals the call left and
//! writes them out as a new module whose data segments hold that state. Compiled, that module's
//! instances start from a copy-on-write image of the initialized memory: no evaluation decodes
//! the settings again, and each still runs in a fresh instance.
//!
//! The regex handles the settings hold were handed out by the host while they were decoded, so
//! the snapshot keeps those compiled expressions too ([`Taken::handles`]): its instances start
//! with the same handle table.

use std::{
    future::Future,
    pin::pin,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use muster_wire::abi;
use wasmparser::{ExternalKind, Parser, Payload};
use wasmtime::{Instance, Store};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::{
    EvalError, host_functions::HostState, invoke::Callable, module::decode_response, regex_cache::CompiledRegex,
};

/// The export wizer names the first instrumented memory: a compiled module exporting it was
/// compiled instrumented, so it can be snapshotted.
const INSTRUMENTED_MEMORY: &str = "__wizer_memory_0";

/// A settings snapshot, written out as a module.
pub struct Taken {
    /// The module's bytes: the source module with the initialized state as its data.
    pub wasm: Vec<u8>,
    /// The regex handles its memory refers to, in handle order.
    pub handles: Vec<Arc<CompiledRegex>>,
}

/// The instrumented form of `wasm` to compile instead of `wasm`, if the module exports
/// `muster_load_settings` and its shape allows a snapshot (no table mutation, no dropped
/// segments); otherwise `None`, and it runs as uploaded, every request carrying its settings.
pub fn instrument(wasm: &[u8]) -> Option<Vec<u8>> {
    if !exports_function(wasm, abi::LOAD_SETTINGS) {
        return None;
    }
    wizer().instrument(wasm).ok().map(|(_, instrumented)| instrumented)
}

/// Whether a compiled module is the instrumented form [`instrument`] makes.
pub fn is_instrumented(module: &wasmtime::Module) -> bool {
    module.get_export(INSTRUMENTED_MEMORY).is_some()
}

/// Loads `settings` into a fresh instance of `callable` (compiled from [`instrument`]`(source)`)
/// and writes the state it leaves out as a module.
pub fn take(callable: &Callable, source: &[u8], settings: &[u8]) -> Result<Taken, EvalError> {
    let wizer = wizer();
    let (cx, _) = wizer.instrument(source).map_err(|e| snapshot_failed(&e))?;
    let (invocation, taken) = callable
        .invoke_inspecting(abi::LOAD_SETTINGS, settings, callable.limits.budget(), |store, instance| {
            let handles = store.data().regex_handles();
            let mut state = InstanceReader { store, instance, missing: None };
            let wasm = run_ready(wizer.snapshot(&cx, &mut state))
                .ok_or_else(|| wasmtime::format_err!("the snapshot did not complete at once"))??;
            match state.missing {
                Some(name) => Err(wasmtime::format_err!("the instrumented module has no export `{name}`")),
                None => Ok(Taken { wasm, handles }),
            }
        })
        .map_err(|failure| failure.error)?;
    decode_response::<()>(&invocation.output)?;
    Ok(taken)
}

/// The pre-initializer, set to drop `muster_load_settings` from the snapshot (its instances
/// have their settings).
fn wizer() -> Wizer {
    let mut wizer = Wizer::new();
    wizer.init_func(abi::LOAD_SETTINGS);
    wizer
}

fn snapshot_failed(error: &wasmtime::Error) -> EvalError {
    EvalError::Instantiation(format!("settings snapshot failed: {error:#}"))
}

/// Whether `wasm` exports a function named `name` (a module that does not parse exports none).
fn exports_function(wasm: &[u8], name: &str) -> bool {
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::ExportSection(exports)) => {
                return exports
                    .into_iter()
                    .any(|export| export.is_ok_and(|export| export.name == name && export.kind == ExternalKind::Func));
            }
            Ok(Payload::CodeSectionStart { .. }) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    false
}

/// Polls a future that never waits (every step of [`InstanceReader`] is synchronous) to its
/// end; `None` if it would have waited.
fn run_ready<F: Future>(future: F) -> Option<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// What the snapshot reads of an instance after `muster_load_settings`.
struct InstanceReader<'a> {
    store: &'a mut Store<HostState>,
    instance: &'a Instance,
    /// An export the snapshot asked for that the instance does not have (never, for a module
    /// [`instrument`] made).
    missing: Option<String>,
}

impl InstanceState for InstanceReader<'_> {
    fn global_get(&mut self, name: &str, _type_hint: ValType) -> impl Future<Output = SnapshotVal> + Send {
        let value = match self.instance.get_global(&mut *self.store, name).map(|global| global.get(&mut *self.store)) {
            Some(wasmtime::Val::I32(value)) => SnapshotVal::I32(value),
            Some(wasmtime::Val::I64(value)) => SnapshotVal::I64(value),
            Some(wasmtime::Val::F32(bits)) => SnapshotVal::F32(bits),
            Some(wasmtime::Val::F64(bits)) => SnapshotVal::F64(bits),
            Some(wasmtime::Val::V128(value)) => SnapshotVal::V128(value.as_u128()),
            _ => {
                self.missing.get_or_insert_with(|| name.to_owned());
                SnapshotVal::I32(0)
            }
        };
        std::future::ready(value)
    }

    fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) -> impl Future<Output = ()> + Send {
        match self.instance.get_memory(&mut *self.store, name) {
            Some(memory) => contents(memory.data(&*self.store)),
            None => {
                self.missing.get_or_insert_with(|| name.to_owned());
                contents(&[]);
            }
        }
        std::future::ready(())
    }
}
