//! Shadow mode: a candidate version marked as shadow runs beside the active one on every live
//! evaluation. Its result is recorded as a shadow decision pointing at the live one, never
//! applied, and counted as `same`, `differs` or, when the shadow's rules failed (recorded as a
//! failure), `failed`.
//!
//! Shadow runs happen after the live decision is answered, on their own task, so they add no
//! latency to a login; at most `shadow_max_in_flight` (configured) run at once, and beyond that they are dropped
//! (and counted as `dropped`) rather than queued without bound.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{SharedState, now_millis, rules::Selection};
use crate::decision::{
    input::CanonicalInput,
    outcome::{DecisionOutput, RealmOutcome},
    record::{Recorded, Subject, decision_record, failure_record},
};
use muster_store::model::Realm;

/// Bounds the shadow evaluations in flight.
pub struct ShadowRunner {
    permits: Arc<Semaphore>,
}

impl ShadowRunner {
    /// A runner letting at most `max_in_flight` shadow evaluations run at once, per host.
    pub fn new(max_in_flight: std::num::NonZeroUsize) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_in_flight.get())) }
    }
}

/// What the shadow versions of a realm are, as a selection to run: the shadow version of each
/// kind, the active one for a kind without a shadow. `None` when nothing is in shadow.
pub fn shadow_selection(realm: &Realm) -> Option<Selection> {
    if realm.shadow_user_rules_version.is_none() && realm.shadow_group_rules_version.is_none() {
        return None;
    }
    Some(Selection {
        user_rules: realm.shadow_user_rules_version.or(realm.user_rules_version),
        group_rules: realm.shadow_group_rules_version.or(realm.group_rules_version),
    })
}

impl ShadowRunner {
    /// Runs the realm's shadow versions, if any, on the input of the live decision `live_id`
    /// about `user_id`, in the background, and records the result beside it.
    pub fn spawn(
        &self,
        state: &SharedState,
        realm: &Realm,
        input: CanonicalInput,
        live_id: &str,
        user_id: &str,
        live_outcome: &RealmOutcome,
    ) {
        let Some(selection) = shadow_selection(realm) else { return };
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            state.metrics.shadow("dropped");
            tracing::warn!(realm = %realm.id, "shadow evaluation dropped: {} already in flight", state.config.shadow_max_in_flight);
            return;
        };
        let (state, realm) = (Arc::clone(state), realm.clone());
        let (live_id, user_id, live_output) =
            (live_id.to_owned(), user_id.to_owned(), DecisionOutput::of(live_outcome));
        tokio::spawn(async move {
            let _permit = permit;
            let outcome = state.rules.evaluate(&state.store, &realm, selection, &input.context, &input.user).await;
            let budget = state.rules.budget(&realm);
            let subject = Subject { tenant_id: &realm.tenant_id, realm_id: &realm.id, user_id: Some(&user_id), budget };
            let max_bytes = state.config.max_decision_record_bytes;
            let (record, result) = match outcome {
                Ok(outcome) => {
                    let differs = DecisionOutput::of(&outcome) != live_output;
                    let recorded = Recorded::Shadow { of: live_id.clone(), differs };
                    let record = decision_record(subject, &input, &outcome, recorded, now_millis(), max_bytes);
                    (record.map_err(|e| e.to_string()), if differs { "differs" } else { "same" })
                }
                Err(error) => {
                    tracing::warn!(realm = %realm.id, live = %live_id, kind = error.kind(), %error, "shadow evaluation failed");
                    let recorded = Recorded::Shadow { of: live_id.clone(), differs: true };
                    let record = match error.failed_run(selection) {
                        Some(run) => {
                            failure_record(subject, &input, run, recorded, now_millis()).map_err(|e| e.to_string())
                        }
                        None => Err(format!("not run: {error}")),
                    };
                    (record, "failed")
                }
            };
            let stored = match record {
                Ok(record) => state.store.insert_decision(&record).await.map_err(|e| e.to_string()),
                Err(error) => Err(error),
            };
            match stored {
                Ok(()) => state.metrics.shadow(result),
                Err(error) => {
                    state.metrics.shadow("failed");
                    tracing::warn!(realm = %realm.id, live = %live_id, %error, "shadow decision not recorded");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm(active: (Option<i64>, Option<i64>), shadow: (Option<i64>, Option<i64>)) -> Realm {
        Realm {
            tenant_id: "acme".into(),
            id: "entra".into(),
            name: "Entra".into(),
            default_organization: None,
            user_rules_version: active.0,
            group_rules_version: active.1,
            shadow_user_rules_version: shadow.0,
            shadow_group_rules_version: shadow.1,
            scim_bearer_enabled: false,
            create_organizations: false,
            failure_policy: muster_store::model::FailurePolicy::FailClosed,
            auto_rollback: None,
            membership_source: muster_store::model::MembershipSource::Newest,
            limits: muster_store::model::RealmLimits::default(),
            created_at: 0,
        }
    }

    #[test]
    fn nothing_runs_without_a_shadow_version() {
        assert!(shadow_selection(&realm((Some(1), Some(1)), (None, None))).is_none());
    }

    #[test]
    fn a_kind_without_a_shadow_runs_its_active_version() {
        let selection = shadow_selection(&realm((Some(1), Some(4)), (Some(2), None))).expect("a shadow");
        assert_eq!((selection.user_rules, selection.group_rules), (Some(2), Some(4)));
        let selection = shadow_selection(&realm((None, Some(4)), (None, Some(5)))).expect("a shadow");
        assert_eq!((selection.user_rules, selection.group_rules), (None, Some(5)));
    }
}
