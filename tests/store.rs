//! The storage layer's behaviour, written once and run against both backends: every behaviour
//! below is an `async fn(&TestDb)`, and `suite!` makes one test of it on a fresh SQLite file
//! (`sqlite::…`) and one on a fresh PostgreSQL database (`postgres::…`).

#[path = "support/db.rs"]
mod db;

use std::collections::{BTreeMap, BTreeSet};

use db::TestDb;
use muster::store::{
    ApiKey, ApplyDecision, Audit, AuditFilter, DecisionFilter, DecisionRecord, KeyKind, Millis, NewModuleVersion,
    Organization, ProviderGroupMark, Realm, RuleKind, Store, StoreError, Tenant, UserRecord, UserStatus,
};
use sha2::{Digest, Sha256};
use sqlx::Row;

macro_rules! suite {
    ($($behaviour:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    let db = super::TestDb::sqlite().await;
                    assert_eq!(db.store.backend(), "sqlite");
                    super::$behaviour(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    let db = super::TestDb::postgres().await;
                    assert_eq!(db.store.backend(), "postgres");
                    super::$behaviour(&db).await;
                }
            )*
        }
    };
}

suite!(
    tenants_are_created_once,
    keys_are_stored_found_and_revoked,
    organizations_and_realms,
    module_versions_are_numbered_per_realm_and_kind,
    concurrent_uploads_get_distinct_versions,
    module_bytes_are_stored_once_per_digest,
    activation_returns_the_previous_version,
    rollback_walks_back_the_activation_history,
    shadow_versions_are_set_and_cleared,
    apply_decision_writes_everything_or_nothing,
    external_ids_are_unique_per_realm,
    users_are_listed_in_pages,
    decisions_are_filtered_and_paged_newest_first,
    audit_seq_is_strictly_increasing_under_concurrent_writers,
    audit_log_is_filtered,
    audit_rows_cannot_be_updated_or_deleted,
    tenants_are_isolated,
    data_survives_reopening,
);

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A fixed point in time, so tests do not depend on the clock.
const T0: Millis = 1_700_000_000_000;

fn by(actor: &str) -> Audit {
    Audit { actor: actor.to_owned(), at: T0 }
}

fn at(actor: &str, at: Millis) -> Audit {
    Audit { actor: actor.to_owned(), at }
}

async fn tenant(store: &Store, id: &str) {
    let tenant = Tenant { id: id.into(), name: format!("Tenant {id}"), decision_retention_days: None, created_at: T0 };
    store.create_tenant(&tenant, &by("operator")).await.expect("create tenant");
}

async fn realm(store: &Store, tenant: &str, id: &str) {
    store.create_realm(&new_realm(tenant, id), &by("operator")).await.expect("create realm");
}

fn new_realm(tenant: &str, id: &str) -> Realm {
    Realm {
        id: id.into(),
        tenant_id: tenant.into(),
        name: format!("Realm {id}"),
        default_organization: None,
        user_rules_version: None,
        group_rules_version: None,
        shadow_user_rules_version: None,
        shadow_group_rules_version: None,
        created_at: T0,
    }
}

/// A tenant `t` with realm `r`.
async fn tenant_and_realm(store: &Store, t: &str, r: &str) {
    tenant(store, t).await;
    realm(store, t, r).await;
}

fn key(tenant: &str, id: &str, kind: KeyKind) -> ApiKey {
    ApiKey {
        id: id.into(),
        tenant_id: tenant.into(),
        kind,
        label: format!("label of {id}"),
        secret_sha256: hex::encode(Sha256::digest(format!("secret of {id}"))),
        created_at: T0,
        revoked_at: None,
    }
}

/// Fake module bytes, distinct per `n`.
fn wasm(n: u32) -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend_from_slice(&n.to_le_bytes());
    bytes
}

fn module(tenant: &str, realm: &str, kind: RuleKind, bytes: Vec<u8>) -> NewModuleVersion {
    NewModuleVersion {
        tenant_id: tenant.into(),
        realm_id: realm.into(),
        kind,
        digest: hex::encode(Sha256::digest(&bytes)),
        wasm: bytes,
        settings: r#"{"rules":[]}"#.into(),
        prepared_settings: vec![1, 2, 3, 0, 255],
        note: "a note".into(),
        created_by: "mk_uploader".into(),
        created_at: T0,
    }
}

async fn upload(store: &Store, tenant: &str, realm: &str, kind: RuleKind, n: u32) -> i64 {
    store.insert_module_version(module(tenant, realm, kind, wasm(n)), &by("mk_admin")).await.expect("upload").version
}

fn user(tenant: &str, realm: &str, id: &str, name: &str, external_id: Option<&str>) -> UserRecord {
    UserRecord {
        id: id.into(),
        tenant_id: tenant.into(),
        realm_id: realm.into(),
        user_name: name.into(),
        external_id: external_id.map(Into::into),
        email: Some(format!("{name}@example.com")),
        display_name: Some(format!("User {name}")),
        attributes: BTreeMap::from([("department".to_owned(), vec!["Sales".to_owned()])]),
        provider_groups: vec!["sales-emea".into(), "all".into()],
        status: UserStatus::Active,
        organization: Some("acme-sales".into()),
        rule_groups: vec!["managers".into()],
        last_login_at: Some(T0),
        created_at: T0,
        updated_at: T0,
    }
}

fn decision(tenant: &str, realm: &str, user: Option<&str>, id: &str, created_at: Millis) -> DecisionRecord {
    DecisionRecord {
        id: id.into(),
        tenant_id: tenant.into(),
        realm_id: realm.into(),
        user_id: user.map(Into::into),
        trigger: "login".into(),
        applied: user.is_some(),
        shadow: false,
        input: r#"{"context":{},"user":{}}"#.into(),
        user_rules_version: Some(1),
        user_rules_digest: Some("ab".repeat(32)),
        group_rules_version: None,
        group_rules_digest: None,
        output: r#"{"organization":"acme-sales"}"#.into(),
        trace: "[]".into(),
        duration_us: 12,
        fuel: 3456,
        created_at,
    }
}

fn apply(user: UserRecord, groups: &[(&str, &[&str])], decision_id: &str) -> ApplyDecision {
    let decision = decision(&user.tenant_id, &user.realm_id, Some(&user.id), decision_id, user.updated_at);
    ApplyDecision {
        user,
        provider_groups: groups
            .iter()
            .map(|(name, orgs)| ProviderGroupMark {
                name: (*name).into(),
                organizations: orgs.iter().map(|o| (*o).into()).collect(),
            })
            .collect(),
        decision,
    }
}

async fn audit_log(store: &Store, tenant: &str) -> Vec<muster::store::AuditEvent> {
    store
        .list_audit(AuditFilter { tenant_id: tenant.into(), limit: 100_000, ..AuditFilter::default() })
        .await
        .expect("list audit")
}

fn actions(events: &[muster::store::AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

fn details(event: &muster::store::AuditEvent) -> serde_json::Value {
    serde_json::from_str(&event.details).expect("audit details are JSON")
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(matches!(result, Err(StoreError::NotFound(_))), "expected NotFound, got {result:?}");
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, mentions: &str) {
    match result {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains(mentions), "{message:?} should mention {mentions:?}")
        }
        other => panic!("expected Conflict mentioning {mentions:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Behaviours

async fn tenants_are_created_once(db: &TestDb) {
    let store = &db.store;
    tenant(store, "acme").await;
    let again = Tenant { id: "acme".into(), name: "Other".into(), decision_retention_days: None, created_at: T0 + 1 };
    assert_conflict(store.create_tenant(&again, &by("operator")).await, "acme");

    let found = store.get_tenant("acme").await.unwrap().expect("tenant stored");
    assert_eq!(found.name, "Tenant acme");
    assert_eq!(found.decision_retention_days, None);
    assert_eq!(store.get_tenant("nobody").await.unwrap(), None);
    tenant(store, "beta").await;
    let ids: Vec<String> = store.list_tenants().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["acme", "beta"]);

    store.set_decision_retention("acme", Some(30), &by("operator")).await.unwrap();
    assert_eq!(store.get_tenant("acme").await.unwrap().unwrap().decision_retention_days, Some(30));
    store.set_decision_retention("acme", None, &by("operator")).await.unwrap();
    assert_eq!(store.get_tenant("acme").await.unwrap().unwrap().decision_retention_days, None);
    assert!(matches!(
        store.set_decision_retention("acme", Some(0), &by("operator")).await,
        Err(StoreError::Invalid(_))
    ));
    assert_not_found(store.set_decision_retention("nobody", Some(3), &by("operator")).await);

    let log = audit_log(store, "acme").await;
    assert_eq!(actions(&log), ["tenant.created", "tenant.updated", "tenant.updated"]);
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(log[0].actor, "operator");
    assert_eq!(log[0].target, "acme");
    assert_eq!(details(&log[1])["decision_retention_days"], 30);
}

async fn keys_are_stored_found_and_revoked(db: &TestDb) {
    let store = &db.store;
    tenant(store, "acme").await;
    tenant(store, "beta").await;
    let admin = key("acme", "mk_admin1", KeyKind::Admin);
    let eval = key("acme", "mk_eval1", KeyKind::Evaluation);
    store.insert_key(&admin, &by("operator")).await.unwrap();
    store.insert_key(&eval, &by("mk_admin1")).await.unwrap();
    assert_conflict(store.insert_key(&key("beta", "mk_admin1", KeyKind::Admin), &by("operator")).await, "mk_admin1");
    assert_not_found(store.insert_key(&key("nobody", "mk_x", KeyKind::Admin), &by("operator")).await);

    assert_eq!(store.get_key("mk_admin1").await.unwrap(), Some(admin.clone()));
    assert_eq!(store.get_key("mk_eval1").await.unwrap(), Some(eval.clone()));
    assert_eq!(store.get_key("mk_missing").await.unwrap(), None);
    assert_eq!(store.list_keys("acme").await.unwrap().len(), 2);
    assert!(store.list_keys("beta").await.unwrap().is_empty());

    // Another tenant cannot revoke it.
    assert_not_found(store.revoke_key("beta", "mk_admin1", &by("operator")).await);
    assert_eq!(store.get_key("mk_admin1").await.unwrap().unwrap().revoked_at, None);
    assert_not_found(store.revoke_key("acme", "mk_missing", &by("operator")).await);

    store.revoke_key("acme", "mk_eval1", &at("mk_admin1", T0 + 5)).await.unwrap();
    assert_eq!(store.get_key("mk_eval1").await.unwrap().unwrap().revoked_at, Some(T0 + 5));
    // Revoking again changes nothing.
    store.revoke_key("acme", "mk_eval1", &at("mk_admin1", T0 + 9)).await.unwrap();
    assert_eq!(store.get_key("mk_eval1").await.unwrap().unwrap().revoked_at, Some(T0 + 5));

    let log = audit_log(store, "acme").await;
    assert_eq!(actions(&log), ["tenant.created", "key.created", "key.created", "key.revoked"]);
    assert_eq!(log[2].target, "mk_eval1");
    assert_eq!(log[2].actor, "mk_admin1");
    assert_eq!(details(&log[2])["kind"], "evaluation");
    for event in &log {
        assert!(!event.details.contains(&admin.secret_sha256) && !event.details.contains(&eval.secret_sha256));
        assert!(!event.details.contains("secret"), "no secret in {}", event.details);
    }
}

async fn organizations_and_realms(db: &TestDb) {
    let store = &db.store;
    tenant(store, "acme").await;
    let sales = Organization { id: "acme-sales".into(), name: "Sales".into() };
    store.save_organization("acme", &sales, &by("mk_admin")).await.unwrap();
    store
        .save_organization("acme", &Organization { id: "acme".into(), name: "Acme".into() }, &by("mk_admin"))
        .await
        .unwrap();
    store
        .save_organization(
            "acme",
            &Organization { id: "acme-sales".into(), name: "Sales EMEA".into() },
            &by("mk_admin"),
        )
        .await
        .unwrap();
    assert_eq!(store.get_organization("acme", "acme-sales").await.unwrap().unwrap().name, "Sales EMEA");
    assert_eq!(store.get_organization("acme", "nope").await.unwrap(), None);
    let ids: Vec<String> = store.list_organizations("acme").await.unwrap().into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["acme", "acme-sales"]);
    assert_not_found(store.save_organization("nobody", &sales, &by("mk_admin")).await);

    realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    assert_conflict(store.create_realm(&new_realm("acme", "entra"), &by("mk_admin")).await, "entra");
    assert_not_found(store.create_realm(&new_realm("nobody", "entra"), &by("mk_admin")).await);
    let mut with_version = new_realm("acme", "saml");
    with_version.user_rules_version = Some(1);
    assert!(matches!(store.create_realm(&with_version, &by("mk_admin")).await, Err(StoreError::Invalid(_))));

    assert_eq!(store.get_realm("acme", "entra").await.unwrap(), Some(new_realm("acme", "entra")));
    assert_eq!(store.get_realm("acme", "saml").await.unwrap(), None);
    let ids: Vec<String> = store.list_realms("acme").await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["entra", "okta"]);

    store.set_default_organization("acme", "entra", Some("acme".into()), &by("mk_admin")).await.unwrap();
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().default_organization.as_deref(), Some("acme"));
    store.set_default_organization("acme", "entra", None, &by("mk_admin")).await.unwrap();
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().default_organization, None);
    assert_not_found(store.set_default_organization("acme", "saml", None, &by("mk_admin")).await);

    let log = audit_log(store, "acme").await;
    assert_eq!(
        actions(&log),
        [
            "tenant.created",
            "organization.saved",
            "organization.saved",
            "organization.saved",
            "realm.created",
            "realm.created",
            "realm.updated",
            "realm.updated"
        ]
    );
    assert_eq!(log[3].target, "organization/acme-sales");
    assert_eq!(details(&log[3])["name"], "Sales EMEA");
    assert_eq!(log[6].target, "realm/entra");
    assert_eq!(details(&log[6])["default_organization"], "acme");
}

async fn module_versions_are_numbered_per_realm_and_kind(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    for n in 1..=3 {
        assert_eq!(upload(store, "acme", "entra", RuleKind::User, n).await, i64::from(n));
    }
    assert_eq!(upload(store, "acme", "entra", RuleKind::Group, 10).await, 1);
    assert_eq!(upload(store, "acme", "okta", RuleKind::User, 20).await, 1);

    let listed = store.list_module_versions("acme", "entra", RuleKind::User).await.unwrap();
    assert_eq!(listed.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2, 3]);
    let second = store.get_module_version("acme", "entra", RuleKind::User, 2).await.unwrap().expect("version 2");
    assert_eq!(second, listed[1]);
    assert_eq!(second.digest, hex::encode(Sha256::digest(wasm(2))));
    assert_eq!(second.size, wasm(2).len() as i64);
    assert_eq!(second.settings, r#"{"rules":[]}"#);
    assert_eq!(second.prepared_settings, [1, 2, 3, 0, 255]);
    assert_eq!((second.note.as_str(), second.created_by.as_str(), second.created_at), ("a note", "mk_uploader", T0));
    assert_eq!(store.get_module_version("acme", "entra", RuleKind::User, 4).await.unwrap(), None);
    assert_eq!(store.get_module_version("acme", "entra", RuleKind::Group, 2).await.unwrap(), None);

    let mut bad = module("acme", "entra", RuleKind::User, wasm(4));
    bad.digest = "00".repeat(32);
    assert!(matches!(store.insert_module_version(bad, &by("mk_admin")).await, Err(StoreError::Invalid(_))));
    assert_not_found(
        store.insert_module_version(module("acme", "saml", RuleKind::User, wasm(4)), &by("mk_admin")).await,
    );
    assert_not_found(
        store.insert_module_version(module("nobody", "entra", RuleKind::User, wasm(4)), &by("mk_admin")).await,
    );
    assert_eq!(store.list_module_versions("acme", "entra", RuleKind::User).await.unwrap().len(), 3);

    let log = audit_log(store, "acme").await;
    let uploads: Vec<_> = log.iter().filter(|e| e.action == "module.uploaded").collect();
    assert_eq!(uploads.len(), 5);
    assert_eq!(uploads[1].target, "realm/entra/user/2");
    assert_eq!(details(uploads[1])["digest"], second.digest);
    assert_eq!(details(uploads[1])["version"], 2);
}

async fn concurrent_uploads_get_distinct_versions(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let uploads: Vec<_> = (0..8u32)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_module_version(module("acme", "entra", RuleKind::User, wasm(n % 3)), &by("mk_admin"))
                    .await
                    .map(|v| v.version)
            })
        })
        .collect();
    let mut versions = Vec::new();
    for upload in uploads {
        versions.push(upload.await.expect("task").expect("concurrent upload succeeds"));
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<i64>>());
    let listed = store.list_module_versions("acme", "entra", RuleKind::User).await.unwrap();
    assert_eq!(listed.iter().map(|v| v.version).collect::<Vec<_>>(), (1..=8).collect::<Vec<i64>>());
}

async fn module_bytes_are_stored_once_per_digest(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    tenant_and_realm(store, "beta", "entra").await;
    upload(store, "acme", "entra", RuleKind::User, 1).await;
    upload(store, "acme", "entra", RuleKind::User, 1).await;
    upload(store, "acme", "entra", RuleKind::Group, 1).await;
    upload(store, "acme", "entra", RuleKind::User, 2).await;
    upload(store, "beta", "entra", RuleKind::User, 1).await;

    let mut raw = db.raw().await;
    let count =
        |tenant: &'static str| sqlx::query("SELECT COUNT(*) AS n FROM module_blobs WHERE tenant_id = $1").bind(tenant);
    let acme: i64 = count("acme").fetch_one(&mut raw).await.unwrap().get("n");
    let beta: i64 = count("beta").fetch_one(&mut raw).await.unwrap().get("n");
    assert_eq!((acme, beta), (2, 1), "one blob per (tenant, digest)");

    let digest = hex::encode(Sha256::digest(wasm(1)));
    assert_eq!(store.module_wasm("acme", &digest).await.unwrap(), Some(wasm(1)));
    assert_eq!(store.module_wasm("acme", &"00".repeat(32)).await.unwrap(), None);
    let versions = store.list_module_versions("acme", "entra", RuleKind::User).await.unwrap();
    assert_eq!(versions[0].digest, versions[1].digest);
    assert_ne!(versions[1].digest, versions[2].digest);
}

async fn activation_returns_the_previous_version(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    for n in 1..=2 {
        upload(store, "acme", "entra", RuleKind::User, n).await;
    }
    upload(store, "acme", "entra", RuleKind::Group, 9).await;

    assert_eq!(store.activate("acme", "entra", RuleKind::User, 1, &by("mk_admin")).await.unwrap(), None);
    assert_eq!(store.activate("acme", "entra", RuleKind::User, 2, &by("mk_admin")).await.unwrap(), Some(1));
    assert_eq!(store.activate("acme", "entra", RuleKind::Group, 1, &by("mk_admin")).await.unwrap(), None);
    let realm = store.get_realm("acme", "entra").await.unwrap().unwrap();
    assert_eq!((realm.user_rules_version, realm.group_rules_version), (Some(2), Some(1)));

    // Activating the active version changes nothing.
    let before = audit_log(store, "acme").await.len();
    assert_eq!(store.activate("acme", "entra", RuleKind::User, 2, &by("mk_admin")).await.unwrap(), Some(2));
    assert_eq!(audit_log(store, "acme").await.len(), before);

    assert_not_found(store.activate("acme", "entra", RuleKind::User, 3, &by("mk_admin")).await);
    assert_not_found(store.activate("acme", "entra", RuleKind::Group, 2, &by("mk_admin")).await);
    assert_not_found(store.activate("acme", "okta", RuleKind::User, 1, &by("mk_admin")).await);
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().user_rules_version, Some(2));

    let log = audit_log(store, "acme").await;
    let activations: Vec<_> = log.iter().filter(|e| e.action == "module.activated").collect();
    assert_eq!(activations.len(), 3);
    assert_eq!(activations[1].target, "realm/entra/user/2");
    assert_eq!(details(activations[1])["previous"], 1);
    assert_eq!(details(activations[0])["previous"], serde_json::Value::Null);
}

async fn rollback_walks_back_the_activation_history(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let a = by("mk_admin");
    for n in 1..=3 {
        upload(store, "acme", "entra", RuleKind::User, n).await;
    }
    upload(store, "acme", "entra", RuleKind::Group, 1).await;
    assert_conflict(store.rollback("acme", "entra", RuleKind::User, &a).await, "nothing to roll back to");
    store.activate("acme", "entra", RuleKind::User, 1, &a).await.unwrap();
    assert_conflict(store.rollback("acme", "entra", RuleKind::User, &a).await, "nothing to roll back to");

    store.activate("acme", "entra", RuleKind::User, 2, &a).await.unwrap();
    store.activate("acme", "entra", RuleKind::User, 3, &a).await.unwrap();
    store.activate("acme", "entra", RuleKind::Group, 1, &a).await.unwrap();
    assert_eq!(store.rollback("acme", "entra", RuleKind::User, &a).await.unwrap(), (Some(3), 2));
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().user_rules_version, Some(2));
    assert_eq!(store.rollback("acme", "entra", RuleKind::User, &a).await.unwrap(), (Some(2), 1));
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().user_rules_version, Some(1));
    assert_conflict(store.rollback("acme", "entra", RuleKind::User, &a).await, "nothing to roll back to");
    // The group rules have their own history.
    assert_conflict(store.rollback("acme", "entra", RuleKind::Group, &a).await, "nothing to roll back to");
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().group_rules_version, Some(1));

    // Activating after rolling back: a rollback returns to the version active before it.
    store.activate("acme", "entra", RuleKind::User, 3, &a).await.unwrap();
    assert_eq!(store.rollback("acme", "entra", RuleKind::User, &a).await.unwrap(), (Some(3), 1));
    assert_not_found(store.rollback("acme", "okta", RuleKind::User, &a).await);

    let log = audit_log(store, "acme").await;
    let rollbacks: Vec<_> = log.iter().filter(|e| e.action == "module.rolled_back").collect();
    assert_eq!(rollbacks.len(), 3);
    assert_eq!((details(rollbacks[0])["from"].clone(), details(rollbacks[0])["to"].clone()), (3.into(), 2.into()));
    assert_eq!(rollbacks[0].target, "realm/entra/user/2");
}

async fn shadow_versions_are_set_and_cleared(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    for n in 1..=2 {
        upload(store, "acme", "entra", RuleKind::User, n).await;
    }
    upload(store, "acme", "entra", RuleKind::Group, 5).await;
    store.activate("acme", "entra", RuleKind::User, 1, &by("mk_admin")).await.unwrap();
    store.set_shadow("acme", "entra", RuleKind::User, Some(2), &by("mk_admin")).await.unwrap();
    store.set_shadow("acme", "entra", RuleKind::Group, Some(1), &by("mk_admin")).await.unwrap();
    let realm = store.get_realm("acme", "entra").await.unwrap().unwrap();
    assert_eq!(
        (realm.user_rules_version, realm.shadow_user_rules_version, realm.shadow_group_rules_version),
        (Some(1), Some(2), Some(1))
    );
    assert_not_found(store.set_shadow("acme", "entra", RuleKind::User, Some(7), &by("mk_admin")).await);
    assert_not_found(store.set_shadow("acme", "okta", RuleKind::User, None, &by("mk_admin")).await);
    store.set_shadow("acme", "entra", RuleKind::User, None, &by("mk_admin")).await.unwrap();
    let realm = store.get_realm("acme", "entra").await.unwrap().unwrap();
    assert_eq!((realm.shadow_user_rules_version, realm.shadow_group_rules_version), (None, Some(1)));

    let log = audit_log(store, "acme").await;
    let shadows: Vec<_> = log.iter().filter(|e| e.action == "module.shadow_set").collect();
    assert_eq!(shadows.len(), 3);
    assert_eq!(shadows[0].target, "realm/entra/user/2");
    assert_eq!(details(shadows[2])["previous"], 2);
    assert_eq!(details(shadows[2])["version"], serde_json::Value::Null);
}

async fn apply_decision_writes_everything_or_nothing(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let alice = user("acme", "entra", "u1", "alice", Some("idp-alice"));
    let first = apply(alice.clone(), &[("sales-emea", &["acme-sales"]), ("all", &[])], "d1");
    store.apply_decision(first.clone(), &at("mk_eval", T0)).await.unwrap();

    assert_eq!(store.get_user("acme", "entra", "u1").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.find_user_by_name("acme", "entra", "alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.find_user_by_external_id("acme", "entra", "idp-alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(
        store.provider_group("acme", "entra", "sales-emea").await.unwrap(),
        Some(ProviderGroupMark { name: "sales-emea".into(), organizations: vec!["acme-sales".into()] })
    );
    let groups = store.list_provider_groups("acme", "entra").await.unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["all", "sales-emea"]);
    assert!(groups[0].organizations.is_empty());
    assert_eq!(store.get_decision("acme", "d1").await.unwrap(), Some(first.decision.clone()));
    let log = audit_log(store, "acme").await;
    let tail = &log[log.len() - 2..];
    assert_eq!(actions(tail), ["user.created", "decision.applied"]);
    assert_eq!(tail[1].seq, tail[0].seq + 1);
    assert_eq!((tail[0].target.as_str(), tail[0].actor.as_str()), ("u1", "mk_eval"));
    assert_eq!(details(&tail[1])["decision_id"], "d1");
    assert_eq!(details(&tail[1])["organization"], "acme-sales");

    // A second login: the user is updated (created_at kept), a group re-marked.
    let mut moved = alice.clone();
    moved.organization = Some("acme".into());
    moved.last_login_at = Some(T0 + 1000);
    moved.updated_at = T0 + 1000;
    moved.created_at = T0 + 1000;
    store.apply_decision(apply(moved.clone(), &[("all", &["acme"])], "d2"), &at("mk_eval", T0 + 1000)).await.unwrap();
    let stored = store.get_user("acme", "entra", "u1").await.unwrap().unwrap();
    assert_eq!(stored.organization.as_deref(), Some("acme"));
    assert_eq!((stored.created_at, stored.updated_at, stored.last_login_at), (T0, T0 + 1000, Some(T0 + 1000)));
    assert_eq!(store.provider_group("acme", "entra", "all").await.unwrap().unwrap().organizations, ["acme"]);
    assert_eq!(
        store.provider_group("acme", "entra", "sales-emea").await.unwrap().unwrap().organizations,
        ["acme-sales"]
    );
    let log = audit_log(store, "acme").await;
    let tail = &log[log.len() - 2..];
    assert_eq!(actions(tail), ["user.updated", "decision.applied"]);
    assert_eq!(details(&tail[0])["changed"], serde_json::json!(["organization"]));

    // A login that changes nothing but the login time: only decision.applied.
    let mut again = moved.clone();
    again.last_login_at = Some(T0 + 2000);
    again.updated_at = T0 + 2000;
    store.apply_decision(apply(again, &[], "d3"), &at("mk_eval", T0 + 2000)).await.unwrap();
    assert_eq!(actions(&audit_log(store, "acme").await).last(), Some(&"decision.applied"));
    assert_eq!(audit_log(store, "acme").await.len(), log.len() + 1);

    // A failing apply writes nothing: another user id with alice's user name.
    let before = audit_log(store, "acme").await;
    let impostor = user("acme", "entra", "u2", "alice", Some("idp-other"));
    let failing = apply(impostor, &[("new-group", &["acme"]), ("all", &["elsewhere"])], "d4");
    match store.apply_decision(failing, &at("mk_eval", T0 + 3000)).await {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains("alice") && message.contains("u1") && message.contains("u2"), "{message}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.get_decision("acme", "d4").await.unwrap(), None);
    assert_eq!(store.get_user("acme", "entra", "u2").await.unwrap(), None);
    assert_eq!(store.provider_group("acme", "entra", "new-group").await.unwrap(), None);
    assert_eq!(store.provider_group("acme", "entra", "all").await.unwrap().unwrap().organizations, ["acme"]);
    assert_eq!(audit_log(store, "acme").await, before);

    // A decision id that is taken fails the whole apply too, after the user write.
    let bob = user("acme", "entra", "u3", "bob", None);
    assert_conflict(store.apply_decision(apply(bob, &[("bobs", &[])], "d1"), &by("mk_eval")).await, "d1");
    assert_eq!(store.get_user("acme", "entra", "u3").await.unwrap(), None);
    assert_eq!(store.provider_group("acme", "entra", "bobs").await.unwrap(), None);
    assert_eq!(audit_log(store, "acme").await, before);

    // Inconsistent requests are refused; a missing realm is NotFound.
    let mut mismatched = apply(user("acme", "entra", "u4", "carol", None), &[], "d5");
    mismatched.decision.user_id = Some("u1".into());
    assert!(matches!(store.apply_decision(mismatched, &by("mk_eval")).await, Err(StoreError::Invalid(_))));
    assert_not_found(
        store.apply_decision(apply(user("acme", "okta", "u4", "carol", None), &[], "d5"), &by("mk_eval")).await,
    );
    assert_eq!(audit_log(store, "acme").await, before);
}

async fn external_ids_are_unique_per_realm(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    store
        .apply_decision(apply(user("acme", "entra", "u1", "alice", Some("idp-1")), &[], "d1"), &by("s"))
        .await
        .unwrap();
    // Users without an external id do not collide.
    store.apply_decision(apply(user("acme", "entra", "u2", "bob", None), &[], "d2"), &by("s")).await.unwrap();
    store.apply_decision(apply(user("acme", "entra", "u3", "carol", None), &[], "d3"), &by("s")).await.unwrap();
    // The same external id in another realm is another user.
    store.apply_decision(apply(user("acme", "okta", "u4", "alice", Some("idp-1")), &[], "d4"), &by("s")).await.unwrap();

    let taken =
        store.apply_decision(apply(user("acme", "entra", "u5", "dave", Some("idp-1")), &[], "d5"), &by("s")).await;
    match taken {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains("idp-1") && message.contains("u1") && message.contains("u5"), "{message}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    // Nor can an existing user take it.
    assert_conflict(
        store.apply_decision(apply(user("acme", "entra", "u2", "bob", Some("idp-1")), &[], "d6"), &by("s")).await,
        "idp-1",
    );
    assert_eq!(store.get_user("acme", "entra", "u2").await.unwrap().unwrap().external_id, None);
    assert_eq!(store.find_user_by_external_id("acme", "entra", "idp-1").await.unwrap().unwrap().id, "u1");
    assert_eq!(store.find_user_by_external_id("acme", "okta", "idp-1").await.unwrap().unwrap().id, "u4");
    assert_eq!(store.find_user_by_external_id("acme", "entra", "idp-9").await.unwrap(), None);
    assert_eq!(store.find_user_by_name("acme", "entra", "dave").await.unwrap(), None);

    // The database itself enforces it, whatever the store's checks.
    let mut raw = db.raw().await;
    let duplicate = sqlx::query(
        "INSERT INTO users (tenant_id, realm_id, id, user_name, external_id, attributes, provider_groups, status, \
         rule_groups, created_at, updated_at) VALUES ('acme', 'entra', 'u9', 'zed', 'idp-1', '{}', '[]', 'active', '[]', 0, 0)",
    )
    .execute(&mut raw)
    .await;
    assert!(duplicate.is_err(), "the unique index rejects a second external id");
}

async fn users_are_listed_in_pages(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    let mut ids = Vec::new();
    for n in 0..25 {
        let id = format!("user-{:03}", (n * 7) % 25);
        let u = user("acme", "entra", &id, &format!("name-{n}"), None);
        store.apply_decision(apply(u, &[], &format!("d{n}")), &by("s")).await.unwrap();
        ids.push(id);
    }
    store.apply_decision(apply(user("acme", "okta", "other", "x", None), &[], "dx"), &by("s")).await.unwrap();
    ids.sort();

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let page = store.list_users("acme", "entra", after.as_deref(), 10).await.unwrap();
        pages.push(page.len());
        if page.is_empty() {
            break;
        }
        after = page.last().map(|u| u.id.clone());
        seen.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(pages, [10, 10, 5, 0]);
    assert_eq!(seen, ids);
    assert!(store.list_users("acme", "entra", None, 0).await.unwrap().is_empty());
    assert!(store.list_users("acme", "entra", None, -1).await.unwrap().is_empty());
    assert_eq!(store.list_users("acme", "okta", None, 100).await.unwrap().len(), 1);
}

async fn decisions_are_filtered_and_paged_newest_first(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    store.apply_decision(apply(user("acme", "entra", "u1", "alice", None), &[], "applied-1"), &by("s")).await.unwrap();
    let mut expected = vec![decision("acme", "entra", Some("u1"), "applied-1", T0)];
    // Twelve more, several sharing a timestamp (the cursor must still be stable).
    for n in 0..12i64 {
        let mut d = decision(
            "acme",
            if n % 3 == 0 { "okta" } else { "entra" },
            None,
            &format!("dry-{n:02}"),
            T0 + 10 * (n / 2),
        );
        d.trigger = if n % 2 == 0 { "scim_update".into() } else { "login".into() };
        d.shadow = n % 4 == 1;
        store.insert_decision(&d).await.unwrap();
        expected.push(d);
    }
    assert_conflict(store.insert_decision(&expected[3]).await, "dry-02");
    assert_not_found(store.insert_decision(&decision("acme", "saml", None, "dry-x", T0)).await);

    let all = DecisionFilter { tenant_id: "acme".into(), limit: 1000, ..DecisionFilter::default() };
    let mut newest_first = expected.clone();
    newest_first.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    assert_eq!(store.list_decisions(all.clone()).await.unwrap(), newest_first);

    let ids = |found: Vec<DecisionRecord>| found.into_iter().map(|d| d.id).collect::<BTreeSet<_>>();
    let want = |keep: &dyn Fn(&DecisionRecord) -> bool| {
        expected.iter().filter(|d| keep(d)).map(|d| d.id.clone()).collect::<BTreeSet<_>>()
    };
    let okta = store.list_decisions(DecisionFilter { realm_id: Some("okta".into()), ..all.clone() }).await.unwrap();
    assert_eq!(ids(okta), want(&|d| d.realm_id == "okta"));
    let alice = store.list_decisions(DecisionFilter { user_id: Some("u1".into()), ..all.clone() }).await.unwrap();
    assert_eq!(ids(alice), BTreeSet::from(["applied-1".to_owned()]));
    let scim =
        store.list_decisions(DecisionFilter { trigger: Some("scim_update".into()), ..all.clone() }).await.unwrap();
    assert_eq!(ids(scim), want(&|d| d.trigger == "scim_update"));
    let shadow = store.list_decisions(DecisionFilter { shadow: Some(true), ..all.clone() }).await.unwrap();
    assert_eq!(ids(shadow), want(&|d| d.shadow));
    let live = store.list_decisions(DecisionFilter { shadow: Some(false), ..all.clone() }).await.unwrap();
    assert_eq!(ids(live), want(&|d| !d.shadow));
    let window = DecisionFilter { since: Some(T0 + 10), until: Some(T0 + 40), ..all.clone() };
    assert_eq!(
        ids(store.list_decisions(window).await.unwrap()),
        want(&|d| d.created_at >= T0 + 10 && d.created_at < T0 + 40)
    );
    let combined = DecisionFilter {
        realm_id: Some("entra".into()),
        trigger: Some("login".into()),
        shadow: Some(false),
        ..all.clone()
    };
    assert_eq!(
        ids(store.list_decisions(combined).await.unwrap()),
        want(&|d| d.realm_id == "entra" && d.trigger == "login" && !d.shadow)
    );

    // Pages of three, following the cursor, give everything once, newest first.
    let mut paged = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page =
            store.list_decisions(DecisionFilter { before_id: before.clone(), limit: 3, ..all.clone() }).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        before = page.last().map(|d| d.id.clone());
        paged.extend(page);
    }
    assert_eq!(paged, newest_first);
    // With a filter too.
    let entra = DecisionFilter { realm_id: Some("entra".into()), limit: 2, ..all.clone() };
    let first = store.list_decisions(entra.clone()).await.unwrap();
    let second = store.list_decisions(DecisionFilter { before_id: Some(first[1].id.clone()), ..entra }).await.unwrap();
    let entra_newest: Vec<_> = newest_first.iter().filter(|d| d.realm_id == "entra").cloned().collect();
    assert_eq!([first, second].concat(), entra_newest[..4]);
    assert_not_found(store.list_decisions(DecisionFilter { before_id: Some("nope".into()), ..all.clone() }).await);

    // Purge: strictly older than the cutoff.
    let cutoff = T0 + 30;
    let purged = store.purge_decisions_older_than("acme", cutoff).await.unwrap();
    assert_eq!(purged, expected.iter().filter(|d| d.created_at < cutoff).count() as u64);
    assert_eq!(ids(store.list_decisions(all.clone()).await.unwrap()), want(&|d| d.created_at >= cutoff));
    assert_eq!(store.purge_decisions_older_than("acme", cutoff).await.unwrap(), 0);
    assert_eq!(store.get_decision("acme", "applied-1").await.unwrap(), None);
}

async fn audit_seq_is_strictly_increasing_under_concurrent_writers(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    tenant(store, "beta").await;
    let writers: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let audit = at(&format!("writer-{n}"), T0 + n);
                match n % 6 {
                    0 => {
                        store
                            .save_organization(
                                "acme",
                                &Organization { id: format!("org-{n}"), name: "x".into() },
                                &audit,
                            )
                            .await
                    }
                    1 => store.insert_key(&key("acme", &format!("mk_{n}"), KeyKind::Admin), &audit).await,
                    2 => {
                        let u = user("acme", "entra", &format!("u{n}"), &format!("name{n}"), None);
                        store
                            .apply_decision(apply(u, &[("all", &["acme"]), ("sales", &[])], &format!("d{n}")), &audit)
                            .await
                    }
                    3 => {
                        store
                            .save_organization(
                                "beta",
                                &Organization { id: format!("org-{n}"), name: "x".into() },
                                &audit,
                            )
                            .await
                    }
                    4 => store.set_default_organization("acme", "entra", Some(format!("org-{n}")), &audit).await,
                    _ => {
                        let new = module("acme", "entra", RuleKind::User, wasm(n as u32));
                        store.insert_module_version(new, &audit).await.map(drop)
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("task").expect("concurrent write succeeds");
    }
    for tenant in ["acme", "beta"] {
        let log = audit_log(store, tenant).await;
        let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
        let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, expected, "{tenant}: strictly increasing, no gaps, no duplicates");
        let ids: BTreeSet<&str> = log.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), log.len(), "event ids are unique");
    }
    // acme: tenant + realm, 4 orgs, 4 keys, 3 × (user.created + decision.applied), 3 realm
    // updates, 3 uploads; beta: tenant + 3 orgs.
    assert_eq!(audit_log(store, "acme").await.len(), 2 + 4 + 4 + 6 + 3 + 3);
    assert_eq!(audit_log(store, "beta").await.len(), 1 + 3);
}

async fn audit_log_is_filtered(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    upload(store, "acme", "entra", RuleKind::User, 1).await;
    upload(store, "acme", "entra", RuleKind::User, 2).await;
    store.activate("acme", "entra", RuleKind::User, 1, &at("mk_b", T0 + 100)).await.unwrap();
    store.activate("acme", "entra", RuleKind::User, 2, &at("mk_b", T0 + 200)).await.unwrap();
    store.rollback("acme", "entra", RuleKind::User, &at("mk_c", T0 + 300)).await.unwrap();
    store
        .save_organization("acme", &Organization { id: "modules_x".into(), name: "x".into() }, &at("mk_c", T0 + 400))
        .await
        .unwrap();
    let base = AuditFilter { tenant_id: "acme".into(), limit: 100, ..AuditFilter::default() };
    let list = |filter: AuditFilter| async move { store.list_audit(filter).await.unwrap() };

    let modules = list(AuditFilter { action: Some("module.".into()), ..base.clone() }).await;
    assert_eq!(
        actions(&modules),
        ["module.uploaded", "module.uploaded", "module.activated", "module.activated", "module.rolled_back"]
    );
    let exact = list(AuditFilter { action: Some("module.activated".into()), ..base.clone() }).await;
    assert_eq!(exact.len(), 2);
    // A prefix is literal: `_` and `%` are not wildcards, and `module` without the dot is exact.
    assert!(list(AuditFilter { action: Some("module".into()), ..base.clone() }).await.is_empty());
    assert!(list(AuditFilter { action: Some("modul_.".into()), ..base.clone() }).await.is_empty());
    assert!(list(AuditFilter { action: Some("%.".into()), ..base.clone() }).await.is_empty());
    let by_c = list(AuditFilter { actor: Some("mk_c".into()), ..base.clone() }).await;
    assert_eq!(actions(&by_c), ["module.rolled_back", "organization.saved"]);
    let on_v2 = list(AuditFilter { target: Some("realm/entra/user/2".into()), ..base.clone() }).await;
    assert_eq!(actions(&on_v2), ["module.uploaded", "module.activated"]);
    let window = list(AuditFilter { since: Some(T0 + 100), until: Some(T0 + 300), ..base.clone() }).await;
    assert_eq!(actions(&window), ["module.activated", "module.activated"]);

    let everything = list(base.clone()).await;
    assert_eq!(everything.len(), 8);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = list(AuditFilter { after_seq: after, limit: 3, ..base.clone() }).await;
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| e.seq);
        paged.extend(page);
    }
    assert_eq!(paged, everything);
    assert!(list(AuditFilter { limit: 0, ..base.clone() }).await.is_empty());
}

async fn audit_rows_cannot_be_updated_or_deleted(db: &TestDb) {
    let store = &db.store;
    tenant(store, "acme").await;
    store.save_organization("acme", &Organization { id: "o".into(), name: "O".into() }, &by("mk_a")).await.unwrap();
    let before = audit_log(store, "acme").await;
    assert_eq!(before.len(), 2);

    let mut raw = db.raw().await;
    let update =
        sqlx::query("UPDATE audit_events SET actor = 'someone else' WHERE tenant_id = 'acme'").execute(&mut raw).await;
    let error = update.expect_err("the database rejects UPDATE on the audit log");
    assert!(error.to_string().contains("append-only"), "{error}");
    let delete = sqlx::query("DELETE FROM audit_events WHERE tenant_id = 'acme'").execute(&mut raw).await;
    let error = delete.expect_err("the database rejects DELETE on the audit log");
    assert!(error.to_string().contains("append-only"), "{error}");
    let delete_one = sqlx::query("DELETE FROM audit_events WHERE seq = 1").execute(&mut raw).await;
    assert!(delete_one.is_err());
    if db.backend() == "postgres" {
        let truncate = sqlx::query("TRUNCATE audit_events").execute(&mut raw).await;
        assert!(truncate.is_err(), "TRUNCATE is rejected too");
    }
    assert_eq!(audit_log(store, "acme").await, before);
}

async fn tenants_are_isolated(db: &TestDb) {
    let store = &db.store;
    // Tenant A has one of everything; tenant B has a realm of the same name.
    tenant_and_realm(store, "a", "entra").await;
    tenant_and_realm(store, "b", "entra").await;
    let a = by("mk_a");
    store.insert_key(&key("a", "mk_a", KeyKind::Admin), &a).await.unwrap();
    store.save_organization("a", &Organization { id: "org".into(), name: "Org".into() }, &a).await.unwrap();
    let version = upload(store, "a", "entra", RuleKind::User, 1).await;
    upload(store, "a", "entra", RuleKind::User, 2).await;
    store.activate("a", "entra", RuleKind::User, version, &a).await.unwrap();
    store.activate("a", "entra", RuleKind::User, 2, &a).await.unwrap();
    let alice = user("a", "entra", "u1", "alice", Some("idp-alice"));
    store.apply_decision(apply(alice, &[("g", &["org"])], "d1"), &a).await.unwrap();
    let digest = hex::encode(Sha256::digest(wasm(1)));
    let a_log = audit_log(store, "a").await;
    let b_log = audit_log(store, "b").await;

    // B sees none of it.
    assert_not_found(store.revoke_key("b", "mk_a", &by("mk_b")).await);
    assert!(store.list_keys("b").await.unwrap().is_empty());
    assert_eq!(store.get_organization("b", "org").await.unwrap(), None);
    assert!(store.list_organizations("b").await.unwrap().is_empty());
    assert_eq!(store.get_realm("b", "entra").await.unwrap().unwrap().user_rules_version, None);
    assert_eq!(store.get_module_version("b", "entra", RuleKind::User, version).await.unwrap(), None);
    assert!(store.list_module_versions("b", "entra", RuleKind::User).await.unwrap().is_empty());
    assert_eq!(store.module_wasm("b", &digest).await.unwrap(), None);
    assert_not_found(store.activate("b", "entra", RuleKind::User, version, &by("mk_b")).await);
    assert_conflict(store.rollback("b", "entra", RuleKind::User, &by("mk_b")).await, "nothing to roll back to");
    assert_not_found(store.set_shadow("b", "entra", RuleKind::User, Some(version), &by("mk_b")).await);
    assert_eq!(store.get_user("b", "entra", "u1").await.unwrap(), None);
    assert_eq!(store.find_user_by_name("b", "entra", "alice").await.unwrap(), None);
    assert_eq!(store.find_user_by_external_id("b", "entra", "idp-alice").await.unwrap(), None);
    assert!(store.list_users("b", "entra", None, 100).await.unwrap().is_empty());
    assert_eq!(store.provider_group("b", "entra", "g").await.unwrap(), None);
    assert!(store.list_provider_groups("b", "entra").await.unwrap().is_empty());
    assert_eq!(store.get_decision("b", "d1").await.unwrap(), None);
    let b_decisions = DecisionFilter { tenant_id: "b".into(), limit: 100, ..DecisionFilter::default() };
    assert!(store.list_decisions(b_decisions.clone()).await.unwrap().is_empty());
    assert_not_found(store.list_decisions(DecisionFilter { before_id: Some("d1".into()), ..b_decisions }).await);
    assert_eq!(store.purge_decisions_older_than("b", T0 + 1_000_000).await.unwrap(), 0);

    // Nor can B's writes reach A's rows: B's user with A's user id is another user.
    store
        .apply_decision(apply(user("b", "entra", "u1", "alice", Some("idp-alice")), &[("g", &[])], "d1"), &by("mk_b"))
        .await
        .unwrap();
    store.save_organization("b", &Organization { id: "org".into(), name: "B's".into() }, &by("mk_b")).await.unwrap();
    store.set_default_organization("b", "entra", Some("org".into()), &by("mk_b")).await.unwrap();
    // Writes against a tenant that does not exist are NotFound.
    assert_not_found(store.activate("c", "entra", RuleKind::User, version, &by("mk_c")).await);
    assert_not_found(store.set_default_organization("c", "entra", None, &by("mk_c")).await);

    // A is untouched.
    assert_eq!(store.get_key("mk_a").await.unwrap().unwrap().revoked_at, None);
    assert_eq!(store.get_organization("a", "org").await.unwrap().unwrap().name, "Org");
    assert_eq!(store.get_realm("a", "entra").await.unwrap().unwrap().default_organization, None);
    assert_eq!(store.get_realm("a", "entra").await.unwrap().unwrap().user_rules_version, Some(2));
    assert_eq!(store.get_user("a", "entra", "u1").await.unwrap().unwrap().tenant_id, "a");
    assert_eq!(store.provider_group("a", "entra", "g").await.unwrap().unwrap().organizations, ["org"]);
    assert_eq!(store.get_decision("a", "d1").await.unwrap().unwrap().tenant_id, "a");
    assert_eq!(store.get_decision("b", "d1").await.unwrap().unwrap().tenant_id, "b");
    assert_eq!(audit_log(store, "a").await, a_log);
    let b_after = audit_log(store, "b").await;
    assert_eq!(b_after[..b_log.len()], b_log[..]);
    assert!(b_after.iter().all(|e| e.tenant_id == "b"));
    assert!(a_log.iter().all(|e| e.tenant_id == "a"));
}

async fn data_survives_reopening(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    upload(store, "acme", "entra", RuleKind::User, 1).await;
    store.activate("acme", "entra", RuleKind::User, 1, &by("mk_a")).await.unwrap();
    store
        .apply_decision(apply(user("acme", "entra", "u1", "alice", None), &[("g", &["o"])], "d1"), &by("mk_a"))
        .await
        .unwrap();
    let log = audit_log(store, "acme").await;
    store.close().await;

    // Reopening runs the migrations again: a no-op on an up-to-date database.
    let reopened = db.reopen().await;
    assert_eq!(reopened.get_realm("acme", "entra").await.unwrap().unwrap().user_rules_version, Some(1));
    assert_eq!(reopened.module_wasm("acme", &hex::encode(Sha256::digest(wasm(1)))).await.unwrap(), Some(wasm(1)));
    assert_eq!(reopened.get_user("acme", "entra", "u1").await.unwrap().unwrap().user_name, "alice");
    assert_eq!(reopened.provider_group("acme", "entra", "g").await.unwrap().unwrap().organizations, ["o"]);
    assert!(reopened.get_decision("acme", "d1").await.unwrap().is_some());
    assert_eq!(audit_log(&reopened, "acme").await, log);
    // The sequence carries on where it was.
    reopened.save_organization("acme", &Organization { id: "o".into(), name: "O".into() }, &by("mk_a")).await.unwrap();
    assert_eq!(audit_log(&reopened, "acme").await.last().unwrap().seq, log.last().unwrap().seq + 1);

    if db.backend() == "sqlite" {
        let mut raw = db.raw().await;
        let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(&mut raw).await.unwrap().get(0);
        assert_eq!(mode, "wal");
    }
    reopened.close().await;
}
