//! The clock behind wall-clock deadlines: a thread that advances the engine's epoch.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

/// How often the epoch advances; deadlines are whole numbers of ticks.
pub const TICK: Duration = Duration::from_millis(1);

/// Advances the engine's epoch every [`TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Starts the ticker thread.
    pub fn start(engine: wasmtime::Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        thread::Builder::new().name("muster-epoch".into()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                thread::sleep(TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(Self { stop })
    }

    /// The number of ticks that covers `timeout` (at least one more than needed, since the
    /// current tick is already partly over). A practically unlimited timeout (`Duration::MAX`)
    /// saturates at a deadline far enough away that wasmtime adding the current epoch to it
    /// cannot overflow.
    pub fn ticks_for(timeout: Duration) -> u64 {
        let ticks = u64::try_from(timeout.as_micros() / TICK.as_micros()).unwrap_or(u64::MAX);
        ticks.clamp(1, u64::MAX / 2) + 1
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
