//! The log of refused requests (a bad `Host`, no valid credentials): what a flood of them can
//! write is bounded. At most [`LINES_PER_SECOND`] lines a second are written (the next line
//! written says how many were left out), and a path is cut to [`MAX_PATH_CHARS`] characters.

use std::{
    num::NonZeroU32,
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
};

use governor::{DefaultDirectRateLimiter, Quota};

/// Refusal lines written per second at most (and at once).
pub const LINES_PER_SECOND: NonZeroU32 = NonZeroU32::new(10).expect("10 is not zero");
/// Characters of a path a refusal line keeps.
pub const MAX_PATH_CHARS: usize = 200;

/// The process's refusal log.
static REFUSALS: LazyLock<RefusalLog> = LazyLock::new(RefusalLog::new);

/// Logs a refused request of `tenant`/`realm`, if the rate allows (see the module).
pub fn log(tenant: &str, realm: &str, method: &str, path: &str, reason: &str, detail: &str) {
    if let Some(left_out) = REFUSALS.admit() {
        let (tenant, realm, path) = (truncated(tenant), truncated(realm), truncated(path));
        tracing::info!(%tenant, %realm, %method, %path, %detail, left_out, "SCIM request refused: {reason}");
    }
}

/// A rate limit on log lines that counts what it leaves out.
struct RefusalLog {
    lines: DefaultDirectRateLimiter,
    left_out: AtomicU64,
}

impl RefusalLog {
    fn new() -> RefusalLog {
        RefusalLog {
            lines: DefaultDirectRateLimiter::direct(Quota::per_second(LINES_PER_SECOND)),
            left_out: AtomicU64::new(0),
        }
    }

    /// `Some(lines left out since the last one written)` if a line may be written now.
    fn admit(&self) -> Option<u64> {
        match self.lines.check() {
            Ok(()) => Some(self.left_out.swap(0, Ordering::Relaxed)),
            Err(_) => {
                self.left_out.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

/// `text` cut to [`MAX_PATH_CHARS`] characters, with `…` where it was cut.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(MAX_PATH_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_are_cut_and_short_ones_kept() {
        assert_eq!(truncated("/scim/a/b/v2/Users"), "/scim/a/b/v2/Users");
        let long = "é".repeat(60_000);
        let cut = truncated(&long);
        assert_eq!(cut.chars().count(), MAX_PATH_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn lines_past_the_rate_are_left_out_and_counted() {
        let log = RefusalLog::new();
        let admitted: Vec<u64> = (0..1000).filter_map(|_| log.admit()).collect();
        let written = admitted.len() as u64;
        assert!((1..=u64::from(LINES_PER_SECOND.get()) + 1).contains(&written), "{written} lines written");
        // Every line left out is reported by a later line, or still counted for the next one.
        let reported: u64 = admitted.iter().sum::<u64>() + log.left_out.load(Ordering::Relaxed);
        assert_eq!(reported, 1000 - written);
    }
}
