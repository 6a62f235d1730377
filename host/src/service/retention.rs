//! Decision retention: each tenant's decision records older than its retention setting are
//! deleted, by a periodic job in every host (deleting is idempotent, so hosts sharing a
//! database need no coordination) or on demand. The same job deletes expired SCIM access tokens.

use std::time::Duration;

use super::{SharedState, now_millis};
use muster_store::{
    Result,
    model::{Millis, Tenant},
};

/// The longest retention a tenant may set (100 years; beyond that, keep forever with `null`).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// What one purge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Purge {
    /// Decisions deleted.
    pub purged: u64,
    /// Decisions made before this time were deleted; `None` when the tenant keeps them forever.
    pub cutoff: Option<Millis>,
}

/// Deletes the tenant's decisions older than its retention, now.
pub async fn purge_tenant(state: &SharedState, tenant: &Tenant) -> Result<Purge> {
    let Some(days) = tenant.decision_retention_days else {
        return Ok(Purge { purged: 0, cutoff: None });
    };
    let cutoff = now_millis().saturating_sub(days.saturating_mul(DAY_MILLIS));
    let purged = state.store.purge_decisions_older_than(&tenant.id, cutoff).await?;
    state.metrics.decisions_purged.inc_by(purged);
    if purged > 0 {
        tracing::info!(tenant = %tenant.id, purged, cutoff, "decision records purged by retention");
    }
    Ok(Purge { purged, cutoff: Some(cutoff) })
}

/// Purges every tenant's old decisions and every expired SCIM access token, every `every`,
/// until the task is dropped.
pub async fn run_periodically(state: SharedState, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match state.store.purge_expired_scim_tokens(now_millis()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired SCIM access tokens purged"),
            Err(error) => tracing::warn!(%error, "retention: cannot purge expired SCIM tokens; retrying next round"),
        }
        let tenants = match state.store.list_tenants().await {
            Ok(tenants) => tenants,
            Err(error) => {
                tracing::warn!(%error, "retention: cannot list tenants; retrying next round");
                continue;
            }
        };
        for tenant in tenants.iter().filter(|t| t.decision_retention_days.is_some()) {
            if let Err(error) = purge_tenant(&state, tenant).await {
                tracing::warn!(tenant = %tenant.id, %error, "retention: purge failed; retrying next round");
            }
        }
    }
}
