//! The one retry of the service: a read-decide-write that lost a race with a concurrent write of
//! the same user (another login, a SCIM request, a group change) reads again and tries again.

use std::future::Future;

use super::error::ServiceError;

/// How often a read-decide-write is tried in all before a version mismatch is given up on.
pub const ATTEMPTS: usize = 3;

/// Runs `attempt` until it succeeds, fails with anything but
/// [`ServiceError::VersionMismatch`], or has been tried `attempts` times (at least once).
pub async fn on_version_mismatch<T, F, Fut>(attempts: usize, attempt: F) -> Result<T, ServiceError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ServiceError>>,
{
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(error) if error.is_version_mismatch() && tried < attempts => tried += 1,
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn mismatch() -> ServiceError {
        ServiceError::VersionMismatch { what: "user u_1".into(), expected: 1, actual: 2 }
    }

    #[tokio::test]
    async fn a_version_mismatch_is_tried_again_until_the_attempts_run_out() {
        let tries = Cell::new(0);
        let result: Result<(), _> = on_version_mismatch(ATTEMPTS, || {
            tries.set(tries.get() + 1);
            async { Err(mismatch()) }
        })
        .await;
        assert!(result.is_err_and(|error| error.is_version_mismatch()));
        assert_eq!(tries.get(), ATTEMPTS);
    }

    #[tokio::test]
    async fn a_later_success_ends_the_retries() {
        let tries = Cell::new(0);
        let result = on_version_mismatch(ATTEMPTS, || {
            tries.set(tries.get() + 1);
            let now = tries.get();
            async move { if now < 2 { Err(mismatch()) } else { Ok(now) } }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
    }

    #[tokio::test]
    async fn other_failures_and_a_single_attempt_are_not_retried() {
        let tries = Cell::new(0);
        let result: Result<(), _> = on_version_mismatch(ATTEMPTS, || {
            tries.set(tries.get() + 1);
            async { Err(ServiceError::NotFound("no user u_1".into())) }
        })
        .await;
        assert!(matches!(result, Err(ServiceError::NotFound(_))));
        assert_eq!(tries.get(), 1);
        let result: Result<(), _> = on_version_mismatch(1, || {
            tries.set(tries.get() + 1);
            async { Err(mismatch()) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries.get(), 2);
    }
}
