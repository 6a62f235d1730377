//! The bounds every module and evaluation runs under.

use std::time::Duration;

/// Resource bounds, per module and per evaluation. Exceeding one yields a typed error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest module accepted, in bytes.
    pub max_module_bytes: usize,
    /// Longest time compiling one module may take.
    pub compile_timeout: Duration,
    /// Most functions a module may define (imports not counted), checked before compiling.
    pub max_functions: u32,
    /// Most bytes of code (all function bodies together) a module may have, checked before
    /// compiling: compile time grows with it.
    pub max_code_bytes: usize,
    /// Largest function body, in bytes of code (its locals and instructions), checked before
    /// compiling.
    pub max_function_body_bytes: usize,
    /// Deepest nesting of `block`, `loop`, `if` and `try_table` in one function, checked before
    /// compiling.
    pub max_nesting_depth: u32,
    /// Most `block`, `loop`, `if` and `try_table` one function may hold, checked before
    /// compiling: Cranelift's time grows with the square of it (measured: 10 000 take 0.16 s,
    /// 50 000 3.6 s, 100 000 14 s).
    pub max_blocks_per_function: u32,
    /// Most `block`, `loop`, `if` and `try_table` the whole module may hold, checked before
    /// compiling.
    pub max_blocks: u32,
    /// Most locals one function may declare (its parameters not counted), checked before
    /// compiling.
    pub max_locals_per_function: u32,
    /// How many modules may compile at the same time; a compile that timed out keeps its slot
    /// until the compiler really finishes.
    pub max_concurrent_compiles: u32,
    /// Longest time a compile waits for a free slot before it is refused.
    pub compile_wait: Duration,
    /// Deterministic instruction budget of one evaluation (wasmtime fuel).
    pub fuel: u64,
    /// Wall-clock budget of one evaluation, enforced by epoch interruption.
    pub timeout: Duration,
    /// Largest linear memory a module may have or grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Most table elements a module may have or grow to.
    pub max_table_elements: usize,
    /// Deepest WebAssembly call stack, in bytes.
    pub max_stack_bytes: usize,
    /// Largest encoded request handed to a module, in bytes.
    pub max_input_bytes: usize,
    /// Largest encoded response accepted from a module, in bytes.
    pub max_output_bytes: usize,
    /// How many evaluations may run at the same time (instance slots in the pool).
    pub max_concurrent_evaluations: u32,
    /// Most trace steps kept of one evaluation; the steps past it are dropped and one marker
    /// step says how many (the decision stands).
    pub max_trace_steps: usize,
    /// Most trace text (rule names and checks) kept of one evaluation, in bytes; the steps past
    /// it are dropped the same way.
    pub max_trace_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_module_bytes: 8 << 20,
            compile_timeout: Duration::from_secs(10),
            max_functions: 10_000,
            max_code_bytes: 2 << 20,
            max_function_body_bytes: 256 << 10,
            max_nesting_depth: 1_000,
            max_blocks_per_function: 10_000,
            max_blocks: 50_000,
            max_locals_per_function: 512,
            max_concurrent_compiles: 2,
            compile_wait: Duration::from_secs(10),
            fuel: 200_000_000,
            timeout: Duration::from_millis(250),
            max_memory_bytes: 64 << 20,
            max_table_elements: 20_000,
            max_stack_bytes: 512 << 10,
            max_input_bytes: 1 << 20,
            max_output_bytes: 1 << 20,
            max_concurrent_evaluations: 256,
            max_trace_steps: 1024,
            max_trace_bytes: 64 << 10,
        }
    }
}

/// The bounds of one evaluation a caller may set below the engine's [`Limits`] (a realm's own),
/// given to [`crate::RuleModule::evaluate_user_within`] and
/// [`crate::RuleModule::evaluate_groups_within`]. The engine never goes past its own limits: each
/// bound is capped at the engine's ([`Budget::within`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Deterministic instruction budget (wasmtime fuel).
    pub fuel: u64,
    /// Wall-clock budget.
    pub timeout: Duration,
    /// Largest linear memory the module may have or grow to, in bytes.
    pub max_memory_bytes: usize,
}

impl Budget {
    /// This budget with each bound capped at `limits`'.
    pub fn within(self, limits: &Limits) -> Budget {
        Budget {
            fuel: self.fuel.min(limits.fuel),
            timeout: self.timeout.min(limits.timeout),
            max_memory_bytes: self.max_memory_bytes.min(limits.max_memory_bytes),
        }
    }
}

impl Limits {
    /// The budget of an evaluation no caller lowered: the engine's own bounds.
    pub fn budget(&self) -> Budget {
        Budget { fuel: self.fuel, timeout: self.timeout, max_memory_bytes: self.max_memory_bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_never_goes_past_the_engines_limits() {
        let limits = Limits::default();
        let asked = Budget { fuel: 1_000, timeout: Duration::from_secs(3600), max_memory_bytes: usize::MAX };
        let within = asked.within(&limits);
        assert_eq!(within, Budget { fuel: 1_000, timeout: limits.timeout, max_memory_bytes: limits.max_memory_bytes });
        assert_eq!(limits.budget().within(&limits), limits.budget());
    }
}
