//! An in-memory store behind the narrow store traits, for unit tests of the decision path. It
//! keeps users, keys and module versions in maps, records every applied decision, checks
//! versions as the real store does, and can interleave concurrent writes to exercise retries.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use muster_store::{
    ApplyDecision, Audit, LoginUsers, StoreError,
    model::{ApiKey, DecisionRecord, ModuleVersion, RuleKind, ScimGroupsOfLogin, UserRecord},
};

use super::{DecisionStore, KeyStore, ModuleStore, UserStore};

/// Users by (tenant, realm, id).
type Users = BTreeMap<(String, String, String), UserRecord>;

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<Users>,
    keys: Mutex<BTreeMap<String, ApiKey>>,
    modules: Mutex<Vec<ModuleVersion>>,
    wasm: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    applied: Mutex<Vec<ApplyDecision>>,
    recorded: Mutex<Vec<DecisionRecord>>,
    scim_groups: Mutex<ScimGroups>,
    concurrent_writes: AtomicUsize,
}

/// SCIM groups: each display name with its members' ids (one realm's, whatever the realm).
type ScimGroups = BTreeMap<String, Vec<String>>;

impl MemoryStore {
    /// Stores `user` as it is (version included).
    pub fn insert_user(&self, user: UserRecord) {
        let key = (user.tenant_id.clone(), user.realm_id.clone(), user.id.clone());
        self.users.lock().unwrap_or_else(|e| e.into_inner()).insert(key, user);
    }

    /// The stored user `id`, if any.
    pub fn user(&self, tenant: &str, realm: &str, id: &str) -> Option<UserRecord> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.get(&(tenant.to_owned(), realm.to_owned(), id.to_owned())).cloned()
    }

    /// Stores a SCIM group by display name with its members' ids.
    pub fn insert_scim_group(&self, display_name: &str, members: &[&str]) {
        let members = members.iter().map(|id| (*id).to_owned()).collect();
        self.scim_groups.lock().unwrap_or_else(|e| e.into_inner()).insert(display_name.to_owned(), members);
    }

    /// Stores an API key.
    pub fn insert_key(&self, key: ApiKey) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).insert(key.id.clone(), key);
    }

    /// Stores a module version and its bytes.
    pub fn insert_module(&self, version: ModuleVersion, wasm: Vec<u8>) {
        let key = (version.tenant_id.clone(), version.digest.clone());
        self.wasm.lock().unwrap_or_else(|e| e.into_inner()).insert(key, wasm);
        self.modules.lock().unwrap_or_else(|e| e.into_inner()).push(version);
    }

    /// Every decision applied so far, in order.
    pub fn applied(&self) -> Vec<ApplyDecision> {
        self.applied.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The decisions recorded without being applied (failures), in order.
    pub fn recorded(&self) -> Vec<DecisionRecord> {
        self.recorded.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes the next `count` decisions lose a race: just before each is applied, another
    /// write moves the stored user one version on.
    pub fn interleave_writes(&self, count: usize) {
        self.concurrent_writes.store(count, Ordering::SeqCst);
    }

    fn apply(&self, apply: ApplyDecision) -> Result<(), StoreError> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let user = &apply.user;
        let key = (user.tenant_id.clone(), user.realm_id.clone(), user.id.clone());
        let interleaved =
            self.concurrent_writes.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok();
        if interleaved && let Some(stored) = users.get_mut(&key) {
            stored.version += 1;
        }
        let stored = users.get(&key);
        let version = match (stored, apply.expected_version) {
            (Some(stored), Some(expected)) if stored.version != expected => {
                return Err(StoreError::VersionMismatch {
                    what: format!("user {}", user.id),
                    expected,
                    actual: stored.version,
                });
            }
            (Some(stored), Some(_)) => stored.version + 1,
            (Some(_), None) => return Err(StoreError::Conflict(format!("user {} exists", user.id))),
            (None, Some(_)) => return Err(StoreError::NotFound(format!("no user {}", user.id))),
            (None, None) => 1,
        };
        users.insert(key, UserRecord { version, ..user.clone() });
        self.applied.lock().unwrap_or_else(|e| e.into_inner()).push(apply);
        Ok(())
    }
}

impl KeyStore for MemoryStore {
    fn get_key(&self, id: &str) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send {
        let found = self.keys.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned();
        async move { Ok(found) }
    }
}

impl UserStore for MemoryStore {
    fn get_user(
        &self,
        tenant: &str,
        realm: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send {
        let found = self.user(tenant, realm, id);
        async move { Ok(found) }
    }

    fn find_login_users(
        &self,
        tenant: &str,
        realm: &str,
        external_id: &str,
        user_name: &str,
    ) -> impl Future<Output = Result<LoginUsers, StoreError>> + Send {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let of_realm = || users.values().filter(|u| u.tenant_id == tenant && u.realm_id == realm);
        let found = LoginUsers {
            by_external_id: of_realm().find(|u| u.external_id.as_deref() == Some(external_id)).cloned(),
            by_name: of_realm().find(|u| u.user_name.eq_ignore_ascii_case(user_name)).cloned(),
        };
        async move { Ok(found) }
    }

    fn scim_groups_of_login(
        &self,
        _tenant: &str,
        _realm: &str,
        user_id: Option<&str>,
        claimed: &[String],
    ) -> impl Future<Output = Result<ScimGroupsOfLogin, StoreError>> + Send {
        let groups = self.scim_groups.lock().unwrap_or_else(|e| e.into_inner());
        let found = ScimGroupsOfLogin {
            member_of: groups
                .iter()
                .filter(|(_, members)| user_id.is_some_and(|id| members.iter().any(|member| member == id)))
                .map(|(name, _)| name.clone())
                .collect(),
            managed: claimed
                .iter()
                .filter(|claim| groups.keys().any(|name| name.to_lowercase() == claim.to_lowercase()))
                .cloned()
                .collect(),
        };
        async move { Ok(found) }
    }
}

impl ModuleStore for MemoryStore {
    fn get_module_version(
        &self,
        tenant: &str,
        realm: &str,
        kind: RuleKind,
        version: i64,
    ) -> impl Future<Output = Result<Option<ModuleVersion>, StoreError>> + Send {
        let modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        let found = modules
            .iter()
            .find(|m| m.tenant_id == tenant && m.realm_id == realm && m.kind == kind && m.version == version)
            .cloned();
        async move { Ok(found) }
    }

    fn module_wasm(
        &self,
        tenant: &str,
        digest: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send {
        let found =
            self.wasm.lock().unwrap_or_else(|e| e.into_inner()).get(&(tenant.to_owned(), digest.to_owned())).cloned();
        async move { Ok(found) }
    }
}

impl DecisionStore for MemoryStore {
    fn apply_decision(
        &self,
        apply: ApplyDecision,
        _audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let result = self.apply(apply);
        async move { result }
    }

    fn insert_decision(&self, decision: &DecisionRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.recorded.lock().unwrap_or_else(|e| e.into_inner()).push(decision.clone());
        async { Ok(()) }
    }
}

/// A rule runner on a real engine with the default limits, for the decision path's tests.
pub fn rule_runner() -> crate::service::rules::RuleRunner {
    let engine = muster_engine::Engine::new(muster_engine::EngineConfig::default()).expect("an engine");
    crate::service::rules::RuleRunner::new(
        std::sync::Arc::new(engine),
        std::num::NonZeroUsize::MIN,
        usize::MAX,
        std::sync::Arc::new(crate::service::metrics::Metrics::default()),
        crate::service::tenant_slots::TenantSlots::new(std::num::NonZeroUsize::MIN, std::time::Duration::from_secs(1)),
    )
}

/// Realm `entra` of tenant `acme`, whose default organization is `acme` and which has no
/// modules active.
pub fn realm() -> muster_store::model::Realm {
    muster_store::model::Realm::new("acme", "entra", "Entra ID", Some("acme".into()), 0)
}

/// Makes version 1 of `realm`'s user rules a module that traps on every user, and activates it.
pub fn activate_trapping_user_rules(store: &MemoryStore, realm: &mut muster_store::model::Realm) {
    let wasm = wat::parse_str(
        r#"(module
  (memory (export "memory") 1)
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "muster_user_rules") (param i32 i32) (result i64) unreachable))"#,
    )
    .expect("valid WAT");
    let engine = muster_engine::Engine::new(muster_engine::EngineConfig::default()).expect("an engine");
    let module = engine.load(&wasm).expect("a valid module");
    let prepared = module.prepare_settings(b"{}").expect("settings");
    store.insert_module(
        ModuleVersion {
            tenant_id: realm.tenant_id.clone(),
            realm_id: realm.id.clone(),
            kind: RuleKind::User,
            version: 1,
            digest: module.digest().to_owned(),
            size: wasm.len() as i64,
            settings: "{}".into(),
            prepared_settings: prepared.0,
            settings_schema: None,
            note: String::new(),
            created_by: "test".into(),
            created_at: 0,
        },
        wasm,
    );
    realm.user_rules_version = Some(1);
}
