//! The bound on modules compiling at once.
//!
//! A compile cannot be stopped once wasmtime runs it, so a compile that timed out goes on in the
//! background; its [`Slot`] goes with it and is freed only when the compiler really finishes.
//! However many uploads time out, no more than the configured number of compiles ever run.
//! (A counting semaphore of a mutex and a condition variable: the engine is synchronous, and
//! the standard library has none.)

use std::{
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::Duration,
};

/// A fixed number of compile slots, shared by every load of one engine.
pub struct CompileSlots {
    free: Mutex<u32>,
    freed: Condvar,
    total: u32,
}

/// One compile slot, given back when dropped.
pub struct Slot {
    slots: Arc<CompileSlots>,
}

impl CompileSlots {
    /// `total` slots, all free.
    pub fn new(total: u32) -> Arc<Self> {
        Arc::new(Self { free: Mutex::new(total), freed: Condvar::new(), total })
    }

    /// How many slots there are.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Takes a slot, waiting at most `wait` for one to be freed; `None` if none was.
    pub fn acquire(self: &Arc<Self>, wait: Duration) -> Option<Slot> {
        let free = self.lock();
        let (mut free, _) =
            self.freed.wait_timeout_while(free, wait, |free| *free == 0).unwrap_or_else(|e| e.into_inner());
        if *free == 0 {
            return None;
        }
        *free -= 1;
        Some(Slot { slots: Arc::clone(self) })
    }

    fn lock(&self) -> MutexGuard<'_, u32> {
        // The count stays consistent even if a holder panicked: every change is one statement.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *self.slots.lock() += 1;
        self.slots.freed.notify_one();
    }
}
