//! Limits on what a script may take, inside the sandbox and natively.
//!
//! Inside the sandbox the host's limits are the boundary: fuel ends an endless loop, the memory
//! cap a memory bomb, the output cap a huge decision. QuickJS's own limits only make the common
//! cases fail as JavaScript errors an author can read (a recursion too deep is a `RangeError`).
//! Natively (tests, the harness) there is no sandbox, so a time limit stops a script that runs
//! away instead of leaving a thread spinning; it is a best effort, not a security boundary.

use rquickjs::Runtime;

/// The most stack QuickJS lets a script use before throwing `RangeError: stack overflow`: well
/// inside the module's 1 MiB stack and a native test thread's.
pub const MAX_STACK_SIZE: usize = 256 * 1024;

/// The most memory QuickJS lets a script allocate natively; inside the sandbox the host's memory
/// cap ends the evaluation first.
pub const MEMORY_LIMIT: usize = 64 * 1024 * 1024;

/// Applies the limits to a new runtime.
pub fn configure(runtime: &Runtime) {
    runtime.set_max_stack_size(MAX_STACK_SIZE);
    runtime.set_memory_limit(MEMORY_LIMIT);
    #[cfg(not(target_arch = "wasm32"))]
    native::configure(runtime);
}

/// Starts the clock of one load or call (natively; inside the sandbox fuel is the clock).
pub fn start() {
    #[cfg(not(target_arch = "wasm32"))]
    native::start();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::{
        cell::Cell,
        time::{Duration, Instant},
    };

    use rquickjs::Runtime;

    /// How long one load or call may run natively before QuickJS interrupts it.
    const TIME_LIMIT: Duration = Duration::from_secs(3);

    thread_local! {
        static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    }

    pub fn configure(runtime: &Runtime) {
        runtime.set_interrupt_handler(Some(Box::new(|| {
            DEADLINE.with(|deadline| deadline.get().is_some_and(|deadline| Instant::now() > deadline))
        })));
    }

    pub fn start() {
        DEADLINE.with(|deadline| deadline.set(Some(Instant::now() + TIME_LIMIT)));
    }
}
