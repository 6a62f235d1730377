//! Slots per tenant, for evaluations (`max_evaluations_per_tenant`) and for compiles
//! ([`super::compiles`]). For evaluations: at most `per_tenant` of one tenant run at once, so a
//! tenant whose rules burn their whole budget (or who sends a flood of logins) holds at most its
//! share of the engine's instances and of the blocking threads, and another tenant's logins find
//! the machine free. An evaluation over the bound waits for a slot a short while, then is refused
//! (`429`: the tenant is asking for more than its share).

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The slots of every tenant.
pub struct TenantSlots {
    per_tenant: NonZeroUsize,
    wait: Duration,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A tenant's slots stayed taken for the whole wait.
#[derive(Debug, Clone, thiserror::Error)]
#[error("tenant {tenant} already has {slots} evaluations running (its share of the engine)")]
pub struct NoSlot {
    /// Whose slots.
    pub tenant: String,
    /// How many it has.
    pub slots: usize,
    /// How long the wait was.
    pub waited: Duration,
}

impl TenantSlots {
    /// `per_tenant` slots for each tenant; an evaluation waits at most `wait` for one.
    pub fn new(per_tenant: NonZeroUsize, wait: Duration) -> TenantSlots {
        TenantSlots { per_tenant, wait, tenants: Mutex::new(HashMap::new()) }
    }

    /// A slot of `tenant`, held until the permit is dropped (move it to where the evaluation
    /// runs, so that a caller that gives up does not free a slot still in use).
    pub async fn acquire(&self, tenant: &str) -> Result<OwnedSemaphorePermit, NoSlot> {
        let semaphore = {
            let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            match tenants.get(tenant) {
                Some(slots) => Arc::clone(slots),
                None => {
                    let slots = Arc::new(Semaphore::new(self.per_tenant.get()));
                    tenants.insert(tenant.to_owned(), Arc::clone(&slots));
                    slots
                }
            }
        };
        // A free slot is taken at once, without arming a timer; only a wait is timed.
        if let Ok(permit) = Arc::clone(&semaphore).try_acquire_owned() {
            return Ok(permit);
        }
        let no_slot = || NoSlot { tenant: tenant.to_owned(), slots: self.per_tenant.get(), waited: self.wait };
        match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a closed one is as good as full.
            Ok(Err(_)) | Err(_) => Err(no_slot()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_holds_at_most_its_slots_and_others_are_not_held_up() {
        let slots = TenantSlots::new(NonZeroUsize::new(2).unwrap(), Duration::from_millis(50));
        let first = slots.acquire("noisy").await.unwrap();
        let _second = slots.acquire("noisy").await.unwrap();
        let refused = slots.acquire("noisy").await.unwrap_err();
        assert_eq!((refused.tenant.as_str(), refused.slots), ("noisy", 2));
        assert!(slots.acquire("quiet").await.is_ok(), "another tenant's slots are its own");
        drop(first);
        assert!(slots.acquire("noisy").await.is_ok(), "a slot given back is taken again");
    }
}
