//! One call into a module: a fresh instance, the request written in, the entry point called,
//! the response read out, and every failure turned into a typed [`EvalError`].

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use muster_wire::abi::{self, OutputSlice};
use wasmtime::{InstancePre, Store, Trap, WasmBacktrace};

use crate::{
    Budget, EvalError, Failure, Limits,
    host_functions::HostState,
    regex_cache::{CompiledRegex, RegexCache},
    ticker::EpochTicker,
};

/// What a module needs to be called: its pre-linked instance template and its limits.
pub struct Callable {
    /// The module, linked against the host functions, ready to instantiate.
    pub pre: InstancePre<HostState>,
    /// Compiled regular expressions of this module.
    pub regexes: Arc<RegexCache>,
    /// The regex handles the module's memory image already refers to (a settings snapshot's;
    /// empty for a module as uploaded).
    pub snapshot_handles: Arc<[Arc<CompiledRegex>]>,
    /// The bounds of every call.
    pub limits: Limits,
}

/// The raw result of a successful call.
pub struct Invocation {
    /// The response bytes the module returned.
    pub output: Vec<u8>,
    /// Fuel the call consumed (instantiation included).
    pub fuel_consumed: u64,
    /// Wall-clock time of the call (instantiation included).
    pub duration: Duration,
}

impl Callable {
    /// Calls `export` — a `(ptr, len) -> packed output` entry point — with `input`, under the
    /// limits' own budget.
    pub fn invoke(&self, export: &'static str, input: &[u8]) -> Result<Invocation, Failure> {
        self.invoke_within(export, input, self.limits.budget())
    }

    /// [`Callable::invoke`] under `budget`, capped at the limits.
    pub fn invoke_within(&self, export: &'static str, input: &[u8], budget: Budget) -> Result<Invocation, Failure> {
        self.invoke_inspecting(export, input, budget, |_, _| Ok(())).map(|(invocation, ())| invocation)
    }

    /// [`Callable::invoke_within`], then, if the call answered, `inspect` looks at the instance
    /// as the call left it, before it is discarded (an error of `inspect` fails the call).
    pub fn invoke_inspecting<R>(
        &self,
        export: &'static str,
        input: &[u8],
        budget: Budget,
        inspect: impl FnOnce(&mut Store<HostState>, &wasmtime::Instance) -> wasmtime::Result<R>,
    ) -> Result<(Invocation, R), Failure> {
        if input.len() > self.limits.max_input_bytes {
            let error = EvalError::InputTooLarge { size: input.len(), limit: self.limits.max_input_bytes };
            return Err(Failure::nothing_ran(error));
        }
        self.with_instance(budget, |store, instance| {
            let input_len = input.len() as i32;
            let alloc = instance.get_typed_func::<i32, i32>(&mut *store, abi::ALLOC)?;
            let input_ptr = alloc.call(&mut *store, input_len)?;
            let memory = store.data().memory().ok_or_else(|| wasmtime::format_err!("module has no exported memory"))?;
            memory
                .write(&mut *store, input_ptr as u32 as usize, input)
                .map_err(|_| wasmtime::format_err!("`{}` returned a buffer outside module memory", abi::ALLOC))?;
            let entry = instance.get_typed_func::<(i32, i32), i64>(&mut *store, export)?;
            let packed = entry.call(&mut *store, (input_ptr, input_len))?;
            match read_output(memory.data(&*store), packed, self.limits.max_output_bytes) {
                Ok(output) => Ok(Ok((output, inspect(store, instance)?))),
                Err(error) => Ok(Err(error)),
            }
        })
        .and_then(|(output, fuel_consumed, duration)| match output {
            Ok((output, inspected)) => Ok((Invocation { output, fuel_consumed, duration }, inspected)),
            Err(error) => Err(Failure { error, fuel_consumed, duration }),
        })
    }

    /// Asks the module which ABI version it speaks.
    pub fn abi_version(&self) -> Result<i32, EvalError> {
        self.with_instance(self.limits.budget(), |store, instance| {
            instance.get_typed_func::<(), i32>(&mut *store, abi::ABI_VERSION_EXPORT)?.call(&mut *store, ())
        })
        .map(|(version, _, _)| version)
        .map_err(|failed| failed.error)
    }

    /// Runs `body` on a fresh instance under the limits and `budget` (capped at them); returns
    /// its value, the fuel consumed and the time taken.
    fn with_instance<R>(
        &self,
        budget: Budget,
        body: impl FnOnce(&mut Store<HostState>, &wasmtime::Instance) -> wasmtime::Result<R>,
    ) -> Result<(R, u64, Duration), Failure> {
        let started = Instant::now();
        let budget = budget.within(&self.limits);
        let deadline = started.checked_add(budget.timeout);
        let state = HostState::new(
            Arc::clone(&self.regexes),
            Arc::clone(&self.snapshot_handles),
            budget.max_memory_bytes,
            self.limits.max_table_elements,
            deadline,
        );
        let mut store = Store::new(self.pre.module().engine(), state);
        store.limiter(|state| state.limiter());
        store.set_fuel(budget.fuel).map_err(|e| Failure::nothing_ran(EvalError::Instantiation(e.to_string())))?;
        store.set_epoch_deadline(EpochTicker::ticks_for(budget.timeout));
        let fuel_consumed = |store: &Store<HostState>| budget.fuel - store.get_fuel().unwrap_or(0);
        let failed = |error: wasmtime::Error, store: &Store<HostState>, instantiating: bool| Failure {
            error: classify(error, store, &budget, instantiating),
            fuel_consumed: fuel_consumed(store),
            duration: started.elapsed(),
        };
        let instance = self.pre.instantiate(&mut store).map_err(|e| failed(e, &store, true))?;
        if let Some(memory) = instance.get_memory(&mut store, abi::MEMORY) {
            store.data_mut().set_memory(memory);
        }
        let value = body(&mut store, &instance).map_err(|e| failed(e, &store, false))?;
        Ok((value, fuel_consumed(&store), started.elapsed()))
    }
}

/// Copies the response out of guest memory, checking the packed pointer and length.
fn read_output(memory: &[u8], packed: i64, max_output_bytes: usize) -> Result<Vec<u8>, EvalError> {
    let OutputSlice { ptr, len } = OutputSlice::unpack(packed);
    if len as usize > max_output_bytes {
        return Err(EvalError::MalformedOutput(format!(
            "response is {len} bytes; the limit is {max_output_bytes} bytes"
        )));
    }
    let start = ptr as usize;
    memory.get(start..start + len as usize).map(<[u8]>::to_vec).ok_or_else(|| {
        EvalError::MalformedOutput(format!(
            "response at {ptr}+{len} lies outside module memory ({} bytes)",
            memory.len()
        ))
    })
}

/// Turns a wasmtime failure into the error a tenant can act on.
fn classify(error: wasmtime::Error, store: &Store<HostState>, budget: &Budget, instantiating: bool) -> EvalError {
    let state = store.data();
    if let Some(message) = &state.panic_message {
        return EvalError::GuestPanic(message.clone());
    }
    if let Some((resource, limit)) = state.exceeded() {
        return EvalError::ResourceLimit { resource, limit };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => EvalError::FuelExhausted { limit: budget.fuel },
        Some(Trap::Interrupt) => EvalError::Timeout(budget.timeout),
        Some(Trap::StackOverflow) => EvalError::StackOverflow,
        Some(trap) => EvalError::Trap(with_location(trap.to_string(), &error)),
        None if instantiating => EvalError::Instantiation(format!("{error:#}")),
        None => EvalError::Trap(with_location(root_message(&error), &error)),
    }
}

/// The innermost message of an error chain.
fn root_message(error: &wasmtime::Error) -> String {
    error.chain().last().map(ToString::to_string).unwrap_or_else(|| error.to_string())
}

/// Appends the innermost named wasm function of the backtrace, if there is one.
fn with_location(message: String, error: &wasmtime::Error) -> String {
    let function = error
        .downcast_ref::<WasmBacktrace>()
        .and_then(|trace| trace.frames().iter().find_map(|frame| frame.func_name().map(str::to_owned)));
    match function {
        Some(function) => format!("{message} (in `{function}`)"),
        None => message,
    }
}
