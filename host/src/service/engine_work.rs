//! Where the engine's work runs: evaluations, compiles and settings checks go to the runtime's
//! blocking threads (a hostile module may use its whole time budget, a compile seconds), and
//! work that runs long gives its core back.
//!
//! Each tenant's evaluations are bounded in number ([`super::tenant_slots`]), but one that spins
//! to its deadline still holds a core for all of it, and every other tenant's login needs a few
//! thread wake-ups on its way through HTTP, the store and its own short evaluation: behind a
//! spinning thread of equal priority each waits for the scheduler's time slice. So work that has
//! run longer than `demote_engine_work_after` is **demoted**: a watchdog drops its thread to the
//! lowest priority (nice 19) until the work ends, and the thread then gets its priority back. A
//! login's evaluation takes well under a millisecond and is never demoted; a module spinning to
//! its deadline, or a long compile, is, and the core it holds goes at once to any request that
//! needs it, while the work itself still runs on whatever is left.
//!
//! Only Linux gives each thread its own nice value. Raising a thread's priority back needs
//! `CAP_SYS_NICE` or an `RLIMIT_NICE` that allows the server's own nice value (systemd:
//! `LimitNICE=+0`); where the system refuses, demotion is off and the server says so when it
//! starts: a thread demoted for good would slow every later evaluation on it.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinError;

/// Runs engine work on the runtime's blocking threads, demoting work that runs long.
#[derive(Clone)]
pub struct EngineWork {
    /// The watchdog's shared state; `None` when nothing is demoted.
    demotion: Option<Arc<demotion::Demotion>>,
}

impl EngineWork {
    /// Engine work that is never demoted.
    pub fn undemoted() -> EngineWork {
        EngineWork { demotion: None }
    }

    /// Engine work demoted once it has run `after`, or never (`None`, or where the system
    /// cannot give a demoted thread its priority back: then a warning says so).
    pub fn demoted_after(after: Option<Duration>) -> EngineWork {
        let Some(after) = after else { return EngineWork::undemoted() };
        match demotion::Demotion::start(after) {
            Ok(demotion) => EngineWork { demotion: Some(demotion) },
            Err(reason) => {
                tracing::warn!(%reason, "long engine work is not demoted");
                EngineWork::undemoted()
            }
        }
    }

    /// Whether long work is demoted.
    pub fn demotes(&self) -> bool {
        self.demotion.is_some()
    }

    /// Runs `work` on a blocking thread.
    pub async fn run<T, F>(&self, work: F) -> Result<T, JoinError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let demotion = self.demotion.clone();
        tokio::task::spawn_blocking(move || {
            // Registered for the watchdog until dropped, even if `work` panics.
            let _watched = demotion.as_ref().map(|demotion| demotion.watch_this_thread());
            work()
        })
        .await
    }
}

#[cfg(target_os = "linux")]
mod demotion {
    //! The watchdog: one thread that sleeps until the oldest undemoted work is due, lowers that
    //! work's thread, and sleeps again (or until new work arrives).

    use std::{
        collections::HashMap,
        sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak},
        thread,
        time::{Duration, Instant},
    };

    use rustix::process::{Pid, getpriority_process, setpriority_process};

    /// The nice value demoted threads run at.
    const DEMOTED_NICE: i32 = 19;

    /// How long an idle watchdog sleeps before it checks whether it is still needed.
    const IDLE_CHECK: Duration = Duration::from_secs(1);

    /// What the watchdog and the working threads share.
    pub struct Demotion {
        after: Duration,
        running: Mutex<Running>,
        arrived: Condvar,
    }

    /// The work running now.
    #[derive(Default)]
    struct Running {
        next_id: u64,
        work: HashMap<u64, Work>,
    }

    /// One piece of work, on one thread.
    struct Work {
        thread: Pid,
        started: Instant,
        state: State,
    }

    enum State {
        /// At its thread's own priority.
        Running,
        /// Demoted; its thread's priority was `from`.
        Demoted { from: i32 },
        /// The system refused to lower it; it runs on as it was.
        Refused,
    }

    impl Demotion {
        /// Starts a watchdog demoting work after `after`, if this process may raise a thread's
        /// priority back afterwards.
        pub fn start(after: Duration) -> Result<Arc<Demotion>, String> {
            may_restore_priority()?;
            let demotion =
                Arc::new(Demotion { after, running: Mutex::new(Running::default()), arrived: Condvar::new() });
            let watched = Arc::downgrade(&demotion);
            thread::Builder::new()
                .name("muster-demote".into())
                .spawn(move || watch(&watched))
                .map_err(|error| format!("cannot start the watchdog thread: {error}"))?;
            Ok(demotion)
        }

        /// Registers the calling thread's work until the guard drops.
        pub fn watch_this_thread(self: &Arc<Self>) -> Watched {
            let mut running = self.lock();
            let id = running.next_id;
            running.next_id += 1;
            running.work.insert(id, Work { thread: this_thread(), started: Instant::now(), state: State::Running });
            drop(running);
            self.arrived.notify_one();
            Watched { demotion: Arc::clone(self), id }
        }

        fn lock(&self) -> MutexGuard<'_, Running> {
            self.running.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    /// Work the watchdog watches; dropping it ends the work and restores its thread.
    pub struct Watched {
        demotion: Arc<Demotion>,
        id: u64,
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            let ended = self.demotion.lock().work.remove(&self.id);
            if let Some(Work { state: State::Demoted { from }, .. }) = ended {
                // The calling thread is the work's own: give it its priority back.
                if let Err(error) = setpriority_process(None, from) {
                    tracing::warn!(%error, "could not give a demoted engine thread its priority back");
                }
            }
        }
    }

    /// The watchdog's loop, until the demotion it serves is dropped.
    fn watch(demotion: &Weak<Demotion>) {
        while let Some(demotion) = demotion.upgrade() {
            let mut running = demotion.lock();
            let now = Instant::now();
            let mut next_due = None::<Instant>;
            for work in running.work.values_mut().filter(|work| matches!(work.state, State::Running)) {
                let due = work.started + demotion.after;
                if due <= now {
                    work.state = demote(work.thread);
                } else {
                    next_due = Some(next_due.map_or(due, |next| next.min(due)));
                }
            }
            let sleep = next_due.map_or(IDLE_CHECK, |due| due.saturating_duration_since(now));
            drop(demotion.arrived.wait_timeout(running, sleep).unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// The calling thread's id.
    pub(super) fn this_thread() -> Pid {
        // SAFETY: `gettid` has no preconditions and cannot fail.
        let tid = unsafe { libc::gettid() };
        Pid::from_raw(tid).expect("a thread id is positive")
    }

    /// Lowers `thread` to [`DEMOTED_NICE`].
    fn demote(thread: Pid) -> State {
        let lowered = getpriority_process(Some(thread))
            .and_then(|from| setpriority_process(Some(thread), DEMOTED_NICE.max(from)).map(|()| from));
        match lowered {
            Ok(from) => State::Demoted { from },
            Err(error) => {
                tracing::debug!(%error, "could not demote an engine thread");
                State::Refused
            }
        }
    }

    /// Whether a thread of this process may lower its priority and raise it back again (tried on
    /// a thread of its own).
    fn may_restore_priority() -> Result<(), String> {
        thread::spawn(|| {
            let own = getpriority_process(None).map_err(|error| format!("cannot read a thread's priority: {error}"))?;
            if own >= DEMOTED_NICE {
                return Err(format!("the server already runs at nice {own}, the lowest priority"));
            }
            setpriority_process(None, DEMOTED_NICE)
                .map_err(|error| format!("cannot lower a thread's priority: {error}"))?;
            setpriority_process(None, own).map_err(|error| {
                format!(
                    "cannot raise a thread's priority back ({error}): give the server CAP_SYS_NICE or an \
                     RLIMIT_NICE allowing nice {own} (systemd: LimitNICE=+{own})"
                )
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the priority check panicked".into()))
    }
}

#[cfg(not(target_os = "linux"))]
mod demotion {
    //! Elsewhere threads share the process's priority: nothing is demoted.

    use std::{sync::Arc, time::Duration};

    /// Never built.
    pub enum Demotion {}

    /// Never built.
    pub struct Watched;

    impl Demotion {
        /// Refuses: only Linux gives each thread its own priority.
        pub fn start(_after: Duration) -> Result<Arc<Demotion>, String> {
            Err("only Linux gives each thread its own priority".into())
        }

        /// Unreachable: no `Demotion` exists.
        pub fn watch_this_thread(self: &Arc<Self>) -> Watched {
            match **self {}
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::Instant;

    use super::*;

    fn nice_of(thread: rustix::process::Pid) -> i32 {
        rustix::process::getpriority_process(Some(thread)).expect("a live thread has a nice value")
    }

    fn nice_of_this_thread() -> i32 {
        nice_of(demotion::this_thread())
    }

    /// Spins for `duration`, returning the lowest priority (highest nice) the thread had.
    fn spin(duration: Duration) -> i32 {
        let started = Instant::now();
        let mut highest = nice_of_this_thread();
        while started.elapsed() < duration {
            highest = highest.max(nice_of_this_thread());
        }
        highest
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn long_work_is_demoted_until_it_ends_and_short_work_never_is() {
        let work = EngineWork::demoted_after(Some(Duration::from_millis(100)));
        if !work.demotes() {
            // Only a process allowed to raise a thread's priority back demotes (root is).
            assert!(!rustix::process::geteuid().is_root(), "as root, long work is demoted");
            eprintln!("skipped: this process may not raise a thread's priority back");
            return;
        }
        let own = nice_of_this_thread();

        let (lowest_while_long, thread) =
            work.run(|| (spin(Duration::from_millis(400)), demotion::this_thread())).await.unwrap();
        assert_eq!(lowest_while_long, 19, "work past 100 ms runs at nice 19");
        assert_eq!(nice_of(thread), own, "its thread has its priority back once the work ended");

        let lowest_while_short = work.run(|| spin(Duration::from_millis(2))).await.unwrap();
        assert_eq!(lowest_while_short, own, "work well under 100 ms keeps its thread's priority");
    }

    #[tokio::test]
    async fn undemoted_work_keeps_its_priority() {
        let own = nice_of_this_thread();
        let lowest = EngineWork::undemoted().run(|| spin(Duration::from_millis(50))).await.unwrap();
        assert_eq!(lowest, own);
    }
}
