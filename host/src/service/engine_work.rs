//! Where the engine's work runs: evaluations, compiles and settings checks go to the runtime's
//! blocking threads (a hostile module may use its whole time budget, a compile seconds), at the
//! nice value `module_thread_nice`. Each tenant's evaluations are already bounded in number
//! ([`super::tenant_slots`]); above 0, the priority also makes the cores they take cheap to take
//! back, so a login of another tenant, which needs a few thread wake-ups on its way through
//! HTTP, the store and its own short evaluation, waits less behind a module spinning to its
//! deadline. The default is 0: on a host shared with other work, lowered engine threads lose
//! their cores to it.
//!
//! In this server the runtime's blocking threads do engine work only, so a thread lowered once
//! stays lowered (an unprivileged process cannot raise a thread's priority again).

use std::cell::Cell;

use tokio::task::JoinError;

use crate::config::Nice;

/// Runs `work` on a blocking thread whose nice value is at least `nice`.
pub async fn run<T, F>(nice: Nice, work: F) -> Result<T, JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        lower_this_thread(nice);
        work()
    })
    .await
}

thread_local! {
    /// The nice value this thread was set to, once it was.
    static LOWERED_TO: Cell<Option<Nice>> = const { Cell::new(None) };
}

/// Sets the calling thread's nice value to `nice` unless it is there already. Where the system
/// refuses, the work runs at the priority it has; it is never a reason to fail.
fn lower_this_thread(nice: Nice) {
    if nice.get() == 0 || LOWERED_TO.get().is_some_and(|lowered| lowered >= nice) {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // On Linux the nice value is a thread's, and process 0 is the calling thread: only this
        // thread is lowered. Never above the priority it has (a server started under `nice`
        // stays there).
        let lowered = rustix::process::getpriority_process(None)
            .map(|current| current.max(i32::from(nice.get())))
            .and_then(|lowered| rustix::process::setpriority_process(None, lowered));
        if let Err(error) = lowered {
            tracing::debug!(%error, "could not lower the priority of an engine thread");
        }
    }
    LOWERED_TO.set(Some(nice));
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn nice_of_this_thread() -> i32 {
        rustix::process::getpriority_process(None).expect("the calling thread has a nice value")
    }

    #[tokio::test]
    async fn engine_work_runs_below_the_threads_that_serve_requests() {
        let serving = nice_of_this_thread();
        let working = run(Nice::try_from(7).unwrap(), nice_of_this_thread).await.unwrap();
        assert_eq!(working, serving.max(7), "engine work runs at nice 7 (or lower, if the server already is)");
        assert_eq!(nice_of_this_thread(), serving, "the serving thread keeps its priority");
    }
}
