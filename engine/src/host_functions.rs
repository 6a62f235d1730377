//! What a module can reach: per-evaluation state and the host functions of `docs/abi.md`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use muster_wire::abi::{self, imports};
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter, Trap};

use crate::regex_cache::{CompiledRegex, RegexCache};

/// Most regex handles one evaluation may hold.
const MAX_REGEX_HANDLES: usize = 10_000;
/// Longest panic message kept from a module.
const MAX_PANIC_MESSAGE: usize = 4096;
/// Fuel charged per `regex_compile` call, plus one unit per byte of pattern (hashing it, looking
/// it up, copying it). What a match costs is decided in [`crate::regex_cache`].
const REGEX_COMPILE_BASE_FUEL: u64 = 100;
/// Host work, in fuel units (about a nanosecond each), that may be done between two looks at
/// the clock. Wasm code checks the deadline at every loop and call, host functions only here, so
/// a run of host calls without a loop overshoots the deadline by at most about this much.
const CLOCK_CHECK_EVERY: u64 = 100_000;

/// State of one evaluation's store.
pub struct HostState {
    regexes: Arc<RegexCache>,
    /// The handles a settings snapshot's memory already refers to (compiled while its settings
    /// were loaded): handles `0..n`.
    snapshot_handles: Arc<[Arc<CompiledRegex>]>,
    /// Handles this evaluation compiled: `n..`.
    handles: Vec<Arc<CompiledRegex>>,
    limiter: CapLimiter,
    /// When the evaluation's wall-clock budget runs out; `None` if never.
    deadline: Option<Instant>,
    /// Host work charged since the clock was last looked at.
    unclocked_fuel: u64,
    /// The module's exported memory, once the instance exists (host functions find it here
    /// rather than by name on every call).
    memory: Option<Memory>,
    /// The message of a module that called `abort` (panicked).
    pub panic_message: Option<String>,
}

impl HostState {
    /// Fresh state for one evaluation of a module whose compiled regexes live in `regexes`,
    /// whose snapshot holds `snapshot_handles`, due to end by `deadline`.
    pub fn new(
        regexes: Arc<RegexCache>,
        snapshot_handles: Arc<[Arc<CompiledRegex>]>,
        max_memory_bytes: usize,
        max_table_elements: usize,
        deadline: Option<Instant>,
    ) -> Self {
        Self {
            regexes,
            snapshot_handles,
            handles: Vec::new(),
            limiter: CapLimiter { max_memory_bytes, max_table_elements, exceeded: None },
            deadline,
            unclocked_fuel: 0,
            memory: None,
            panic_message: None,
        }
    }

    /// The limiter wasmtime consults on every memory or table growth.
    pub fn limiter(&mut self) -> &mut CapLimiter {
        &mut self.limiter
    }

    /// Remembers the instance's exported memory for the host functions.
    pub fn set_memory(&mut self, memory: Memory) {
        self.memory = Some(memory);
    }

    /// The instance's exported memory, once [`HostState::set_memory`] remembered it.
    pub fn memory(&self) -> Option<Memory> {
        self.memory
    }

    /// Every regex handle the instance holds, in handle order: what a snapshot of it refers to.
    pub fn regex_handles(&self) -> Vec<Arc<CompiledRegex>> {
        self.snapshot_handles.iter().chain(&self.handles).cloned().collect()
    }

    /// The compiled expression behind `handle`, if there is one.
    fn regex(&self, handle: i32) -> Option<Arc<CompiledRegex>> {
        let handle = usize::try_from(handle).ok()?;
        match handle.checked_sub(self.snapshot_handles.len()) {
            None => self.snapshot_handles.get(handle).cloned(),
            Some(own) => self.handles.get(own).cloned(),
        }
    }

    /// Which cap, if any, a growth request hit: `("memory", bytes)` or `("table", elements)`.
    pub fn exceeded(&self) -> Option<(&'static str, usize)> {
        self.limiter.exceeded
    }
}

/// Refuses memory and table growth past the caps, remembering that it did.
pub struct CapLimiter {
    max_memory_bytes: usize,
    max_table_elements: usize,
    exceeded: Option<(&'static str, usize)>,
}

impl ResourceLimiter for CapLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_memory_bytes;
        if !allowed {
            self.exceeded = Some(("memory", self.max_memory_bytes));
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_table_elements;
        if !allowed {
            self.exceeded = Some(("table", self.max_table_elements));
        }
        Ok(allowed)
    }
}

/// A linker holding exactly the host functions a module may import.
pub fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(imports::MODULE, imports::REGEX_COMPILE, regex_compile)?;
    linker.func_wrap(imports::MODULE, imports::REGEX_IS_MATCH, regex_is_match)?;
    linker.func_wrap(imports::MODULE, imports::ABORT, abort)?;
    Ok(linker)
}

fn regex_compile(
    mut caller: Caller<'_, HostState>,
    pattern_ptr: i32,
    pattern_len: i32,
    err_ptr: i32,
    err_cap: i32,
) -> wasmtime::Result<i32> {
    let pattern = read_str(&mut caller, pattern_ptr, pattern_len)?;
    charge(&mut caller, REGEX_COMPILE_BASE_FUEL.saturating_add(pattern.len() as u64))?;
    let (result, compiled) = caller.data().regexes.get(&pattern);
    if compiled {
        // Compiling is not priced (it happens once per module, or when a pattern is refused or
        // the cache is full), but it can take milliseconds: never chain compiles past the
        // deadline without looking at the clock.
        check_clock(&mut caller, Duration::ZERO)?;
    }
    match result {
        Ok(regex) => {
            let state = caller.data_mut();
            let handle = state.snapshot_handles.len() + state.handles.len();
            if handle >= MAX_REGEX_HANDLES {
                wasmtime::bail!("module compiled more than {MAX_REGEX_HANDLES} regular expressions");
            }
            state.handles.push(regex);
            Ok(handle as i32)
        }
        Err(message) => {
            let mut bytes = message.into_bytes();
            bytes.truncate(err_cap.max(0) as usize);
            // Never cut a UTF-8 sequence in half.
            while std::str::from_utf8(&bytes).is_err() {
                bytes.pop();
            }
            write_bytes(&mut caller, err_ptr, &bytes)?;
            Ok(-(bytes.len() as i32) - 1)
        }
    }
}

fn regex_is_match(
    mut caller: Caller<'_, HostState>,
    handle: i32,
    text_ptr: i32,
    text_len: i32,
) -> wasmtime::Result<i32> {
    let regex = caller.data().regex(handle).ok_or_else(|| wasmtime::format_err!("unknown regex handle {handle}"))?;
    let memory = memory(&mut caller)?;
    // The price depends only on the text's length and whether it is ASCII: it is paid for before
    // the text is even checked to be UTF-8, and before the match runs (a match the budget cannot
    // cover never starts).
    let plan = regex.plan(slice(memory.data(&caller), text_ptr, text_len)?);
    charge(&mut caller, plan.fuel)?;
    let text = guest_text(memory.data(&caller), text_ptr, text_len)?;
    let matched = match regex.is_match(plan, text) {
        Some(matched) => matched,
        None => {
            let fallback = regex.fallback_plan(text);
            charge(&mut caller, fallback.fuel)?;
            regex.fallback_is_match(guest_text(memory.data(&caller), text_ptr, text_len)?)
        }
    };
    Ok(i32::from(matched))
}

/// The UTF-8 text at `ptr..ptr+len` of `data`.
fn guest_text(data: &[u8], ptr: i32, len: i32) -> wasmtime::Result<&str> {
    std::str::from_utf8(slice(data, ptr, len)?).map_err(|_| wasmtime::format_err!("regex text is not UTF-8"))
}

/// Takes `fuel` for host work about to be done, or stops the evaluation: out of fuel if the
/// budget cannot pay for it, out of time if the deadline has passed or the work, at about a
/// nanosecond a unit, would end after it.
fn charge(caller: &mut Caller<'_, HostState>, fuel: u64) -> wasmtime::Result<()> {
    let left = caller.get_fuel()?;
    if fuel > left {
        caller.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }
    caller.set_fuel(left - fuel)?;
    let state = caller.data_mut();
    state.unclocked_fuel = state.unclocked_fuel.saturating_add(fuel);
    if state.unclocked_fuel >= CLOCK_CHECK_EVERY {
        check_clock(caller, Duration::from_nanos(fuel))?;
    }
    Ok(())
}

/// Stops the evaluation as out of time if host work taking `ahead` from now would end after
/// its deadline.
fn check_clock(caller: &mut Caller<'_, HostState>, ahead: Duration) -> wasmtime::Result<()> {
    let state = caller.data_mut();
    state.unclocked_fuel = 0;
    if let Some(deadline) = state.deadline
        && Instant::now().checked_add(ahead).is_none_or(|finish| finish > deadline)
    {
        return Err(Trap::Interrupt.into());
    }
    Ok(())
}

fn abort(mut caller: Caller<'_, HostState>, message_ptr: i32, message_len: i32) -> wasmtime::Result<()> {
    let len = message_len.clamp(0, MAX_PANIC_MESSAGE as i32);
    let memory = memory(&mut caller)?;
    let message = slice(memory.data(&caller), message_ptr, len)
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_else(|_| "(message outside module memory)".to_owned());
    caller.data_mut().panic_message = Some(message);
    wasmtime::bail!("module aborted")
}

fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    // Before the instance exists (a start function calling the host).
    match caller.get_export(abi::MEMORY) {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => wasmtime::bail!("module has no exported memory"),
    }
}

/// The bytes `ptr..ptr+len` of `data`, or an error if they are not all inside it.
pub fn slice(data: &[u8], ptr: i32, len: i32) -> wasmtime::Result<&[u8]> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len as u32 as usize);
    end.and_then(|end| data.get(start..end))
        .ok_or_else(|| wasmtime::format_err!("range {start}+{len} is outside module memory ({} bytes)", data.len()))
}

fn read_str(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<String> {
    let memory = memory(caller)?;
    let bytes = slice(memory.data(&*caller), ptr, len)?;
    Ok(std::str::from_utf8(bytes).map_err(|_| wasmtime::format_err!("string is not UTF-8"))?.to_owned())
}

fn write_bytes(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    memory
        .write(caller, ptr as u32 as usize, bytes)
        .map_err(|_| wasmtime::format_err!("error buffer is outside module memory"))
}
