//! Running one native entry point so that neither a panic nor an endless loop takes the whole
//! fixture run with it.

use std::{any::Any, sync::mpsc, time::Duration};

use crate::failure::Failure;

/// How long a native case may run before it is reported as not finishing.
pub const DEFAULT_CASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `entry(input)` on a thread of its own: a panic comes back as [`Failure::Panicked`] with
/// its message, a call still running after `timeout` as [`Failure::TimedOut`]. A call that
/// timed out is left running on its detached thread (a thread cannot be stopped); the run goes
/// on without it.
pub fn run(entry: fn(&[u8]) -> Vec<u8>, input: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, Failure> {
    let (sender, receiver) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("muster-harness case".to_owned()).spawn(move || {
        let outcome = std::panic::catch_unwind(|| entry(&input));
        // The receiver is gone only when the case already timed out: nobody is waiting.
        let _ = sender.send(outcome.map_err(|payload| panic_message(payload.as_ref())));
    });
    if let Err(error) = spawned {
        return Err(Failure::Error(format!("cannot start a thread for the case: {error}")));
    }
    match receiver.recv_timeout(timeout) {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(message)) => Err(Failure::Panicked(message)),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Failure::TimedOut(timeout)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::Panicked("the case's thread died".to_owned())),
    }
}

/// The text of a panic: `panic!("…")` payloads are a `&str` or a `String`.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn echo(input: &[u8]) -> Vec<u8> {
        input.to_vec()
    }

    fn panics(_: &[u8]) -> Vec<u8> {
        panic!("rule {} is broken", 7)
    }

    fn hangs(_: &[u8]) -> Vec<u8> {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    #[test]
    fn an_answer_comes_back() {
        assert_eq!(run(echo, b"abc".to_vec(), DEFAULT_CASE_TIMEOUT).unwrap(), b"abc");
    }

    #[test]
    fn a_panic_comes_back_with_its_message() {
        assert_eq!(
            run(panics, Vec::new(), DEFAULT_CASE_TIMEOUT),
            Err(Failure::Panicked("rule 7 is broken".to_owned()))
        );
    }

    #[test]
    fn an_endless_loop_is_given_up_on_at_the_deadline() {
        let started = Instant::now();
        let timeout = Duration::from_millis(200);
        assert_eq!(run(hangs, Vec::new(), timeout), Err(Failure::TimedOut(timeout)));
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
