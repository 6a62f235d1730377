//! Typed errors of the engine.

use std::time::Duration;

use muster_wire::SettingsError;

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// wasmtime refused the configuration derived from the limits.
    #[error("the WebAssembly runtime rejected the engine configuration: {0}")]
    Config(String),
    /// The compiled-code cache directory could not be opened or created.
    #[error("cannot open the compiled-module cache directory {path}: {source}")]
    CacheDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A module was refused when loaded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The module is larger than [`Limits::max_module_bytes`](crate::Limits).
    #[error("module is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a valid WebAssembly module (or use features the engine does not
    /// enable).
    #[error("not a valid WebAssembly module: {0}")]
    InvalidWasm(String),
    /// The module defines more functions than [`Limits::max_functions`](crate::Limits).
    #[error("module defines {count} functions; the limit is {limit} (max_functions)")]
    TooManyFunctions {
        /// How many it defines (at least; counting stops past the limit).
        count: u64,
        /// The limit.
        limit: u32,
    },
    /// The function bodies add up to more than [`Limits::max_code_bytes`](crate::Limits).
    #[error(
        "module has more than {limit} bytes of code (by function {function}); the limit is {limit} bytes (max_code_bytes)"
    )]
    TooMuchCode {
        /// The function that took the total past the limit (as in
        /// [`LoadError::FunctionTooLarge`]).
        function: u32,
        /// The limit.
        limit: usize,
    },
    /// A function body is larger than [`Limits::max_function_body_bytes`](crate::Limits).
    #[error("function {function} is {size} bytes of code; the limit is {limit} bytes (max_function_body_bytes)")]
    FunctionTooLarge {
        /// The function's index (imported functions come first, as in the module's function
        /// index space).
        function: u32,
        /// Its body's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Blocks nest deeper in a function than [`Limits::max_nesting_depth`](crate::Limits).
    #[error("function {function} nests blocks {depth} deep; the limit is {limit} (max_nesting_depth)")]
    NestingTooDeep {
        /// The function's index (as in [`LoadError::FunctionTooLarge`]).
        function: u32,
        /// The depth reached when the limit was passed.
        depth: u32,
        /// The limit.
        limit: u32,
    },
    /// A function holds more blocks than [`Limits::max_blocks_per_function`](crate::Limits).
    #[error("function {function} holds more than {limit} blocks, loops and ifs (max_blocks_per_function)")]
    TooManyBlocksInFunction {
        /// The function's index (as in [`LoadError::FunctionTooLarge`]).
        function: u32,
        /// The limit.
        limit: u32,
    },
    /// The module holds more blocks than [`Limits::max_blocks`](crate::Limits).
    #[error("the module holds more than {limit} blocks, loops and ifs, passed in function {function} (max_blocks)")]
    TooManyBlocks {
        /// The function in which the count passed the limit.
        function: u32,
        /// The limit.
        limit: u32,
    },
    /// A function declares more locals than [`Limits::max_locals_per_function`](crate::Limits).
    #[error("function {function} declares {count} locals; the limit is {limit} (max_locals_per_function)")]
    TooManyLocals {
        /// The function's index (as in [`LoadError::FunctionTooLarge`]).
        function: u32,
        /// How many it declares (at least; counting stops past the limit).
        count: u64,
        /// The limit.
        limit: u32,
    },
    /// Every compile slot ([`Limits::max_concurrent_compiles`](crate::Limits)) stayed busy for
    /// [`Limits::compile_wait`](crate::Limits): the module was not compiled; try again later.
    #[error("all {slots} compile slots stayed busy for {waited:?}; try again later")]
    CompilerBusy {
        /// The number of slots.
        slots: u32,
        /// How long the compile waited for one.
        waited: Duration,
    },
    /// Compilation took longer than [`Limits::compile_timeout`](crate::Limits).
    #[error("compiling the module took longer than {0:?}")]
    CompileTimeout(Duration),
    /// The module imports something other than Muster's host functions.
    #[error("forbidden import `{module}::{name}`: {reason}")]
    ForbiddenImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// A required export is missing.
    #[error("missing export `{0}` (see docs/abi.md)")]
    MissingExport(&'static str),
    /// An export has the wrong kind or signature.
    #[error("export `{name}` must be {expected}")]
    WrongExport {
        /// The export.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The module exports neither user rules nor group rules.
    #[error("module exports no rules: it needs `muster_user_rules` or `muster_group_rules`")]
    NoEntryPoint,
    /// The module speaks an ABI version the engine does not know.
    #[error("module speaks ABI version {found}; this engine speaks version {supported}")]
    UnsupportedAbi {
        /// What the module said.
        found: i64,
        /// What the engine speaks.
        supported: u32,
    },
    /// Asking the module for its ABI version failed (trapped, ran out of fuel, could not be
    /// instantiated within the limits, …).
    #[error("module failed when asked for its ABI version: {0}")]
    Startup(Box<EvalError>),
}

/// An evaluation (or settings preparation) failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// The module does not export the entry point asked for.
    #[error("module does not export `{0}`")]
    NotExported(&'static str),
    /// The request could not be encoded for the module.
    #[error("request could not be encoded: {0}")]
    Encode(String),
    /// The encoded request exceeds [`Limits::max_input_bytes`](crate::Limits).
    #[error("request is {size} bytes; the limit is {limit} bytes")]
    InputTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The module used up its instruction budget.
    #[error("module ran out of fuel (budget {limit} units)")]
    FuelExhausted {
        /// The budget.
        limit: u64,
    },
    /// The module ran longer than the wall-clock budget.
    #[error("module exceeded its time budget of {0:?}")]
    Timeout(Duration),
    /// The module tried to grow memory or a table past the cap.
    #[error("module exceeded its {resource} limit of {limit}")]
    ResourceLimit {
        /// `memory` (bytes) or `table` (elements).
        resource: &'static str,
        /// The cap.
        limit: usize,
    },
    /// The module could not be instantiated within the limits (too much initial memory,
    /// too many tables, all instance slots busy, …).
    #[error("module could not be instantiated: {0}")]
    Instantiation(String),
    /// The call stack overflowed (deep recursion).
    #[error("module overflowed its call stack")]
    StackOverflow,
    /// The module panicked, with its message.
    #[error("module panicked: {0}")]
    GuestPanic(String),
    /// The module trapped.
    #[error("module trapped: {0}")]
    Trap(String),
    /// The module answered with bytes outside its memory, too many bytes, or bytes that do
    /// not decode as the expected response.
    #[error("module returned a malformed response: {0}")]
    MalformedOutput(String),
    /// The module refused the settings document.
    #[error("settings rejected {0}")]
    InvalidSettings(SettingsError),
    /// The module reported a failure instead of a decision.
    #[error("module reported an error: {0}")]
    Guest(String),
}

/// An evaluation that failed, with what it cost until it did: what a decision record of the
/// failure keeps.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Failure {
    /// Why it failed.
    pub error: EvalError,
    /// Wall-clock time until the failure, instantiation included.
    pub duration: Duration,
    /// Fuel consumed until the failure (the whole budget when it ran out).
    pub fuel_consumed: u64,
}

impl Failure {
    /// A failure before the module ran: it cost nothing.
    pub(crate) fn nothing_ran(error: EvalError) -> Failure {
        Failure { error, duration: Duration::ZERO, fuel_consumed: 0 }
    }
}

impl EvalError {
    /// A short, stable snake_case name of the failure, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            EvalError::NotExported(_) => "not_exported",
            EvalError::Encode(_) => "encode",
            EvalError::InputTooLarge { .. } => "input_too_large",
            EvalError::FuelExhausted { .. } => "fuel_exhausted",
            EvalError::Timeout(_) => "timeout",
            EvalError::ResourceLimit { .. } => "resource_limit",
            EvalError::Instantiation(_) => "instantiation",
            EvalError::StackOverflow => "stack_overflow",
            EvalError::GuestPanic(_) => "guest_panic",
            EvalError::Trap(_) => "trap",
            EvalError::MalformedOutput(_) => "malformed_output",
            EvalError::InvalidSettings(_) => "invalid_settings",
            EvalError::Guest(_) => "guest_error",
        }
    }
}

/// wasmtime's and wasmparser's messages may span lines (a hex dump of a bad header); errors here
/// are one line.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
