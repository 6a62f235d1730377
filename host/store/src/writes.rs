//! The writes that go through the group commit on SQLite ([`super::group_commit`]) and are one
//! transaction each on PostgreSQL: applying a decision, and recording audit notes.

use super::{
    Audit, Result, Store,
    apply::{ApplyDecision, apply_in},
    audit::{AuditNote, Event, append},
    group_commit,
};

impl Store {
    /// Applies a decision in one transaction: writes the user (inserted at version 1, or replacing
    /// the stored record one version up), upserts the provider groups' marks (a group whose marks
    /// are unchanged is not rewritten), records the session, stores the decision record, and
    /// appends `user.created` (new user) or `user.updated` (stored fields other than login and
    /// update times changed), `user.reactivated` (deactivated → active), the caller's extra events
    /// and `decision.applied`. All or nothing; returns only once committed (on SQLite possibly in
    /// one transaction with concurrent decisions, never together with one that failed).
    ///
    /// Status: a new user may be created deactivated (SCIM `active: false`); a deactivated user may
    /// be updated as such, or reactivated (its `deactivated_at` cleared; its suspended SCIM group
    /// memberships count again) but only with `expected_version`, so that a write based on a read
    /// from before the deactivation (a concurrent login) cannot undo it: without one it is a
    /// `Conflict`. An active user is deactivated only through [`Store::deactivate_user`].
    ///
    /// `Conflict` naming both users if the user name (ignoring case) or external id belongs to
    /// another user of the realm, or if the decision or session id is taken;
    /// [`StoreError::VersionMismatch`](crate::StoreError::VersionMismatch) if `expected_version` is
    /// not the stored version; `NotFound` if the realm is missing, or `expected_version` is given
    /// for a user not stored; `Invalid` if the user, the decision and the session disagree on
    /// tenant, realm or user, the decision is not an applied, non-shadow one, an active user would
    /// be deactivated, or a deactivated user would have an organization, rule-based groups or a new
    /// session.
    pub async fn apply_decision(&self, apply: ApplyDecision, audit: &Audit) -> Result<()> {
        if let Some(writer) = &self.writer {
            return group_commit::apply(self, writer, apply, audit.clone()).await;
        }
        let mut tx = self.write().await?;
        apply_in(&mut tx, &apply, audit).await?;
        tx.commit().await
    }

    /// Appends events that record something the store did not change itself (a SCIM request, as
    /// it was answered); on SQLite in the next group commit. `NotFound` if there is no such tenant.
    pub async fn record_audit(&self, tenant: &str, audit: &Audit, notes: Vec<AuditNote>) -> Result<()> {
        if let Some(writer) = &self.writer {
            return group_commit::record(self, writer, tenant, notes, audit.clone()).await;
        }
        let mut tx = self.write().await?;
        append(tx.conn(), tenant, audit, notes.into_iter().map(Event::from).collect()).await?;
        tx.commit().await
    }
}
