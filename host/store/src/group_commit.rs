//! Group commit on SQLite: concurrent `apply_decision` calls share one write transaction.
//!
//! SQLite has one writer, and most of a decision's cost is the round trips of its statements and
//! its commit while it holds the writer turn. So a caller queues its decision and a task takes the
//! writer turn for whatever is queued (up to [`MAX_BATCH`]): it begins one `IMMEDIATE`
//! transaction, reads what the batch's checks need in a few statements, checks each decision in
//! queue order (a later decision sees what the earlier ones write) and writes them together, a
//! statement per kind (see [`commit_together`]), appends the batch's audit events with one
//! counter bump per tenant, in queue order, commits, and only then answers each caller.
//!
//! A decision the checks refuse wrote nothing and fails alone. If a write, the audit append or the
//! commit fails, the whole transaction is rolled back and every decision of the batch is applied
//! again alone, in its own transaction, so a failing decision never takes its neighbours with it.
//! Nothing is answered before its commit (a crash loses only unanswered decisions).
//!
//! Audit-only writes ([`record`]: what a SCIM request did, appended after it is answered) join
//! the same queue, so they cost a place in a batch rather than a transaction each.
//!
//! The task is spawned, not run by the caller: a caller that goes away (a dropped request) can
//! neither abort the batch of others nor leave its decision queued without a task to apply it.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::{Arc, Mutex as SyncMutex, PoisonError},
};

use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::{
    Audit, Result, Store, StoreError, WriteTx, apply,
    apply::{ApplyDecision, apply_in},
    audit::{self, AuditNote, Event},
    batch_view::BatchView,
};

/// Decisions one transaction applies at most.
const MAX_BATCH: usize = 256;

/// SQLite's writer: the in-process turn every write transaction takes, and the decisions queued
/// for the next group commit.
pub(super) struct Writer {
    /// One write transaction (or group of decisions) at a time.
    turn: Arc<Mutex<()>>,
    /// Decisions waiting for a group commit, oldest first.
    queue: SyncMutex<VecDeque<Pending>>,
}

/// What a queued write is.
enum Work {
    /// A decision to check and apply (boxed: it is much larger than an audit entry).
    Decision(Box<ApplyDecision>),
    /// Audit events to append for a tenant.
    Audit {
        /// The tenant.
        tenant: String,
        /// The events.
        notes: Vec<AuditNote>,
    },
}

/// A queued write and where its outcome goes.
struct Pending {
    work: Work,
    audit: Audit,
    reply: oneshot::Sender<Result<()>>,
}

impl Writer {
    /// A writer with nothing queued.
    pub(super) fn new() -> Self {
        Self { turn: Arc::new(Mutex::new(())), queue: SyncMutex::new(VecDeque::new()) }
    }

    /// Waits for the writer turn.
    pub(super) async fn turn(&self) -> OwnedMutexGuard<()> {
        Arc::clone(&self.turn).lock_owned().await
    }

    /// The queue (its contents stay consistent even if a holder panicked).
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Queues a decision for the next group commit and waits until it is committed or refused.
pub(super) async fn apply(store: &Store, writer: &Arc<Writer>, apply: ApplyDecision, audit: Audit) -> Result<()> {
    enqueue(store, writer, Work::Decision(Box::new(apply)), audit).await
}

/// Queues audit events of `tenant` for the next group commit and waits until they are committed.
pub(super) async fn record(
    store: &Store,
    writer: &Arc<Writer>,
    tenant: &str,
    notes: Vec<AuditNote>,
    audit: Audit,
) -> Result<()> {
    enqueue(store, writer, Work::Audit { tenant: tenant.to_owned(), notes }, audit).await
}

async fn enqueue(store: &Store, writer: &Arc<Writer>, work: Work, audit: Audit) -> Result<()> {
    let (reply, answer) = oneshot::channel();
    writer.queue().push_back(Pending { work, audit, reply });
    tokio::spawn(lead(store.clone(), Arc::clone(writer)));
    // A dropped sender means the task died (a panic) before answering.
    answer.await.unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
}

/// Takes the writer turn and commits what is queued, unless another task took it all already.
async fn lead(store: Store, writer: Arc<Writer>) {
    if writer.queue().is_empty() {
        return;
    }
    let turn = writer.turn().await;
    let batch: Vec<Pending> = {
        let mut queue = writer.queue();
        let n = queue.len().min(MAX_BATCH);
        queue.drain(..n).collect()
    };
    if batch.is_empty() {
        return;
    }
    let outcomes = match commit_together(&store, &batch).await {
        Ok(outcomes) => outcomes,
        Err(_) => {
            let mut outcomes = Vec::with_capacity(batch.len());
            for pending in &batch {
                outcomes.push(commit_alone(&store, pending).await);
            }
            outcomes
        }
    };
    drop(turn);
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        // The caller may be gone; its decision stands.
        let _ = pending.reply.send(outcome);
    }
}

/// Applies the batch in one transaction: `Ok` with each decision's outcome once committed (a
/// refused decision wrote nothing), `Err` (rolled back) if a write, the audit or the commit failed.
///
/// The stored users and organizations the batch names are read first, in a statement per realm
/// and per tenant ([`BatchView`]). Decisions are checked in queue order and written together, a
/// statement per kind for the lot ([`apply::write_all`]), with the checked ones flushed first
/// whenever a check must see their writes: before a second decision about the same user, and
/// after one that renames a user (so a later uniqueness check sees the new name). Organizations
/// an earlier decision will create count as existing for the later ones. A clash only the writes
/// reveal (two new users with one name) fails the batch, and each decision is applied alone.
async fn commit_together(store: &Store, batch: &[Pending]) -> Result<Vec<Result<()>>> {
    let mut tx = store.begin(None).await?;
    let mut outcomes: Vec<Result<()>> = Vec::with_capacity(batch.len());
    // Audit events per tenant, in queue order; a decision's go in once it is written.
    let mut events: BTreeMap<&str, Vec<(&Audit, Event)>> = BTreeMap::new();
    let mut checked: Vec<(apply::Checked<'_>, &Audit)> = Vec::new();
    let mut users: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    let decisions: Vec<&ApplyDecision> = batch
        .iter()
        .filter_map(|pending| match &pending.work {
            Work::Decision(apply) => Some(&**apply),
            Work::Audit { .. } => None,
        })
        .collect();
    let keys = decisions.iter().map(|apply| (&*apply.user.tenant_id, &*apply.user.realm_id, &*apply.user.id));
    let mut named: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for apply in &decisions {
        named.entry(&apply.user.tenant_id).or_default().extend(apply::named_organizations(apply));
    }
    let mut view = BatchView::prefetch(&mut tx, keys, named).await?;
    for Pending { work, audit, .. } in batch {
        let apply = match work {
            Work::Decision(apply) => apply,
            Work::Audit { tenant, notes } => {
                flush(&mut tx, &mut checked, &mut users, &mut events).await?;
                let notes = notes.iter().cloned().map(|note| (audit, Event::from(note)));
                events.entry(tenant.as_str()).or_default().extend(notes);
                outcomes.push(Ok(()));
                continue;
            }
        };
        let user = (apply.user.tenant_id.as_str(), apply.user.realm_id.as_str(), apply.user.id.as_str());
        if users.contains(&user) {
            flush(&mut tx, &mut checked, &mut users, &mut events).await?;
        }
        match apply::check(&mut tx, apply, audit, &mut view).await {
            Ok(decision) => {
                let renames = decision.renames;
                users.insert(user);
                checked.push((decision, audit));
                if renames {
                    flush(&mut tx, &mut checked, &mut users, &mut events).await?;
                }
                outcomes.push(Ok(()));
            }
            Err(refused) => outcomes.push(Err(refused)),
        }
    }
    flush(&mut tx, &mut checked, &mut users, &mut events).await?;
    for (tenant, events) in events {
        audit::append_all(tx.conn(), tenant, events).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Writes the checked decisions (see [`commit_together`]) and queues their audit events.
async fn flush<'a>(
    tx: &mut WriteTx,
    checked: &mut Vec<(apply::Checked<'a>, &'a Audit)>,
    users: &mut BTreeSet<(&'a str, &'a str, &'a str)>,
    events: &mut BTreeMap<&'a str, Vec<(&'a Audit, Event)>>,
) -> Result<()> {
    if checked.is_empty() {
        return Ok(());
    }
    let (decisions, audits): (Vec<_>, Vec<_>) = std::mem::take(checked).into_iter().unzip();
    let tenants: Vec<&str> = decisions.iter().map(|decision| decision.tenant()).collect();
    let written = apply::write_all(tx, decisions).await?;
    for ((tenant, audit), decision_events) in tenants.into_iter().zip(audits).zip(written) {
        events.entry(tenant).or_default().extend(decision_events.into_iter().map(|event| (audit, event)));
    }
    users.clear();
    Ok(())
}

/// Applies one queued write in its own transaction (the writer turn held by the caller).
async fn commit_alone(store: &Store, pending: &Pending) -> Result<()> {
    let mut tx = store.begin(None).await?;
    match &pending.work {
        Work::Decision(apply) => apply_in(&mut tx, apply, &pending.audit).await?,
        Work::Audit { tenant, notes } => {
            let events = notes.iter().cloned().map(Event::from).collect();
            audit::append(tx.conn(), tenant, &pending.audit, events).await?;
        }
    }
    tx.commit().await
}
