//! The narrow views of the store that the decision path needs: keys (who is calling), users
//! (who is deciding about), modules (what runs) and decisions (what is applied). The service's
//! access check, logins, decisions and re-decisions depend on these traits, not on the whole
//! [`Store`], so they can be unit-tested on the in-memory `memory::MemoryStore` (in test builds
//! only); the live service passes its [`Store`].

use std::future::Future;

use muster_store::{
    ApplyDecision, Audit, LoginUsers, Store, StoreError,
    model::{ApiKey, DecisionRecord, ModuleVersion, RuleKind, ScimGroupsOfLogin, UserRecord},
};

#[cfg(test)]
pub mod memory;

/// API keys, by id.
pub trait KeyStore: Send + Sync {
    /// The key with this id, revoked or not ([`Store::get_key`]).
    fn get_key(&self, id: &str) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;
}

/// The users of a realm.
pub trait UserStore: Send + Sync {
    /// The realm's user with this id ([`Store::get_user`]).
    fn get_user(
        &self,
        tenant: &str,
        realm: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    /// The users a login may be for: by external id, and by user name ignoring case
    /// ([`Store::find_login_users`]).
    fn find_login_users(
        &self,
        tenant: &str,
        realm: &str,
        external_id: &str,
        user_name: &str,
    ) -> impl Future<Output = Result<LoginUsers, StoreError>> + Send;

    /// SCIM's side of a logging-in user's provider groups: the SCIM groups `user_id` is a member
    /// of, and which claimed names SCIM manages ([`Store::scim_groups_of_login`]).
    fn scim_groups_of_login(
        &self,
        tenant: &str,
        realm: &str,
        user_id: Option<&str>,
        claimed: &[String],
    ) -> impl Future<Output = Result<ScimGroupsOfLogin, StoreError>> + Send;
}

/// Stored rule-module versions and their bytes.
pub trait ModuleStore: Send + Sync {
    /// One version of a realm's module of `kind` ([`Store::get_module_version`]).
    fn get_module_version(
        &self,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        version: i64,
    ) -> impl Future<Output = Result<Option<ModuleVersion>, StoreError>> + Send;

    /// The module with this digest of the tenant ([`Store::module_wasm`]).
    fn module_wasm(
        &self,
        tenant: &str,
        digest: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}

/// Where decisions are applied.
pub trait DecisionStore: Send + Sync {
    /// Applies a decision with its record, session and audit in one transaction
    /// ([`Store::apply_decision`]).
    fn apply_decision(
        &self,
        apply: ApplyDecision,
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a decision that changes nothing else: here, rules that failed
    /// ([`Store::insert_decision`]).
    fn insert_decision(&self, decision: &DecisionRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Everything deciding about a user reads and writes.
pub trait DecidingStore: UserStore + ModuleStore + DecisionStore {}

impl<S: UserStore + ModuleStore + DecisionStore> DecidingStore for S {}

impl KeyStore for Store {
    fn get_key(&self, id: &str) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send {
        Store::get_key(self, id)
    }
}

impl UserStore for Store {
    fn get_user(
        &self,
        tenant: &str,
        realm: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send {
        Store::get_user(self, tenant, realm, id)
    }

    fn find_login_users(
        &self,
        tenant: &str,
        realm: &str,
        external_id: &str,
        user_name: &str,
    ) -> impl Future<Output = Result<LoginUsers, StoreError>> + Send {
        Store::find_login_users(self, tenant, realm, external_id, user_name)
    }

    fn scim_groups_of_login(
        &self,
        tenant: &str,
        realm: &str,
        user_id: Option<&str>,
        claimed: &[String],
    ) -> impl Future<Output = Result<ScimGroupsOfLogin, StoreError>> + Send {
        Store::scim_groups_of_login(self, tenant, realm, user_id, claimed)
    }
}

impl ModuleStore for Store {
    fn get_module_version(
        &self,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        version: i64,
    ) -> impl Future<Output = Result<Option<ModuleVersion>, StoreError>> + Send {
        Store::get_module_version(self, tenant, realm, kind, version)
    }

    fn module_wasm(
        &self,
        tenant: &str,
        digest: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send {
        Store::module_wasm(self, tenant, digest)
    }
}

impl DecisionStore for Store {
    fn apply_decision(
        &self,
        apply: ApplyDecision,
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        Store::apply_decision(self, apply, audit)
    }

    fn insert_decision(&self, decision: &DecisionRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        Store::insert_decision(self, decision)
    }
}
