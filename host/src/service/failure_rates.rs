//! Live evaluations and rules failures per realm version over the last minute, and the
//! automatic rollback of an active version whose failure rate reaches what its realm's
//! `auto_rollback` allows.
//!
//! Fed only by the live decision path (`decide::decide_and_apply`: logins and SCIM events) of
//! realms that ask for automatic rollback, never by previews or shadow runs. Each host counts its own traffic: the window is in memory, sixty
//! one-second buckets per version, and a version with no live evaluation for a minute is
//! forgotten, so memory follows the versions in use.

use std::{collections::HashMap, sync::Mutex};

use muster_store::{
    Audit, AutomaticRollback, FailingVersion,
    model::{AutoRollback, Realm, RuleKind},
};

use super::{
    SharedState, modules, now_millis,
    rules::{RulesError, Selection},
};
use crate::decision::evaluator::FailedRules;

/// How many one-second buckets the window holds: the last minute.
const WINDOW_SECONDS: i64 = 60;

/// A realm's module version: tenant, realm, kind, version.
pub type VersionKey = (String, String, RuleKind, i64);

/// Evaluations and failures of one version in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Live evaluations.
    pub evaluations: u64,
    /// How many of them failed.
    pub failures: u64,
}

/// The counts of one second.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Which second (Unix seconds) the counts are of.
    second: i64,
    /// What was counted in it.
    counts: Counts,
}

/// One version's sliding minute: a bucket per second, reused sixty seconds later.
#[derive(Debug, Clone)]
pub struct Window {
    /// Indexed by the second modulo [`WINDOW_SECONDS`].
    buckets: [Bucket; WINDOW_SECONDS as usize],
    /// The last second anything was counted.
    last: i64,
    /// Whether a rollback of this version was started here and not settled.
    claimed: bool,
}

impl Default for Window {
    fn default() -> Self {
        let empty = Bucket { second: i64::MIN, counts: Counts::default() };
        Window { buckets: [empty; WINDOW_SECONDS as usize], last: i64::MIN, claimed: false }
    }
}

impl Window {
    /// Counts one evaluation at `second`, failed or not.
    pub fn add(&mut self, second: i64, failed: bool) {
        let bucket = &mut self.buckets[second.rem_euclid(WINDOW_SECONDS) as usize];
        if bucket.second != second {
            *bucket = Bucket { second, counts: Counts::default() };
        }
        bucket.counts.evaluations += 1;
        bucket.counts.failures += u64::from(failed);
        self.last = self.last.max(second);
    }

    /// The counts of the minute ending at `second` (its last sixty seconds, `second` included).
    pub fn counts(&self, second: i64) -> Counts {
        let recent = |bucket: &&Bucket| bucket.second <= second && bucket.second > second - WINDOW_SECONDS;
        self.buckets.iter().filter(recent).fold(Counts::default(), |sum, bucket| Counts {
            evaluations: sum.evaluations + bucket.counts.evaluations,
            failures: sum.failures + bucket.counts.failures,
        })
    }

    /// Whether nothing was counted in the minute ending at `second`.
    fn is_idle(&self, second: i64) -> bool {
        self.last <= second - WINDOW_SECONDS
    }
}

/// How a rollback this host started ended, for [`FailureRates::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The version is no longer active (rolled back, here or elsewhere): its counts are dropped,
    /// so a later activation of it starts afresh.
    Forget,
    /// Nothing could be rolled back: no further attempt for this version until its window goes
    /// idle.
    Keep,
    /// The attempt failed: the next failure may try again.
    Retry,
}

/// The windows of every version with live evaluations in the last minute.
#[derive(Debug, Default)]
pub struct FailureRates {
    /// By version, with the second idle windows were last dropped.
    windows: Mutex<(HashMap<VersionKey, Window>, i64)>,
}

impl FailureRates {
    /// Counts one live evaluation of `key` at `now_millis`, failed or not. When `setting` is
    /// given and the window now passes it, and no rollback of this version is under way here,
    /// claims the rollback and returns the window's counts; the caller must [`settle`] it.
    ///
    /// [`settle`]: FailureRates::settle
    pub fn count(
        &self,
        key: &VersionKey,
        failed: bool,
        now_millis: i64,
        setting: Option<&AutoRollback>,
    ) -> Option<Counts> {
        let second = now_millis.div_euclid(1000);
        let mut guard = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (windows, swept) = &mut *guard;
        if *swept < second {
            windows.retain(|_, window| !window.is_idle(second));
            *swept = second;
        }
        let window = windows.entry(key.clone()).or_default();
        window.add(second, failed);
        let counts = window.counts(second);
        let passed = setting.is_some_and(|setting| setting.is_passed(counts.evaluations, counts.failures));
        (passed && !window.claimed).then(|| {
            window.claimed = true;
            counts
        })
    }

    /// Ends the claim [`FailureRates::count`] gave on `key`.
    pub fn settle(&self, key: &VersionKey, settled: Settled) {
        let mut guard = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match settled {
            Settled::Forget => {
                guard.0.remove(key);
            }
            Settled::Keep => {}
            Settled::Retry => {
                if let Some(window) = guard.0.get_mut(key) {
                    window.claimed = false;
                }
            }
        }
    }

    /// How many versions have a window (for tests of the memory bound).
    pub fn tracked(&self) -> usize {
        self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).0.len()
    }
}

/// The kind whose rules failed, when the failure names one; `None` for a failure of the decision
/// as a whole (a module that cannot be loaded, unknown organizations, a record too large), which
/// counts against every active version.
pub fn failed_kind(error: &RulesError) -> Option<RuleKind> {
    match error {
        RulesError::Evaluation(failure) => Some(match failure.kind {
            FailedRules::User => RuleKind::User,
            FailedRules::Group => RuleKind::Group,
        }),
        RulesError::MissingVersion { kind, .. } => Some(*kind),
        _ => None,
    }
}

/// What the live rules did on one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// They decided.
    Decided,
    /// They failed: the rules of this kind, or (`None`) the decision as a whole.
    Failed(Option<RuleKind>),
}

/// Counts a live decision of `realm` made with `selection` against each active version, and
/// rolls back a version whose window passes the realm's `auto_rollback`. A realm that does not
/// ask for automatic rollback is not counted: its logins take no lock and build no key here.
pub async fn observe(state: &SharedState, realm: &Realm, selection: Selection, ran: Ran) {
    let Some(setting) = realm.auto_rollback.as_ref() else { return };
    let now = now_millis();
    let versions = [(RuleKind::User, selection.user_rules), (RuleKind::Group, selection.group_rules)];
    for (kind, version) in versions {
        let Some(version) = version else { continue };
        let failed = match ran {
            Ran::Decided => false,
            Ran::Failed(failed) => failed.is_none_or(|failed| failed == kind),
        };
        let key = (realm.tenant_id.clone(), realm.id.clone(), kind, version);
        if let Some(counts) = state.failure_rates.count(&key, failed, now, Some(setting)) {
            let failing = FailingVersion {
                kind,
                version,
                evaluations: counts.evaluations,
                failures: counts.failures,
                setting: *setting,
            };
            let settled = roll_back(state, realm, &failing).await;
            state.failure_rates.settle(&key, settled);
        }
    }
}

/// Rolls `failing` back as an admin rollback would, audited and logged as automatic.
async fn roll_back(state: &SharedState, realm: &Realm, failing: &FailingVersion) -> Settled {
    let (tenant, realm_id, kind) = (realm.tenant_id.as_str(), realm.id.as_str(), failing.kind.as_str());
    let (from, evaluations, failures) = (failing.version, failing.evaluations, failing.failures);
    let audit = Audit { actor: "system".to_owned(), at: now_millis() };
    match modules::rollback_failing(state, realm, failing, &audit).await {
        Ok(AutomaticRollback::RolledBack { to }) => {
            tracing::warn!(
                tenant,
                realm = realm_id,
                kind,
                from,
                to,
                evaluations,
                failures,
                "a failing rules version was rolled back automatically"
            );
            Settled::Forget
        }
        Ok(AutomaticRollback::NoLongerActive { .. }) => Settled::Forget,
        Ok(AutomaticRollback::NothingToRollBackTo { reason }) => {
            tracing::warn!(
                tenant, realm = realm_id, kind, from, evaluations, failures, %reason,
                "a failing rules version could not be rolled back automatically"
            );
            Settled::Keep
        }
        Err(error) => {
            tracing::error!(
                tenant, realm = realm_id, kind, from, %error,
                "the automatic rollback of a failing rules version failed"
            );
            Settled::Retry
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: i64) -> VersionKey {
        ("acme".into(), "entra".into(), RuleKind::User, version)
    }

    fn setting(rate: f64, min: u32) -> AutoRollback {
        AutoRollback::new(rate, min).unwrap()
    }

    #[test]
    fn the_window_holds_exactly_the_last_sixty_seconds() {
        let mut window = Window::default();
        window.add(100, true);
        window.add(100, false);
        window.add(130, true);
        assert_eq!(window.counts(130), Counts { evaluations: 3, failures: 2 });
        assert_eq!(window.counts(159), Counts { evaluations: 3, failures: 2 }, "second 100 is still in");
        assert_eq!(window.counts(160), Counts { evaluations: 1, failures: 1 }, "second 100 has left");
        assert_eq!(window.counts(190), Counts::default());
        // A bucket is reused sixty seconds on, starting from zero.
        window.add(160, false);
        assert_eq!(window.counts(160), Counts { evaluations: 2, failures: 1 });
        assert!(!window.is_idle(219) && window.is_idle(220));
    }

    #[test]
    fn a_window_before_the_epoch_counts_too() {
        let mut window = Window::default();
        window.add(-1, true);
        assert_eq!(window.counts(-1), Counts { evaluations: 1, failures: 1 });
    }

    #[test]
    fn the_setting_needs_enough_evaluations_and_a_rate_reached() {
        let half = setting(0.5, 4);
        assert!(!half.is_passed(3, 3), "too few evaluations");
        assert!(!half.is_passed(4, 1));
        assert!(half.is_passed(4, 2), "a rate reached passes");
        assert!(setting(1.0, 1).is_passed(1, 1) && !setting(1.0, 1).is_passed(2, 1));
        assert!(AutoRollback::new(0.0, 1).is_err() && AutoRollback::new(1.5, 1).is_err());
        assert!(AutoRollback::new(f64::NAN, 1).is_err() && AutoRollback::new(0.5, 0).is_err());
    }

    #[test]
    fn a_rollback_is_claimed_once_until_settled() {
        let rates = FailureRates::default();
        let auto = setting(0.5, 3);
        let at = 1_000_000;
        assert_eq!(rates.count(&key(2), true, at, Some(&auto)), None);
        assert_eq!(rates.count(&key(2), true, at, Some(&auto)), None);
        assert_eq!(rates.count(&key(2), true, at + 10, Some(&auto)), Some(Counts { evaluations: 3, failures: 3 }));
        assert_eq!(rates.count(&key(2), true, at + 20, Some(&auto)), None, "claimed: not again");
        rates.settle(&key(2), Settled::Retry);
        assert_eq!(rates.count(&key(2), true, at + 30, Some(&auto)), Some(Counts { evaluations: 5, failures: 5 }));
        rates.settle(&key(2), Settled::Keep);
        assert_eq!(rates.count(&key(2), true, at + 40, Some(&auto)), None, "kept: no further attempt");
        rates.settle(&key(2), Settled::Forget);
        assert_eq!(rates.tracked(), 0);
        assert_eq!(rates.count(&key(2), true, at + 50, Some(&auto)), None, "forgotten: counts start afresh");
    }

    #[test]
    fn without_a_setting_failures_are_counted_and_nothing_is_claimed() {
        let rates = FailureRates::default();
        for _ in 0..10 {
            assert_eq!(rates.count(&key(2), true, 5_000, None), None);
        }
    }

    #[test]
    fn idle_versions_are_forgotten() {
        let rates = FailureRates::default();
        rates.count(&key(1), false, 0, None);
        rates.count(&key(2), false, 30_000, None);
        assert_eq!(rates.tracked(), 2);
        rates.count(&key(2), false, 60_000, None);
        assert_eq!(rates.tracked(), 1, "version 1 was idle for a minute");
        rates.count(&key(3), false, 200_000, None);
        assert_eq!(rates.tracked(), 1, "only the version counted now");
    }
}
