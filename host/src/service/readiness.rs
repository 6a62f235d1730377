//! Whether the service is ready for traffic: its store answers. Probes may come as often as a
//! load balancer likes; the store is asked at most once per [`FRESH_FOR`], and probes arriving
//! while it is being asked wait for that answer rather than asking again.

use std::{future::Future, time::Duration};

use tokio::{sync::Mutex, time::Instant};

/// How long one answer of the store stands for every probe.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// The last answer, and when it came.
#[derive(Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Readiness {
    /// The last answer if it is fresh, otherwise what `probe` answers now (why the store is not
    /// ready, as text, on failure).
    pub async fn check<F>(&self, probe: impl FnOnce() -> F) -> Result<(), String>
    where
        F: Future<Output = Result<(), String>>,
    {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last
            && at.elapsed() < FRESH_FOR
        {
            return answer.clone();
        }
        let answer = probe().await;
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn the_store_is_asked_once_per_second_and_a_failure_stands_as_long() {
        let readiness = Readiness::default();
        let asked = AtomicUsize::new(0);
        let probe = |answer: Result<(), String>| {
            let asked = &asked;
            move || async move {
                asked.fetch_add(1, Ordering::Relaxed);
                answer
            }
        };
        assert_eq!(readiness.check(probe(Err("down".into()))).await, Err("down".into()));
        assert_eq!(readiness.check(probe(Ok(()))).await, Err("down".into()), "the failure stands for a second");
        assert_eq!(asked.load(Ordering::Relaxed), 1);
        tokio::time::sleep(FRESH_FOR).await;
        assert_eq!(readiness.check(probe(Ok(()))).await, Ok(()), "a second later the store is asked again");
        assert_eq!(readiness.check(probe(Err("down".into()))).await, Ok(()));
        assert_eq!(asked.load(Ordering::Relaxed), 2);
    }
}
