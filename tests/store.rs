//! The storage layer's behaviour, written once and run against both backends: every behaviour
//! below is an `async fn(&TestDb)`, and `suite!` makes one test of it on a fresh SQLite file
//! (`sqlite::…`) and one on a fresh PostgreSQL database (`postgres::…`).
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;

use std::collections::{BTreeMap, BTreeSet};

use db::TestDb;
use muster_store::{
    ApiKey, ApplyDecision, Audit, AuditFilter, AuditNote, AutoRollback, AutomaticRollback, DecisionFilter,
    DecisionRecord, FailedEvaluation, FailingVersion, FailurePolicy, FailurePolicyApplied, FailurePolicyName,
    GroupMember, KeyKind, MembersChange, MembershipChange, MembershipSource, Millis, NewModuleVersion, Organization,
    ProviderGroupMark, Realm, RealmChange, RuleKind, ScimCredential, ScimGroup, ScimGroupChange, ScimToken, Session,
    Store, StoreError, Tenant, UserRecord, UserStatus,
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
    the_last_admin_key_cannot_be_revoked,
    concurrent_revocations_keep_one_admin_key,
    organizations_and_realms,
    module_versions_are_numbered_per_realm_and_kind,
    a_version_keeps_the_settings_schema_its_module_publishes,
    concurrent_uploads_get_distinct_versions,
    module_bytes_are_stored_once_per_digest,
    activation_returns_the_previous_version,
    rollback_walks_back_the_activation_history,
    shadow_versions_are_set_and_cleared,
    apply_decision_writes_everything_or_nothing,
    organizations_are_checked_when_a_decision_is_applied,
    a_realms_failure_policy_is_stored_changed_and_audited,
    a_realms_auto_rollback_is_stored_changed_and_audited,
    a_realms_membership_source_is_stored_changed_and_audited,
    under_claims_scim_writes_leave_the_lists_of_users_who_logged_in,
    a_login_reads_the_scim_groups_of_its_user_and_claims,
    a_failing_version_is_rolled_back_automatically_only_while_active,
    external_ids_are_unique_per_realm,
    users_are_listed_in_pages,
    decisions_are_filtered_and_paged_newest_first,
    audit_seq_is_strictly_increasing_under_concurrent_writers,
    concurrent_decisions_all_land_and_a_failing_one_fails_alone,
    audit_log_is_filtered,
    audit_rows_cannot_be_updated_or_deleted,
    tenants_are_isolated,
    data_survives_reopening,
    user_names_are_unique_ignoring_case,
    the_migration_keys_existing_user_names,
    user_versions_count_writes_and_guard_updates,
    deactivation_suspends_and_reactivation_restores,
    deleting_a_user_removes_it_with_its_sessions_and_memberships,
    scim_groups_are_created_found_renamed_and_deleted,
    scim_group_membership_is_idempotent_and_keeps_provider_groups_in_step,
    sessions_are_recorded_and_revoked,
    scim_credentials_are_rotated_and_revoked,
    a_credential_holds_a_bounded_number_of_live_tokens,
    scim_writes_are_tenant_isolated,
    concurrent_scim_writes_keep_provider_groups_in_step,
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
        scim_bearer_enabled: false,
        create_organizations: false,
        failure_policy: FailurePolicy::FailClosed,
        auto_rollback: None,
        membership_source: MembershipSource::Newest,
        limits: Default::default(),
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
        settings_schema: None,
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
        internal_groups: vec!["on-call".into()],
        status: UserStatus::Active,
        organization: Some("acme-sales".into()),
        rule_groups: vec!["managers".into()],
        last_login_at: Some(T0),
        created_at: T0,
        updated_at: T0,
        scim: None,
        version: 1,
        deactivated_at: None,
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
        shadow_of: None,
        differs: None,
        failure: None,
        failure_policy: None,
        limits: None,
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
        session: None,
        expected_version: None,
        extra_events: Vec::new(),
        // The fixtures name organizations freely; `organizations_are_checked_when_a_decision_is_applied`
        // holds the check itself.
        create_organizations: true,
    }
}

async fn audit_log(store: &Store, tenant: &str) -> Vec<muster_store::AuditEvent> {
    store
        .list_audit(AuditFilter { tenant_id: tenant.into(), limit: 100_000, ..AuditFilter::default() })
        .await
        .expect("list audit")
}

fn actions(events: &[muster_store::AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

fn details(event: &muster_store::AuditEvent) -> serde_json::Value {
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

async fn the_last_admin_key_cannot_be_revoked(db: &TestDb) {
    let store = &db.store;
    tenant(store, "acme").await;
    tenant(store, "beta").await;
    store.insert_key(&key("acme", "mk_admin1", KeyKind::Admin), &by("operator")).await.unwrap();
    store.insert_key(&key("acme", "mk_eval1", KeyKind::Evaluation), &by("mk_admin1")).await.unwrap();
    store.insert_key(&key("beta", "mk_beta", KeyKind::Admin), &by("operator")).await.unwrap();

    // The only admin key: refused, whoever asks, and nothing is written.
    let before = audit_log(store, "acme").await;
    assert_conflict(store.revoke_key("acme", "mk_admin1", &by("mk_admin1")).await, "last admin key");
    assert_eq!(store.get_key("mk_admin1").await.unwrap().unwrap().revoked_at, None);
    assert_eq!(audit_log(store, "acme").await, before);
    // Evaluation keys do not count as admin keys, and can still be revoked.
    store.revoke_key("acme", "mk_eval1", &by("mk_admin1")).await.unwrap();
    // Another tenant's admin key does not count either.
    assert_conflict(store.revoke_key("acme", "mk_admin1", &by("mk_admin1")).await, "create another admin key first");

    // With a second admin key, the first can go; then the second is the last.
    store.insert_key(&key("acme", "mk_admin2", KeyKind::Admin), &by("mk_admin1")).await.unwrap();
    store.revoke_key("acme", "mk_admin1", &at("mk_admin2", T0 + 5)).await.unwrap();
    assert_eq!(store.get_key("mk_admin1").await.unwrap().unwrap().revoked_at, Some(T0 + 5));
    assert_conflict(store.revoke_key("acme", "mk_admin2", &by("mk_admin2")).await, "mk_admin2");
    // A revoked admin key does not count as the other one; revoking it again still succeeds.
    store.revoke_key("acme", "mk_admin1", &at("mk_admin2", T0 + 9)).await.unwrap();
    assert_eq!(store.get_key("mk_admin1").await.unwrap().unwrap().revoked_at, Some(T0 + 5));
    // An unknown key is still NotFound, not Conflict.
    assert_not_found(store.revoke_key("acme", "mk_missing", &by("mk_admin2")).await);
    assert_not_found(store.revoke_key("acme", "mk_beta", &by("mk_admin2")).await);

    let log = audit_log(store, "acme").await;
    assert_eq!(
        actions(&log),
        ["tenant.created", "key.created", "key.created", "key.revoked", "key.created", "key.revoked"]
    );
    assert_eq!(log[5].target, "mk_admin1");
}

/// Two admin keys revoked at the same time: exactly one revocation succeeds, whatever the
/// interleaving, and the tenant keeps an admin key.
async fn concurrent_revocations_keep_one_admin_key(db: &TestDb) {
    let store = &db.store;
    for round in 0..10 {
        let t = format!("acme{round}");
        tenant(store, &t).await;
        let (a, b) = (format!("mk_a{round}"), format!("mk_b{round}"));
        store.insert_key(&key(&t, &a, KeyKind::Admin), &by("operator")).await.unwrap();
        store.insert_key(&key(&t, &b, KeyKind::Admin), &by("operator")).await.unwrap();
        let revoke = |id: &str, actor: &str| {
            let (store, t, id, actor) = (store.clone(), t.clone(), id.to_owned(), actor.to_owned());
            tokio::spawn(async move { store.revoke_key(&t, &id, &by(&actor)).await })
        };
        let (first, second) = tokio::join!(revoke(&a, &b), revoke(&b, &a));
        let results = [first.unwrap(), second.unwrap()];
        let succeeded = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(succeeded, 1, "round {round}: exactly one revocation succeeds: {results:?}");
        for result in results.into_iter().filter(Result::is_err) {
            assert_conflict(result, "last admin key");
        }
        let active = store.list_keys(&t).await.unwrap().into_iter().filter(|key| key.revoked_at.is_none()).count();
        assert_eq!(active, 1, "round {round}: the tenant keeps one admin key");
        assert_eq!(
            actions(&audit_log(store, &t).await),
            ["tenant.created", "key.created", "key.created", "key.revoked"]
        );
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

    store.update_realm("acme", "entra", &default_organization(Some("acme".into())), &by("mk_admin")).await.unwrap();
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().default_organization.as_deref(), Some("acme"));
    store.update_realm("acme", "entra", &default_organization(None), &by("mk_admin")).await.unwrap();
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().default_organization, None);
    assert_not_found(store.update_realm("acme", "saml", &default_organization(None), &by("mk_admin")).await);

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

async fn a_version_keeps_the_settings_schema_its_module_publishes(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let schema = r#"{"type":"object","properties":{"fallback":{"type":"string","x-muster-organization":true}}}"#;
    let mut published = module("acme", "entra", RuleKind::User, wasm(1));
    published.settings_schema = Some(schema.into());
    let stored = store.insert_module_version(published, &by("mk_admin")).await.unwrap();
    assert_eq!(stored.settings_schema.as_deref(), Some(schema));
    upload(store, "acme", "entra", RuleKind::User, 2).await;

    let listed = store.list_module_versions("acme", "entra", RuleKind::User).await.unwrap();
    assert_eq!(listed[0].settings_schema.as_deref(), Some(schema));
    assert_eq!(listed[1].settings_schema, None, "a module without a schema keeps none");
    assert_eq!(store.get_module_version("acme", "entra", RuleKind::User, 1).await.unwrap().unwrap(), stored);
    // Answers show the schema as a JSON object, and `null` when there is none.
    let answer = serde_json::to_value(&listed).unwrap();
    assert_eq!(answer[0]["settings_schema"]["properties"]["fallback"]["x-muster-organization"], true);
    assert_eq!(answer[1]["settings_schema"], serde_json::Value::Null);
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
    assert_conflict(
        store.rollback("acme", "entra", RuleKind::User, &a).await,
        "nothing to roll back to: no user rules version has been activated in realm \"entra\"",
    );
    store.activate("acme", "entra", RuleKind::User, 1, &a).await.unwrap();
    assert_conflict(
        store.rollback("acme", "entra", RuleKind::User, &a).await,
        "nothing to roll back to: user rules version 1 is the oldest entry of realm \"entra\"'s activation history \
         (no version was active before it)",
    );

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
    // 1 → 3 → rollback to 1: the next rollback's 409 says where 1 came from and how to go forward.
    let refused = store.rollback("acme", "entra", RuleKind::User, &a).await;
    assert_conflict(
        refused,
        "user rules version 1 is the oldest entry of realm \"entra\"'s activation history (no version was active \
         before it); it became active by rolling back from version 3, and a rollback never goes forward: activate \
         version 3 to return to it",
    );
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().user_rules_version, Some(1));
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

async fn organizations_are_checked_when_a_decision_is_applied(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    store
        .save_organization("acme", &Organization { id: "acme".into(), name: "Acme".into() }, &by("mk_a"))
        .await
        .unwrap();
    let before = audit_log(store, "acme").await;
    // The user's organization (acme-sales) and a group's (elsewhere) are unknown: refused, both
    // named, nothing written.
    let mut checked = apply(user("acme", "entra", "u1", "alice", None), &[("all", &["acme", "elsewhere"])], "d1");
    checked.create_organizations = false;
    match store.apply_decision(checked.clone(), &by("mk_eval")).await {
        Err(StoreError::UnknownOrganizations(names)) => assert_eq!(names, ["acme-sales", "elsewhere"]),
        other => panic!("expected UnknownOrganizations, got {other:?}"),
    }
    assert_eq!(store.get_user("acme", "entra", "u1").await.unwrap(), None);
    assert_eq!(store.get_decision("acme", "d1").await.unwrap(), None);
    assert_eq!(audit_log(store, "acme").await, before);

    // Known organizations pass.
    let mut known = apply(user("acme", "entra", "u2", "bob", None), &[("all", &["acme"])], "d2");
    known.user.organization = Some("acme".into());
    known.create_organizations = false;
    store.apply_decision(known, &by("mk_eval")).await.unwrap();

    // A realm that creates organizations on first use: created in the decision's transaction,
    // audited with the decision that named them, then known.
    checked.create_organizations = true;
    store.apply_decision(checked.clone(), &at("mk_eval", T0 + 1)).await.unwrap();
    let ids: Vec<String> = store.list_organizations("acme").await.unwrap().into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["acme", "acme-sales", "elsewhere"]);
    let log = audit_log(store, "acme").await;
    let created: Vec<_> = log.iter().filter(|e| e.action == "organization.created").collect();
    assert_eq!(
        created.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        ["organization/acme-sales", "organization/elsewhere"]
    );
    assert_eq!(details(created[0])["decision_id"], "d1");
    assert_eq!(created[0].actor, "mk_eval");
    let mut again = apply(user("acme", "entra", "u1", "alice", None), &[("all", &["elsewhere"])], "d3");
    again.create_organizations = false;
    again.user.last_login_at = Some(T0 + 2);
    store.apply_decision(again, &by("mk_eval")).await.unwrap();

    // The realm's setting is stored and audited.
    assert!(!store.get_realm("acme", "entra").await.unwrap().unwrap().create_organizations);
    store
        .update_realm(
            "acme",
            "entra",
            &RealmChange { create_organizations: Some(true), ..RealmChange::default() },
            &by("mk_a"),
        )
        .await
        .unwrap();
    assert!(store.get_realm("acme", "entra").await.unwrap().unwrap().create_organizations);
    let last = audit_log(store, "acme").await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), details(&last)["create_organizations"].clone()),
        ("realm.updated", serde_json::json!(true))
    );
    assert_not_found(
        store
            .update_realm(
                "acme",
                "saml",
                &RealmChange { create_organizations: Some(true), ..RealmChange::default() },
                &by("mk_a"),
            )
            .await,
    );
    // Both at once: one transaction, one audit entry naming both; nothing named: nothing written.
    let both = RealmChange {
        default_organization: Some(Some("acme".into())),
        create_organizations: Some(false),
        ..RealmChange::default()
    };
    store.update_realm("acme", "entra", &both, &by("mk_a")).await.unwrap();
    let entries = audit_log(store, "acme").await.len();
    store.update_realm("acme", "entra", &RealmChange::default(), &by("mk_a")).await.unwrap();
    let log = audit_log(store, "acme").await;
    assert_eq!(log.len(), entries, "the empty change wrote nothing");
    let last = log.last().unwrap();
    assert_eq!(
        (last.action.as_str(), details(last)),
        ("realm.updated", serde_json::json!({"default_organization": "acme", "create_organizations": false}))
    );
    let realm = store.get_realm("acme", "entra").await.unwrap().unwrap();
    assert_eq!((realm.default_organization.as_deref(), realm.create_organizations), (Some("acme"), false));
}

/// A realm fails closed until its failure policy is changed; each change is stored whole (a
/// fallback organization goes with its policy) and audited as one `realm.updated`; the stored
/// policy names only the policies there are.
async fn a_realms_failure_policy_is_stored_changed_and_audited(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().failure_policy, FailurePolicy::FailClosed);
    let fallback = FailurePolicy::FallbackOrganization { organization: "quarantine".into() };
    for policy in [fallback.clone(), FailurePolicy::LastDecision, FailurePolicy::FailClosed, fallback.clone()] {
        let change = RealmChange { failure_policy: Some(policy.clone()), ..RealmChange::default() };
        store.update_realm("acme", "entra", &change, &by("mk_a")).await.unwrap();
        assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().failure_policy, policy);
        let last = audit_log(store, "acme").await.pop().unwrap();
        assert_eq!(
            (last.action.as_str(), details(&last)),
            ("realm.updated", serde_json::json!({"failure_policy": policy}))
        );
    }
    let last = audit_log(store, "acme").await.pop().unwrap();
    assert_eq!(
        details(&last)["failure_policy"],
        serde_json::json!({"policy": "fallback_organization", "organization": "quarantine"})
    );

    let created = Realm { failure_policy: FailurePolicy::LastDecision, ..new_realm("acme", "okta") };
    store.create_realm(&created, &by("mk_a")).await.unwrap();
    assert_eq!(store.get_realm("acme", "okta").await.unwrap().unwrap().failure_policy, FailurePolicy::LastDecision);

    let mut raw = db.raw().await;
    let unknown =
        sqlx::query("UPDATE realms SET failure_policy = 'fail_open' WHERE tenant_id = 'acme' AND id = 'entra'")
            .execute(&mut raw)
            .await;
    assert!(unknown.is_err(), "the stored policy is one of the three");
}

/// A realm rolls nothing back by itself until asked; the setting is stored whole, turned off
/// with `None`, audited as one `realm.updated`, and the store refuses half a setting.
async fn a_realms_auto_rollback_is_stored_changed_and_audited(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().auto_rollback, None);
    let half = AutoRollback::new(0.5, 20).unwrap();
    for setting in [Some(half), Some(AutoRollback::new(1.0, 1).unwrap()), None, Some(half)] {
        let change = RealmChange { auto_rollback: Some(setting), ..RealmChange::default() };
        store.update_realm("acme", "entra", &change, &by("mk_a")).await.unwrap();
        assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().auto_rollback, setting);
        let last = audit_log(store, "acme").await.pop().unwrap();
        assert_eq!(
            (last.action.as_str(), details(&last)),
            ("realm.updated", serde_json::json!({"auto_rollback": setting}))
        );
    }
    assert_eq!(
        details(&audit_log(store, "acme").await.pop().unwrap())["auto_rollback"],
        serde_json::json!({"max_failure_rate": 0.5, "min_evaluations": 20})
    );
    let created = Realm { auto_rollback: Some(half), ..new_realm("acme", "okta") };
    store.create_realm(&created, &by("mk_a")).await.unwrap();
    assert_eq!(store.get_realm("acme", "okta").await.unwrap().unwrap().auto_rollback, Some(half));

    let mut raw = db.raw().await;
    for bad in [
        "UPDATE realms SET auto_rollback_min_evaluations = NULL WHERE tenant_id = 'acme' AND id = 'entra'",
        "UPDATE realms SET auto_rollback_max_failure_rate = 0 WHERE tenant_id = 'acme' AND id = 'entra'",
        "UPDATE realms SET auto_rollback_max_failure_rate = 1.5 WHERE tenant_id = 'acme' AND id = 'entra'",
        "UPDATE realms SET auto_rollback_min_evaluations = 0 WHERE tenant_id = 'acme' AND id = 'entra'",
    ] {
        assert!(sqlx::query(bad).execute(&mut raw).await.is_err(), "refused: {bad}");
    }
}

/// A realm's provider groups follow the newest word until its membership source is changed; each
/// change is stored and audited as one `realm.updated`; the store holds only the sources there are.
async fn a_realms_membership_source_is_stored_changed_and_audited(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().membership_source, MembershipSource::Newest);
    for source in [MembershipSource::Scim, MembershipSource::Claims, MembershipSource::Newest] {
        let change = RealmChange { membership_source: Some(source), ..RealmChange::default() };
        store.update_realm("acme", "entra", &change, &by("mk_a")).await.unwrap();
        assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().membership_source, source);
        let last = audit_log(store, "acme").await.pop().unwrap();
        assert_eq!(
            (last.action.as_str(), details(&last)),
            ("realm.updated", serde_json::json!({"membership_source": source.as_str()}))
        );
    }
    let created = Realm { membership_source: MembershipSource::Scim, ..new_realm("acme", "okta") };
    store.create_realm(&created, &by("mk_a")).await.unwrap();
    assert_eq!(store.get_realm("acme", "okta").await.unwrap().unwrap().membership_source, MembershipSource::Scim);
    let created_entry = audit_log(store, "acme").await.pop().unwrap();
    assert_eq!(details(&created_entry)["membership_source"], "scim");

    let mut raw = db.raw().await;
    let bad = "UPDATE realms SET membership_source = 'oldest' WHERE tenant_id = 'acme' AND id = 'entra'";
    assert!(sqlx::query(bad).execute(&mut raw).await.is_err(), "refused: {bad}");
}

/// With claims authoritative, a SCIM membership write (create with members, add, remove, rename,
/// delete) changes SCIM's member lists but not the provider groups of a user who has logged in,
/// and does not count them as concerned; a user who never logged in follows SCIM as before.
async fn under_claims_scim_writes_leave_the_lists_of_users_who_logged_in(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let change = RealmChange { membership_source: Some(MembershipSource::Claims), ..RealmChange::default() };
    store.update_realm("acme", "entra", &change, &by("mk_a")).await.unwrap();
    login(store, &user("acme", "entra", "u1", "alice", None), "d1", None).await;
    let never_logged_in =
        UserRecord { last_login_at: None, provider_groups: Vec::new(), ..user("acme", "entra", "u2", "bob", None) };
    login(store, &never_logged_in, "d2", None).await;
    let groups_of = |id: &'static str| async move { stored_user(store, "acme", "entra", id).await.provider_groups };
    let claimed = groups_of("u1").await;

    let scim = by("scim");
    let created = store
        .create_scim_group(&scim_group("acme", "entra", "g1", "Sales", None), &strings(&["u1", "u2"]), &scim)
        .await
        .unwrap();
    assert_eq!((created.members.added, created.concerned), (strings(&["u1", "u2"]), strings(&["u2"])));
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u1", "u2"], "SCIM's member list is SCIM's");
    assert_eq!((groups_of("u1").await, groups_of("u2").await), (claimed.clone(), strings(&["Sales"])));

    let rename = ScimGroupChange { display_name: Some("Sales EMEA".into()), ..ScimGroupChange::default() };
    let renamed = store.change_scim_group("acme", "entra", "g1", rename, &scim).await.unwrap();
    assert_eq!(renamed.concerned, ["u2"]);
    assert_eq!((groups_of("u1").await, groups_of("u2").await), (claimed.clone(), strings(&["Sales EMEA"])));

    let removed = edit_members(store, "acme", "entra", "g1", &[], &strings(&["u1"]), &scim).await.unwrap();
    assert_eq!(removed.removed, ["u1"]);
    assert_eq!(groups_of("u1").await, claimed, "a removal does not take a claimed group away");

    assert_eq!(store.delete_scim_group("acme", "entra", "g1", &scim).await.unwrap(), ["u2"]);
    assert_eq!((groups_of("u1").await, groups_of("u2").await), (claimed, Vec::<String>::new()));
}

/// What a login under SCIM authority reads: the SCIM groups its user is a member of, by name
/// ignoring case, and which claimed names are SCIM groups' (ignoring case, as claimed).
async fn a_login_reads_the_scim_groups_of_its_user_and_claims(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    login(store, &user("acme", "entra", "u1", "alice", None), "d1", None).await;
    let scim = by("scim");
    store.create_scim_group(&scim_group("acme", "entra", "g1", "sales", None), &strings(&["u1"]), &scim).await.unwrap();
    store
        .create_scim_group(&scim_group("acme", "entra", "g2", "Admins", None), &strings(&["u1"]), &scim)
        .await
        .unwrap();
    store.create_scim_group(&scim_group("acme", "entra", "g3", "Ops", None), &[], &scim).await.unwrap();
    store.create_scim_group(&scim_group("acme", "okta", "g4", "Extra", None), &[], &scim).await.unwrap();
    let claimed = strings(&["OPS", "extra", "Sales", "all"]);
    let seen = store.scim_groups_of_login("acme", "entra", Some("u1"), &claimed).await.unwrap();
    assert_eq!(seen.member_of, ["Admins", "sales"]);
    assert_eq!(seen.managed, BTreeSet::from(["OPS".to_owned(), "Sales".to_owned()]), "another realm's group is not");
    let new_user = store.scim_groups_of_login("acme", "entra", None, &claimed).await.unwrap();
    assert_eq!((new_user.member_of.len(), new_user.managed.len()), (0, 2));
    let many: Vec<String> = (0..1200).map(|n| format!("g{n}")).chain(["ops".to_owned()]).collect();
    let chunked = store.scim_groups_of_login("acme", "entra", Some("u1"), &many).await.unwrap();
    assert_eq!(
        chunked.managed,
        BTreeSet::from(["ops".to_owned()]),
        "names past one statement's worth are looked up too"
    );
}

/// An automatic rollback is the admin rollback, audited with its evidence, done only while the
/// failing version is still active; with nothing to roll back to, it is audited and changes
/// nothing.
async fn a_failing_version_is_rolled_back_automatically_only_while_active(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let (a, system) = (by("mk_admin"), by("system"));
    for n in 1..=2 {
        upload(store, "acme", "entra", RuleKind::User, n).await;
    }
    let setting = AutoRollback::new(0.5, 4).unwrap();
    let failing = |version| FailingVersion { kind: RuleKind::User, version, evaluations: 4, failures: 3, setting };
    store.activate("acme", "entra", RuleKind::User, 1, &a).await.unwrap();
    let refused = store.rollback_failing("acme", "entra", &failing(1), &system).await.unwrap();
    assert!(
        matches!(&refused, AutomaticRollback::NothingToRollBackTo { reason } if reason.contains("nothing to roll back to"))
    );
    let log = audit_log(store, "acme").await;
    let last = log.last().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("module.automatic_rollback_impossible", "system"));
    assert_eq!((details(last)["from"].clone(), details(last)["failures"].clone()), (1.into(), 3.into()));

    store.activate("acme", "entra", RuleKind::User, 2, &a).await.unwrap();
    assert_eq!(
        store.rollback_failing("acme", "entra", &failing(2), &system).await.unwrap(),
        AutomaticRollback::RolledBack { to: 1 }
    );
    assert_eq!(store.get_realm("acme", "entra").await.unwrap().unwrap().user_rules_version, Some(1));
    let entries = audit_log(store, "acme").await;
    let last = entries.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.target.as_str()),
        ("module.rolled_back_automatically", "realm/entra/user/1")
    );
    assert_eq!(
        details(last),
        serde_json::json!({
            "realm_id": "entra", "kind": "user", "from": 2, "to": 1, "evaluations": 4, "failures": 3,
            "rate": 0.75, "max_failure_rate": 0.5, "min_evaluations": 4,
        })
    );
    // Version 2 is no longer active: a second attempt (another host's) does nothing.
    assert_eq!(
        store.rollback_failing("acme", "entra", &failing(2), &system).await.unwrap(),
        AutomaticRollback::NoLongerActive { active: Some(1) }
    );
    assert_eq!(audit_log(store, "acme").await.len(), entries.len(), "nothing audited");
    // It rolled back through the activation history, as the admin rollback does.
    store.activate("acme", "entra", RuleKind::User, 2, &a).await.unwrap();
    assert_eq!(store.rollback("acme", "entra", RuleKind::User, &a).await.unwrap(), (Some(2), 1));
    assert_not_found(store.rollback_failing("acme", "okta", &failing(2), &system).await);
}

/// A realm change setting (or, with `None`, clearing) only the default organization.
fn default_organization(organization: Option<String>) -> RealmChange {
    RealmChange { default_organization: Some(organization), ..RealmChange::default() }
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
        provider_group(db, "acme", "entra", "sales-emea").await,
        Some(ProviderGroupMark { name: "sales-emea".into(), organizations: vec!["acme-sales".into()] })
    );
    let groups = provider_groups(db, "acme", "entra").await;
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
    assert_eq!(provider_group(db, "acme", "entra", "all").await.unwrap().organizations, ["acme"]);
    assert_eq!(provider_group(db, "acme", "entra", "sales-emea").await.unwrap().organizations, ["acme-sales"]);
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
    assert_eq!(provider_group(db, "acme", "entra", "new-group").await, None);
    assert_eq!(provider_group(db, "acme", "entra", "all").await.unwrap().organizations, ["acme"]);
    assert_eq!(audit_log(store, "acme").await, before);

    // A decision id that is taken fails the whole apply too, after the user write.
    let bob = user("acme", "entra", "u3", "bob", None);
    assert_conflict(store.apply_decision(apply(bob, &[("bobs", &[])], "d1"), &by("mk_eval")).await, "d1");
    assert_eq!(store.get_user("acme", "entra", "u3").await.unwrap(), None);
    assert_eq!(provider_group(db, "acme", "entra", "bobs").await, None);
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
        "INSERT INTO users (tenant_id, realm_id, id, user_name, user_name_key, external_id, attributes, provider_groups, \
         status, rule_groups, created_at, updated_at) \
         VALUES ('acme', 'entra', 'u9', 'zed', 'zed', 'idp-1', '{}', '[]', 'active', '[]', 0, 0)",
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
        if n % 5 == 2 {
            d.output = "null".into();
            d.failure = Some(FailedEvaluation { kind: "trap".into(), message: format!("module trapped: {n}") });
            d.failure_policy = Some(FailurePolicyApplied {
                policy: FailurePolicyName::LastDecision,
                reason: "the user's previous decision stands".into(),
                organization: Some("acme-sales".into()),
                groups: vec![format!("group-{n}")],
            });
        }
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
    let failed = store.list_decisions(DecisionFilter { failed: Some(true), ..all.clone() }).await.unwrap();
    assert!(failed.iter().all(|d| d.failure.as_ref().is_some_and(|f| f.kind == "trap")), "the failure round-trips");
    assert!(
        failed.iter().all(|d| d.failure_policy.as_ref().is_some_and(|p| p.policy == FailurePolicyName::LastDecision)),
        "so does the failure policy that applied"
    );
    assert_eq!(ids(failed), want(&|d| d.failure.is_some()));
    let made = store.list_decisions(DecisionFilter { failed: Some(false), ..all.clone() }).await.unwrap();
    assert_eq!(ids(made), want(&|d| d.failure.is_none()));
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
                    4 => {
                        store
                            .update_realm("acme", "entra", &default_organization(Some(format!("org-{n}"))), &audit)
                            .await
                    }
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
    // updates, 3 uploads, 2 organizations created by a decision; beta: tenant + 3 orgs.
    // The first decision creates the organizations it names (acme, acme-sales).
    assert_eq!(audit_log(store, "acme").await.len(), 2 + 4 + 4 + 6 + 3 + 3 + 2);
    assert_eq!(audit_log(store, "beta").await.len(), 1 + 3);
}

/// Many decisions at once (on SQLite, group-committed): every good one lands, each failing one
/// (refused by the checks, or failing at its write) fails alone, later decisions of a user see the
/// earlier ones, and each tenant's audit seqs stay gapless and in commit order.
async fn concurrent_decisions_all_land_and_a_failing_one_fails_alone(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    tenant_and_realm(store, "beta", "okta").await;
    login(store, &user("acme", "entra", "holder", "holder", None), "d-taken", None).await;
    let tasks: Vec<_> = (0..60)
        .map(|n: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                let (tenant, realm) = if n % 2 == 0 { ("acme", "entra") } else { ("beta", "okta") };
                let (id, decision) = match n % 10 {
                    // Refused by the checks: the user name is another user's.
                    3 if tenant == "acme" => ("impostor".to_owned(), format!("d{n}")),
                    // Fails at its write: the decision id is taken.
                    4 => (format!("u{n}"), "d-taken".to_owned()),
                    // The same user, again and again.
                    5 | 6 => ("shared".to_owned(), format!("d{n}")),
                    _ => (format!("u{n}"), format!("d{n}")),
                };
                let name = if id == "impostor" { "HOLDER".to_owned() } else { id.clone() };
                let mut u = user(tenant, realm, &id, &name, None);
                u.updated_at = T0 + n;
                let marks: &[(&str, &[&str])] = &[("all-staff", &["acme"]), ("sales", &[])];
                let result = store.apply_decision(apply(u, marks, &decision), &at("mk_eval", T0 + n)).await;
                (n, tenant, decision, result)
            })
        })
        .collect();
    let mut landed = BTreeMap::<&str, Vec<String>>::new();
    let mut shared_logins = BTreeMap::<&str, i64>::new();
    for task in tasks {
        let (n, tenant, decision, result) = task.await.expect("task");
        match n % 10 {
            3 if tenant == "acme" => assert_conflict(result, "is already taken by user holder"),
            4 => assert_conflict(result, "d-taken"),
            _ => {
                result.unwrap_or_else(|e| panic!("decision {decision} should land: {e}"));
                if matches!(n % 10, 5 | 6) {
                    *shared_logins.entry(tenant).or_default() += 1;
                }
                landed.entry(tenant).or_default().push(decision);
            }
        }
    }
    for (tenant, realm) in [("acme", "entra"), ("beta", "okta")] {
        let log = audit_log(store, tenant).await;
        let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "{tenant}: gapless, in order");
        let mut applied: Vec<String> = log
            .iter()
            .filter(|e| e.action == "decision.applied")
            .map(|e| details(e)["decision_id"].as_str().expect("decision id").to_owned())
            .filter(|id| id != "d-taken")
            .collect();
        applied.sort();
        let mut expected = landed.remove(tenant).unwrap_or_default();
        expected.sort();
        assert_eq!(applied, expected, "{tenant}: exactly the decisions that landed are audited");
        for id in &expected {
            assert!(store.get_decision(tenant, id).await.unwrap().is_some(), "{tenant}: decision {id} stored");
        }
        // Each login of the shared user saw the one before: one version up each.
        let shared = stored_user(store, tenant, realm, "shared").await;
        assert_eq!(shared.version, shared_logins[tenant], "{tenant}: the shared user's version counts its logins");
        let created = actions(&log).iter().filter(|a| **a == "user.created").count();
        assert_eq!(created, user_count(store, tenant, realm).await, "{tenant}: one user.created per user");
        assert_eq!(
            provider_group(db, tenant, realm, "all-staff").await.unwrap().organizations,
            ["acme"],
            "{tenant}: the marks are stored"
        );
    }
    assert!(store.get_user("acme", "entra", "impostor").await.unwrap().is_none(), "a refused user is not stored");
    assert!(store.get_user("acme", "entra", "u4").await.unwrap().is_none(), "a failed write is rolled back");
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
    assert_eq!(provider_group(db, "b", "entra", "g").await, None);
    assert!(provider_groups(db, "b", "entra").await.is_empty());
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
    store.update_realm("b", "entra", &default_organization(Some("org".into())), &by("mk_b")).await.unwrap();
    // Writes against a tenant that does not exist are NotFound.
    assert_not_found(store.activate("c", "entra", RuleKind::User, version, &by("mk_c")).await);
    assert_not_found(store.update_realm("c", "entra", &default_organization(None), &by("mk_c")).await);

    // A is untouched.
    assert_eq!(store.get_key("mk_a").await.unwrap().unwrap().revoked_at, None);
    assert_eq!(store.get_organization("a", "org").await.unwrap().unwrap().name, "Org");
    assert_eq!(store.get_realm("a", "entra").await.unwrap().unwrap().default_organization, None);
    assert_eq!(store.get_realm("a", "entra").await.unwrap().unwrap().user_rules_version, Some(2));
    assert_eq!(store.get_user("a", "entra", "u1").await.unwrap().unwrap().tenant_id, "a");
    assert_eq!(provider_group(db, "a", "entra", "g").await.unwrap().organizations, ["org"]);
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
    assert_eq!(provider_group(db, "acme", "entra", "g").await.unwrap().organizations, ["o"]);
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

// ---------------------------------------------------------------------------------------------
// SCIM: user names and versions, deprovisioning, groups, sessions, credentials

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// A session of `user` for `token`, valid for an hour from `created_at`.
fn session(user: &UserRecord, token: &str, created_at: Millis) -> Session {
    Session {
        tenant_id: user.tenant_id.clone(),
        realm_id: user.realm_id.clone(),
        id: sha(token),
        user_id: user.id.clone(),
        created_at,
        expires_at: created_at + 3_600_000,
        revoked_at: None,
        revoked_reason: None,
    }
}

/// Stores `user` as a login would, with a session for `token` if given.
async fn login(store: &Store, user: &UserRecord, decision_id: &str, token: Option<&str>) {
    let mut login = apply(user.clone(), &[], decision_id);
    login.session = token.map(|token| session(user, token, user.updated_at));
    store.apply_decision(login, &at("mk_eval", user.updated_at)).await.expect("login");
}

fn scim_group(tenant: &str, realm: &str, id: &str, name: &str, external_id: Option<&str>) -> ScimGroup {
    ScimGroup {
        tenant_id: tenant.into(),
        realm_id: realm.into(),
        id: id.into(),
        display_name: name.into(),
        external_id: external_id.map(Into::into),
        version: 0,
        created_at: 0,
        updated_at: 0,
    }
}

async fn stored_user(store: &Store, tenant: &str, realm: &str, id: &str) -> UserRecord {
    store.get_user(tenant, realm, id).await.unwrap().expect("user stored")
}

async fn stored_group(store: &Store, tenant: &str, realm: &str, id: &str) -> ScimGroup {
    store.get_scim_group(tenant, realm, id).await.unwrap().expect("group stored")
}

/// The ids of the group's members that count.
async fn member_ids(store: &Store, tenant: &str, realm: &str, group: &str) -> Vec<String> {
    store.scim_group_members(tenant, realm, group).await.expect("members").into_iter().map(|m| m.user_id).collect()
}

/// Changes the group's members alone, as a SCIM `PATCH` of `members` does: `add` added, `remove`
/// removed.
async fn edit_members(
    store: &Store,
    tenant: &str,
    realm: &str,
    group: &str,
    add: &[String],
    remove: &[String],
    audit: &Audit,
) -> Result<MembershipChange, StoreError> {
    let members = MembersChange::Edit { add: add.to_vec(), remove: remove.to_vec() };
    let change = ScimGroupChange { members, ..ScimGroupChange::default() };
    Ok(store.change_scim_group(tenant, realm, group, change, audit).await?.members)
}

/// Adds `ids` to the group (members already in it stay as they are).
async fn add_members(
    store: &Store,
    tenant: &str,
    realm: &str,
    group: &str,
    ids: &[String],
    audit: &Audit,
) -> Result<MembershipChange, StoreError> {
    edit_members(store, tenant, realm, group, ids, &[], audit).await
}

/// Removes `ids` from the group (non-members are ignored).
async fn remove_members(
    store: &Store,
    tenant: &str,
    realm: &str,
    group: &str,
    ids: &[String],
    audit: &Audit,
) -> Result<MembershipChange, StoreError> {
    edit_members(store, tenant, realm, group, &[], ids, audit).await
}

/// Makes the group's members that count exactly `wanted`, as a SCIM `PUT` does: it sends the
/// difference from the members that count as an edit (so a deactivated member's suspended
/// membership stays).
async fn set_members(
    store: &Store,
    tenant: &str,
    realm: &str,
    group: &str,
    wanted: &[String],
    audit: &Audit,
) -> Result<MembershipChange, StoreError> {
    let current: BTreeSet<String> =
        store.scim_group_members(tenant, realm, group).await?.into_iter().map(|m| m.user_id).collect();
    let wanted: BTreeSet<String> = wanted.iter().cloned().collect();
    let add: Vec<String> = wanted.difference(&current).cloned().collect();
    let remove: Vec<String> = current.difference(&wanted).cloned().collect();
    edit_members(store, tenant, realm, group, &add, &remove, audit).await
}

/// Sets the group's display name and external id to `group`'s, its members as they are.
async fn update_group(
    store: &Store,
    group: &ScimGroup,
    expected_version: Option<i64>,
    audit: &Audit,
) -> Result<ScimGroup, StoreError> {
    let change = ScimGroupChange {
        display_name: Some(group.display_name.clone()),
        external_id: Some(group.external_id.clone()),
        members: MembersChange::Keep,
        expected_version,
    };
    Ok(store.change_scim_group(&group.tenant_id, &group.realm_id, &group.id, change, audit).await?.group)
}

/// The realm's provider groups and their marks, by name, as stored: the service writes them with
/// every applied decision and reads none back, so the suite reads them from the database.
async fn provider_groups(db: &TestDb, tenant: &str, realm: &str) -> Vec<ProviderGroupMark> {
    let mut raw = db.raw().await;
    let found = sqlx::query("SELECT name, organizations FROM provider_groups WHERE tenant_id = $1 AND realm_id = $2")
        .bind(tenant)
        .bind(realm)
        .fetch_all(&mut raw)
        .await
        .unwrap();
    let mut marks: Vec<ProviderGroupMark> = found
        .iter()
        .map(|row| ProviderGroupMark {
            name: row.get("name"),
            organizations: serde_json::from_str(row.get("organizations")).expect("organizations are JSON"),
        })
        .collect();
    marks.sort_by(|a, b| a.name.cmp(&b.name));
    marks
}

/// The realm's provider group with its marks, if one is stored.
async fn provider_group(db: &TestDb, tenant: &str, realm: &str, name: &str) -> Option<ProviderGroupMark> {
    provider_groups(db, tenant, realm).await.into_iter().find(|mark| mark.name == name)
}

/// How many users the realm has, deactivated ones included.
async fn user_count(store: &Store, tenant: &str, realm: &str) -> usize {
    store.list_users(tenant, realm, None, 100_000).await.unwrap().len()
}

/// How many SCIM groups the realm has.
async fn group_count(store: &Store, tenant: &str, realm: &str) -> usize {
    store.list_scim_groups(tenant, realm, None, 100_000).await.unwrap().len()
}

fn credential(tenant: &str, realm: &str, id: &str) -> ScimCredential {
    ScimCredential {
        id: id.into(),
        tenant_id: tenant.into(),
        realm_id: realm.into(),
        label: format!("Entra ({id})"),
        secret_sha256: sha(&format!("secret of {id}")),
        created_at: T0,
        rotated_at: None,
        revoked_at: None,
    }
}

/// Live tokens per credential where a test is not about the cap.
const LIVE: std::num::NonZeroU32 = std::num::NonZeroU32::new(100).unwrap();

fn token(credential: &ScimCredential, token: &str, expires_at: Millis) -> ScimToken {
    ScimToken {
        token_sha256: sha(token),
        tenant_id: credential.tenant_id.clone(),
        realm_id: credential.realm_id.clone(),
        credential_id: credential.id.clone(),
        issued_at: T0,
        expires_at,
    }
}

#[track_caller]
fn assert_not_found_naming<T: std::fmt::Debug>(result: Result<T, StoreError>, name: &str) {
    match result {
        Err(StoreError::NotFound(message)) => assert!(message.contains(name), "{message:?} should name {name:?}"),
        other => panic!("expected NotFound naming {name:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_version_mismatch<T: std::fmt::Debug>(result: Result<T, StoreError>, expected: i64, actual: i64) {
    match result {
        Err(StoreError::VersionMismatch { expected: e, actual: a, .. }) if (e, a) == (expected, actual) => {}
        other => panic!("expected VersionMismatch {{ expected: {expected}, actual: {actual} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(matches!(result, Err(StoreError::Invalid(_))), "expected Invalid, got {result:?}");
}

async fn user_names_are_unique_ignoring_case(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    login(store, &user("acme", "entra", "u1", "Alice@Example.com", Some("idp-1")), "d1", None).await;
    for spelling in ["alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"] {
        let found = store.find_user_by_name("acme", "entra", spelling).await.unwrap();
        assert_eq!(found.map(|u| u.id).as_deref(), Some("u1"), "{spelling}");
    }
    assert_eq!(store.find_user_by_name("acme", "okta", "alice@example.com").await.unwrap(), None);

    // Another user cannot take the name in another case; the error names the name taken.
    let before = audit_log(store, "acme").await;
    let other = apply(user("acme", "entra", "u2", "aLiCe@example.COM", None), &[("g", &[])], "d2");
    assert_conflict(store.apply_decision(other, &by("s")).await, "Alice@Example.com");
    assert_eq!(store.get_user("acme", "entra", "u2").await.unwrap(), None);
    assert_eq!(provider_group(db, "acme", "entra", "g").await, None);
    assert_eq!(audit_log(store, "acme").await, before);

    // Case folding is Unicode's (Rust's `to_lowercase`), not only ASCII's.
    login(store, &user("acme", "entra", "u3", "Ärger", None), "d3", None).await;
    let other = apply(user("acme", "entra", "u4", "äRGER", None), &[], "d4");
    assert_conflict(store.apply_decision(other, &by("s")).await, "Ärger");
    assert_eq!(store.find_user_by_name("acme", "entra", "ÄRGER").await.unwrap().unwrap().id, "u3");

    // The user itself may change the case of its name; another realm may have the name.
    let mut renamed = user("acme", "entra", "u1", "ALICE@example.com", Some("idp-1"));
    renamed.updated_at = T0 + 1;
    login(store, &renamed, "d5", None).await;
    let found = store.find_user_by_name("acme", "entra", "alice@EXAMPLE.com").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.user_name.as_str()), ("u1", "ALICE@example.com"));
    login(store, &user("acme", "okta", "u1", "alice@example.com", None), "d6", None).await;

    // The database enforces it too.
    let mut raw = db.raw().await;
    let duplicate = sqlx::query(
        "INSERT INTO users (tenant_id, realm_id, id, user_name, user_name_key, attributes, provider_groups, status, \
         rule_groups, created_at, updated_at) \
         VALUES ('acme', 'entra', 'u9', 'Alice@example.com', 'alice@example.com', '{}', '[]', 'active', '[]', 0, 0)",
    )
    .execute(&mut raw)
    .await;
    assert!(duplicate.is_err(), "the unique index rejects a second user name key");
}

/// A connection to an empty database (SQLite: a new file beside the test's; PostgreSQL: a new
/// schema of the test's database), for running migrations by hand.
async fn empty_database(db: &TestDb) -> sqlx::AnyConnection {
    use sqlx::Connection;
    match db.backend() {
        "sqlite" => {
            let url = db.url.replace("muster.db", "legacy.db");
            sqlx::AnyConnection::connect(&url).await.expect("connect to a new SQLite file")
        }
        _ => {
            let mut raw = db.raw().await;
            sqlx::raw_sql("CREATE SCHEMA legacy; SET search_path TO legacy").execute(&mut raw).await.unwrap();
            raw
        }
    }
}

async fn the_migration_keys_existing_user_names(db: &TestDb) {
    let mut raw = empty_database(db).await;
    let migration = |name: &str| {
        let path = format!("{}/store/migrations/{}/{name}.sql", env!("CARGO_MANIFEST_DIR"), db.backend());
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let run = |sql: String| sqlx::raw_sql(sqlx::AssertSqlSafe(sql));
    for name in ["0001_initial", "0002_shadow_results"] {
        run(migration(name)).execute(&mut raw).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // Before: user names unique as they are spelled; two differ only in case.
    run("INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', 0); \
         INSERT INTO realms (tenant_id, id, name, created_at) VALUES ('acme', 'entra', 'Entra', 0); \
         INSERT INTO realms (tenant_id, id, name, created_at) VALUES ('acme', 'okta', 'Okta', 0)"
        .to_owned())
    .execute(&mut raw)
    .await
    .unwrap();
    for (realm, id, name, status, created_at) in [
        ("entra", "u1", "Alice", "active", 10),
        ("entra", "u2", "alice", "active", 20),
        ("entra", "u0", "ALICE", "active", 20),
        ("entra", "u3", "Bob", "deactivated", 5),
        ("okta", "u1", "alice", "active", 30),
    ] {
        sqlx::query(
            "INSERT INTO users (tenant_id, realm_id, id, user_name, attributes, provider_groups, status, rule_groups, \
             created_at, updated_at) VALUES ('acme', $1, $2, $3, '{}', '[]', $4, '[]', $5, $6)",
        )
        .bind(realm)
        .bind(id)
        .bind(name)
        .bind(status)
        .bind(created_at)
        .bind(created_at + 1)
        .execute(&mut raw)
        .await
        .unwrap();
    }
    run(migration("0003_scim")).execute(&mut raw).await.expect("0003_scim");

    let found = sqlx::query(
        "SELECT realm_id, id, user_name_key, version, deactivated_at, scim FROM users ORDER BY realm_id, id",
    )
    .fetch_all(&mut raw)
    .await
    .unwrap();
    /// Realm, id, user-name key, version, deactivation time, SCIM resource.
    type Keyed = (String, String, String, i64, Option<i64>, Option<String>);
    let keys: Vec<Keyed> = found
        .iter()
        .map(|row| {
            (
                row.get("realm_id"),
                row.get("id"),
                row.get("user_name_key"),
                row.get("version"),
                row.get("deactivated_at"),
                row.get("scim"),
            )
        })
        .collect();
    let key = |realm: &str, id: &str, key: &str, deactivated_at: Option<i64>| {
        (realm.to_owned(), id.to_owned(), key.to_owned(), 1, deactivated_at, None)
    };
    assert_eq!(
        keys,
        [
            // The oldest keeps the plain key; the others get their id appended, and will meet a
            // Conflict when next written.
            key("entra", "u0", "alice\u{1}u0", None),
            key("entra", "u1", "alice", None),
            key("entra", "u2", "alice\u{1}u2", None),
            key("entra", "u3", "bob", Some(6)),
            key("okta", "u1", "alice", None),
        ]
    );
    let flag: i64 = sqlx::query("SELECT scim_bearer_enabled FROM realms WHERE id = 'entra'")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(flag, 0);
}

async fn user_versions_count_writes_and_guard_updates(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let mut alice = user("acme", "entra", "u1", "alice", Some("idp-1"));
    alice.version = 42; // The store keeps the version, whatever the caller says.
    alice.scim = Some(serde_json::json!({
        "name": { "givenName": "Alice", "familyName": "Liddell" },
        "emails": [{ "value": "alice@example.com", "type": "work", "primary": true }],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Sales" },
    }));
    store.apply_decision(apply(alice.clone(), &[], "d1"), &by("scim")).await.unwrap();
    let stored = stored_user(store, "acme", "entra", "u1").await;
    assert_eq!(stored.version, 1);
    assert_eq!(stored.scim, alice.scim);
    assert_eq!(stored.deactivated_at, None);

    // Every write of the row is one version up, a login that changes nothing else included.
    let mut again = stored.clone();
    again.last_login_at = Some(T0 + 1);
    again.updated_at = T0 + 1;
    store.apply_decision(apply(again.clone(), &[], "d2"), &by("mk_eval")).await.unwrap();
    assert_eq!(stored_user(store, "acme", "entra", "u1").await.version, 2);

    // A stale expected version writes nothing.
    let before = audit_log(store, "acme").await;
    let mut changed = again.clone();
    changed.display_name = Some("Alice L.".into());
    changed.updated_at = T0 + 2;
    let mut stale = apply(changed.clone(), &[("new-group", &[])], "d3");
    stale.expected_version = Some(1);
    assert_version_mismatch(store.apply_decision(stale, &by("scim")).await, 1, 2);
    assert_eq!(store.get_decision("acme", "d3").await.unwrap(), None);
    assert_eq!(provider_group(db, "acme", "entra", "new-group").await, None);
    assert_eq!(stored_user(store, "acme", "entra", "u1").await.version, 2);
    assert_eq!(audit_log(store, "acme").await, before);

    // The current one writes, with the caller's events before `decision.applied`.
    let mut current = apply(changed, &[], "d3");
    current.expected_version = Some(2);
    current.extra_events = vec![AuditNote {
        action: "scim.user.updated".into(),
        target: "u1".into(),
        details: serde_json::json!({ "changed": ["displayName"] }),
    }];
    store.apply_decision(current, &by("scim")).await.unwrap();
    let stored = stored_user(store, "acme", "entra", "u1").await;
    assert_eq!((stored.version, stored.display_name.as_deref()), (3, Some("Alice L.")));
    let log = audit_log(store, "acme").await;
    let tail = &log[before.len()..];
    assert_eq!(actions(tail), ["user.updated", "scim.user.updated", "decision.applied"]);
    assert_eq!(details(&tail[0])["changed"], serde_json::json!(["display_name"]));
    assert_eq!((tail[1].target.as_str(), tail[1].actor.as_str()), ("u1", "scim"));
    assert_eq!(details(&tail[1])["changed"], serde_json::json!(["displayName"]));
    assert_eq!(tail.iter().map(|e| e.seq - tail[0].seq).collect::<Vec<_>>(), [0, 1, 2]);

    // Events that go with no write.
    let note = AuditNote {
        action: "scim.request".into(),
        target: "realm/entra/scim".into(),
        details: serde_json::json!({ "method": "GET", "status": 200 }),
    };
    store.record_audit("acme", &at("sc_1", T0 + 3), vec![note.clone()]).await.unwrap();
    let last = audit_log(store, "acme").await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.target.as_str(), last.actor.as_str(), last.at),
        ("scim.request", "realm/entra/scim", "sc_1", T0 + 3)
    );
    assert_eq!(details(&last)["status"], 200);
    assert_not_found(store.record_audit("nobody", &by("sc_1"), vec![note]).await);

    // A change of the SCIM resource alone is a change.
    let mut rescim = stored.clone();
    rescim.scim = None;
    store.apply_decision(apply(rescim, &[], "d4"), &by("scim")).await.unwrap();
    let log = audit_log(store, "acme").await;
    assert_eq!(details(&log[log.len() - 2])["changed"], serde_json::json!(["scim"]));
    assert_eq!(stored_user(store, "acme", "entra", "u1").await.scim, None);

    // Requiring a version of a user that is not stored is NotFound.
    let mut ghost = apply(user("acme", "entra", "u9", "ghost", None), &[], "d5");
    ghost.expected_version = Some(1);
    assert_not_found_naming(store.apply_decision(ghost, &by("scim")).await, "u9");
    assert_eq!(store.get_user("acme", "entra", "u9").await.unwrap(), None);
    assert_eq!(user_count(store, "acme", "entra").await, 1);
}

async fn deactivation_suspends_and_reactivation_restores(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let alice = user("acme", "entra", "u1", "alice", Some("idp-1"));
    let bob = user("acme", "entra", "u2", "bob", Some("idp-2"));
    login(store, &alice, "d1", Some("alice-1")).await;
    let mut alice_later = alice.clone();
    alice_later.updated_at = T0 + 1;
    login(store, &alice_later, "d2", Some("alice-2")).await;
    login(store, &bob, "d3", Some("bob-1")).await;
    let scim = by("scim");
    store
        .create_scim_group(&scim_group("acme", "entra", "g1", "Sales", None), &strings(&["u1", "u2"]), &scim)
        .await
        .unwrap();
    store
        .create_scim_group(&scim_group("acme", "entra", "g2", "Admins", None), &strings(&["u1"]), &scim)
        .await
        .unwrap();
    let before = stored_user(store, "acme", "entra", "u1").await;
    assert_eq!(before.provider_groups, ["sales-emea", "all", "Sales", "Admins"]);
    let groups_before =
        [stored_group(store, "acme", "entra", "g1").await, stored_group(store, "acme", "entra", "g2").await];
    let seen = audit_log(store, "acme").await.len();

    let done = store
        .deactivate_user("acme", "entra", "u1", "scim: active=false", &at("scim", T0 + 100))
        .await
        .unwrap()
        .expect("alice was active");
    assert_eq!(done.revoked_sessions, 2);
    assert_eq!(done.suspended_groups, ["Admins", "Sales"]);
    assert_eq!(done.previous_organization.as_deref(), Some("acme-sales"));
    assert_eq!(done.previous_rule_groups, ["managers"]);
    let stored = stored_user(store, "acme", "entra", "u1").await;
    assert_eq!(done.user, stored);
    assert_eq!((stored.status, stored.deactivated_at), (UserStatus::Deactivated, Some(T0 + 100)));
    assert_eq!((stored.organization.as_ref(), stored.rule_groups.len()), (None, 0));
    assert_eq!((stored.version, stored.updated_at), (before.version + 1, T0 + 100));
    assert_eq!(stored.provider_groups, before.provider_groups, "what the IdP said is kept");

    // Each step audited, in the one transaction.
    let log = audit_log(store, "acme").await;
    let tail = &log[seen..];
    assert_eq!(actions(tail), ["user.deactivated", "user.groups_suspended", "user.sessions_revoked"]);
    assert!(tail.iter().all(|e| (e.target.as_str(), e.actor.as_str(), e.at) == ("u1", "scim", T0 + 100)));
    assert_eq!(details(&tail[0])["reason"], "scim: active=false");
    assert_eq!(details(&tail[1])["groups"], serde_json::json!(["Admins", "Sales"]));
    assert_eq!(details(&tail[1])["rule_groups"], serde_json::json!(["managers"]));
    assert_eq!(details(&tail[1])["organization"], "acme-sales");
    assert_eq!(details(&tail[2])["count"], 2);

    // Sessions revoked at once; bob's untouched.
    for token in ["alice-1", "alice-2"] {
        let revoked = store.get_session("acme", "entra", &sha(token)).await.unwrap().unwrap();
        assert_eq!(
            (revoked.revoked_at, revoked.revoked_reason.as_deref()),
            (Some(T0 + 100), Some("scim: active=false"))
        );
    }
    assert_eq!(store.get_session("acme", "entra", &sha("bob-1")).await.unwrap().unwrap().revoked_at, None);

    // A member of nothing: not in group member lists, its groups, or reports. The groups' own
    // records are unchanged.
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u2"]);
    assert!(member_ids(store, "acme", "entra", "g2").await.is_empty());
    assert!(store.user_scim_groups("acme", "entra", "u1").await.unwrap().is_empty());
    assert_eq!(stored_group(store, "acme", "entra", "g1").await, groups_before[0]);
    let organizations = store.organization_members("acme", "entra").await.unwrap();
    assert_eq!(organizations.len(), 1);
    assert_eq!(organizations[0].organization.as_deref(), Some("acme-sales"));
    assert_eq!(organizations[0].members.iter().map(|m| m.user_id.as_str()).collect::<Vec<_>>(), ["u2"]);
    let report = store.group_memberships_report("acme", "entra").await.unwrap();
    let scim_groups: Vec<(&str, Vec<&str>)> = report
        .scim_groups
        .iter()
        .map(|g| (g.group.display_name.as_str(), g.members.iter().map(|m| m.user_id.as_str()).collect()))
        .collect();
    assert_eq!(scim_groups, [("Admins", vec![]), ("Sales", vec!["u2"])]);
    let rule_groups: Vec<(&str, Vec<&str>)> = report
        .rule_groups
        .iter()
        .map(|g| (g.name.as_str(), g.members.iter().map(|m| m.user_id.as_str()).collect()))
        .collect();
    assert_eq!(rule_groups, [("managers", vec!["u2"])]);

    // Deactivating again changes nothing, and says so.
    let log = audit_log(store, "acme").await;
    assert_eq!(store.deactivate_user("acme", "entra", "u1", "again", &at("scim", T0 + 200)).await.unwrap(), None);
    assert_eq!(audit_log(store, "acme").await, log);
    assert_eq!(stored_user(store, "acme", "entra", "u1").await, stored);

    // An active user is deactivated only through deactivate_user (which revokes sessions).
    let mut bob_off = bob.clone();
    bob_off.status = UserStatus::Deactivated;
    bob_off.organization = None;
    bob_off.rule_groups = Vec::new();
    assert_invalid(store.apply_decision(apply(bob_off, &[], "d4"), &scim).await);
    // A deactivated user has no organization, no rule-based group, no new session.
    let mut with_session = apply(stored.clone(), &[], "d4");
    with_session.session = Some(session(&stored, "alice-3", T0 + 150));
    assert_invalid(store.apply_decision(with_session, &scim).await);
    let mut with_organization = stored.clone();
    with_organization.organization = Some("acme".into());
    assert_invalid(store.apply_decision(apply(with_organization, &[], "d4"), &scim).await);
    // A write based on a read from before the deactivation (a concurrent login) cannot undo it.
    let mut stale = alice_later.clone();
    stale.updated_at = T0 + 150;
    let mut stale_login = apply(stale, &[], "d4");
    stale_login.session = Some(session(&alice, "alice-3", T0 + 150));
    assert_conflict(store.apply_decision(stale_login, &by("mk_eval")).await, "deactivated");
    assert_eq!(store.get_session("acme", "entra", &sha("alice-3")).await.unwrap(), None);
    assert_eq!(audit_log(store, "acme").await, log);

    // While deactivated, SCIM may update the user as such, and change its memberships: kept,
    // suspended.
    let mut renamed = stored.clone();
    renamed.display_name = Some("Alice (on leave)".into());
    renamed.updated_at = T0 + 160;
    store.apply_decision(apply(renamed, &[], "d5"), &scim).await.unwrap();
    store
        .create_scim_group(&scim_group("acme", "entra", "g3", "Finance", None), &strings(&["u1", "u2"]), &scim)
        .await
        .unwrap();
    assert_eq!(member_ids(store, "acme", "entra", "g3").await, ["u2"]);
    let current = stored_user(store, "acme", "entra", "u1").await;
    assert_eq!((current.status, current.deactivated_at), (UserStatus::Deactivated, Some(T0 + 100)));
    assert_eq!(current.provider_groups, ["sales-emea", "all", "Sales", "Admins", "Finance"]);

    // Reactivation, with the version read: memberships restored exactly, and it is audited.
    let mut back = current.clone();
    back.status = UserStatus::Active;
    back.organization = Some("acme-sales".into());
    back.rule_groups = vec!["managers".into()];
    back.updated_at = T0 + 300;
    let mut reactivate = apply(back, &[], "d6");
    reactivate.expected_version = Some(current.version - 1);
    assert_version_mismatch(
        store.apply_decision(reactivate.clone(), &at("scim", T0 + 300)).await,
        current.version - 1,
        current.version,
    );
    reactivate.expected_version = Some(current.version);
    let seen = audit_log(store, "acme").await.len();
    store.apply_decision(reactivate, &at("scim", T0 + 300)).await.unwrap();
    let restored = stored_user(store, "acme", "entra", "u1").await;
    assert_eq!((restored.status, restored.deactivated_at), (UserStatus::Active, None));
    assert_eq!(restored.provider_groups, current.provider_groups);
    assert_eq!(restored.version, current.version + 1);
    let log = audit_log(store, "acme").await;
    assert_eq!(actions(&log[seen..]), ["user.updated", "user.reactivated", "decision.applied"]);
    assert_eq!(details(&log[seen + 1])["deactivated_at"], T0 + 100);
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u1", "u2"]);
    assert_eq!(member_ids(store, "acme", "entra", "g2").await, ["u1"]);
    assert_eq!(member_ids(store, "acme", "entra", "g3").await, ["u1", "u2"]);
    let names: Vec<String> =
        store.user_scim_groups("acme", "entra", "u1").await.unwrap().into_iter().map(|g| g.display_name).collect();
    assert_eq!(names, ["Admins", "Finance", "Sales"]);
    let report = store.group_memberships_report("acme", "entra").await.unwrap();
    assert_eq!(report.rule_groups[0].members.len(), 2);
    // Revoked sessions stay revoked.
    assert!(store.get_session("acme", "entra", &sha("alice-1")).await.unwrap().unwrap().revoked_at.is_some());
    assert_not_found(store.deactivate_user("acme", "entra", "u9", "gone", &scim).await);
}

async fn deleting_a_user_removes_it_with_its_sessions_and_memberships(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    login(store, &user("acme", "entra", "u1", "alice", Some("idp-1")), "d1", Some("alice-1")).await;
    login(store, &user("acme", "entra", "u2", "bob", None), "d2", Some("bob-1")).await;
    store
        .create_scim_group(&scim_group("acme", "entra", "g1", "Sales", None), &strings(&["u1", "u2"]), &by("scim"))
        .await
        .unwrap();
    let group = stored_group(store, "acme", "entra", "g1").await;

    store.delete_user("acme", "entra", "u1", &at("scim", T0 + 10)).await.unwrap();
    assert_eq!(store.get_user("acme", "entra", "u1").await.unwrap(), None);
    assert_eq!(store.find_user_by_name("acme", "entra", "alice").await.unwrap(), None);
    assert_eq!(store.get_session("acme", "entra", &sha("alice-1")).await.unwrap(), None);
    assert!(store.get_session("acme", "entra", &sha("bob-1")).await.unwrap().is_some());
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u2"]);
    assert_eq!(stored_group(store, "acme", "entra", "g1").await, group, "a group's version counts its own writes");
    assert!(store.get_decision("acme", "d1").await.unwrap().is_some(), "decisions stay, as history");
    let log = audit_log(store, "acme").await;
    let last = log.last().unwrap();
    assert_eq!((last.action.as_str(), last.target.as_str(), last.at), ("user.deleted", "u1", T0 + 10));
    assert_eq!(
        (details(last)["user_name"].clone(), details(last)["external_id"].clone()),
        ("alice".into(), "idp-1".into())
    );
    let mut raw = db.raw().await;
    for table in ["sessions", "scim_group_members"] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE user_id = 'u1'");
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut raw).await.unwrap().get("n");
        assert_eq!(n, 0, "{table}");
    }

    assert_not_found_naming(store.delete_user("acme", "entra", "u1", &by("scim")).await, "u1");
    assert_eq!(audit_log(store, "acme").await, log);
    // The user name and external id are free again.
    login(store, &user("acme", "entra", "u3", "Alice", Some("idp-1")), "d3", None).await;
}

async fn scim_groups_are_created_found_renamed_and_deleted(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    login(store, &user("acme", "entra", "u1", "alice", None), "d1", None).await;
    login(store, &user("acme", "entra", "u2", "Bob", None), "d2", None).await;
    let seen = audit_log(store, "acme").await.len();

    let created = store
        .create_scim_group(
            &scim_group("acme", "entra", "g1", "Sales", Some("ext-1")),
            &strings(&["u2", "u1", "u2"]),
            &at("scim", T0 + 5),
        )
        .await
        .unwrap();
    assert_eq!(
        (created.members.added.clone(), created.concerned.clone()),
        (strings(&["u1", "u2"]), strings(&["u1", "u2"]))
    );
    let created = created.group;
    assert_eq!((created.version, created.created_at, created.updated_at), (1, T0 + 5, T0 + 5));
    assert_eq!(stored_group(store, "acme", "entra", "g1").await, created);
    assert_eq!(store.find_scim_group_by_display_name("acme", "entra", "sALES").await.unwrap(), Some(created.clone()));
    assert_eq!(store.find_scim_group_by_external_id("acme", "entra", "ext-1").await.unwrap(), Some(created.clone()));
    assert_eq!(store.find_scim_group_by_external_id("acme", "entra", "ext-2").await.unwrap(), None);
    assert_eq!(store.find_scim_group_by_display_name("acme", "okta", "Sales").await.unwrap(), None);
    assert_eq!(
        store.scim_group_members("acme", "entra", "g1").await.unwrap(),
        [
            GroupMember { user_id: "u1".into(), user_name: "alice".into(), display_name: Some("User alice".into()) },
            GroupMember { user_id: "u2".into(), user_name: "Bob".into(), display_name: Some("User Bob".into()) },
        ]
    );
    let log = audit_log(store, "acme").await;
    assert_eq!(actions(&log[seen..]), ["scim.group.created", "scim.group.members_added"]);
    assert_eq!((log[seen].target.as_str(), details(&log[seen])["display_name"].clone()), ("g1", "Sales".into()));
    assert_eq!(details(&log[seen + 1])["users"], serde_json::json!(["u1", "u2"]));

    // Display names are unique ignoring case, external ids when present, ids always; the
    // messages name what is taken. Another realm may have them.
    let scim = by("scim");
    assert_conflict(
        store.create_scim_group(&scim_group("acme", "entra", "g2", "SALES", None), &[], &scim).await,
        "Sales",
    );
    assert_conflict(
        store.create_scim_group(&scim_group("acme", "entra", "g2", "Ops", Some("ext-1")), &[], &scim).await,
        "ext-1",
    );
    assert_conflict(store.create_scim_group(&scim_group("acme", "entra", "g1", "Third", None), &[], &scim).await, "g1");
    store.create_scim_group(&scim_group("acme", "okta", "g1", "Sales", Some("ext-1")), &[], &scim).await.unwrap();
    assert_not_found(store.create_scim_group(&scim_group("acme", "saml", "g2", "Ops", None), &[], &scim).await);

    // An unknown member is NotFound, naming it, and nothing is written.
    let log = audit_log(store, "acme").await;
    let alice = stored_user(store, "acme", "entra", "u1").await;
    let (ops, members) = (scim_group("acme", "entra", "g2", "Ops", None), strings(&["u1", "ghost"]));
    assert_not_found_naming(store.create_scim_group(&ops, &members, &scim).await, "ghost");
    assert_eq!(store.get_scim_group("acme", "entra", "g2").await.unwrap(), None);
    assert_eq!(stored_user(store, "acme", "entra", "u1").await, alice);
    assert_eq!(audit_log(store, "acme").await, log);

    // Pages and counts.
    store.create_scim_group(&scim_group("acme", "entra", "g2", "Ops", None), &[], &scim).await.unwrap();
    store.create_scim_group(&scim_group("acme", "entra", "g3", "Dev", None), &[], &scim).await.unwrap();
    let page = |after: Option<&'static str>| async move {
        let found = store.list_scim_groups("acme", "entra", after, 2).await.unwrap();
        found.into_iter().map(|g| g.id).collect::<Vec<_>>()
    };
    assert_eq!(page(None).await, ["g1", "g2"]);
    assert_eq!(page(Some("g2")).await, ["g3"]);
    assert!(page(Some("g3")).await.is_empty());
    assert_eq!(group_count(store, "acme", "entra").await, 3);
    assert_eq!(group_count(store, "acme", "okta").await, 1);

    // A rename: one version up, and the members' provider-group lists follow.
    let (alice, bob) =
        (stored_user(store, "acme", "entra", "u1").await, stored_user(store, "acme", "entra", "u2").await);
    let renamed = update_group(
        store,
        &ScimGroup { display_name: "Sales EMEA".into(), ..created.clone() },
        Some(1),
        &at("scim", T0 + 20),
    )
    .await
    .unwrap();
    assert_eq!(
        (renamed.display_name.as_str(), renamed.version, renamed.created_at, renamed.updated_at),
        ("Sales EMEA", 2, T0 + 5, T0 + 20)
    );
    assert_eq!(renamed.external_id.as_deref(), Some("ext-1"));
    assert_eq!(stored_group(store, "acme", "entra", "g1").await, renamed);
    assert_eq!(store.find_scim_group_by_display_name("acme", "entra", "Sales").await.unwrap(), None);
    assert_eq!(
        store.find_scim_group_by_display_name("acme", "entra", "sales emea").await.unwrap(),
        Some(renamed.clone())
    );
    let alice_now = stored_user(store, "acme", "entra", "u1").await;
    assert_eq!(alice_now.provider_groups, ["sales-emea", "all", "Sales EMEA"]);
    assert_eq!((alice_now.version, alice_now.updated_at), (alice.version + 1, T0 + 20));
    assert_eq!(stored_user(store, "acme", "entra", "u2").await.version, bob.version + 1);
    let last = audit_log(store, "acme").await.pop().unwrap();
    assert_eq!((last.action.as_str(), last.target.as_str()), ("scim.group.updated", "g1"));
    assert_eq!(details(&last)["changed"], serde_json::json!(["display_name"]));
    assert_eq!(details(&last)["previous_display_name"], "Sales");

    // A stale version, a taken name: refused. No change: nothing written.
    let log = audit_log(store, "acme").await;
    assert_version_mismatch(update_group(store, &created, Some(1), &scim).await, 1, 2);
    let taken = ScimGroup { display_name: "OPS".into(), ..renamed.clone() };
    assert_conflict(update_group(store, &taken, None, &scim).await, "Ops");
    assert_eq!(update_group(store, &renamed, Some(2), &scim).await.unwrap(), renamed);
    assert_eq!(audit_log(store, "acme").await, log);
    assert_eq!(stored_group(store, "acme", "entra", "g1").await, renamed);
    // Clearing the external id; changing only the case of the name.
    let cleared = ScimGroup { external_id: None, display_name: "SALES EMEA".into(), ..renamed.clone() };
    let cleared = update_group(store, &cleared, Some(2), &scim).await.unwrap();
    assert_eq!((cleared.version, cleared.external_id.as_deref()), (3, None));
    assert_eq!(store.find_scim_group_by_external_id("acme", "entra", "ext-1").await.unwrap(), None);
    assert_eq!(stored_user(store, "acme", "entra", "u1").await.provider_groups, ["sales-emea", "all", "SALES EMEA"]);

    // Deleting: memberships go, and the name leaves the members' lists; the former members are
    // handed back (their provider groups changed).
    let former = store.delete_scim_group("acme", "entra", "g1", &at("scim", T0 + 30)).await.unwrap();
    assert_eq!(former, ["u1", "u2"]);
    assert_eq!(store.get_scim_group("acme", "entra", "g1").await.unwrap(), None);
    assert_eq!(stored_user(store, "acme", "entra", "u1").await.provider_groups, ["sales-emea", "all"]);
    assert_eq!(stored_user(store, "acme", "entra", "u2").await.provider_groups, ["sales-emea", "all"]);
    assert!(store.user_scim_groups("acme", "entra", "u1").await.unwrap().is_empty());
    let last = audit_log(store, "acme").await.pop().unwrap();
    assert_eq!((last.action.as_str(), last.target.as_str()), ("scim.group.deleted", "g1"));
    assert_eq!(details(&last)["members"], serde_json::json!(["u1", "u2"]));
    assert_eq!(details(&last)["display_name"], "SALES EMEA");
    assert_not_found(store.delete_scim_group("acme", "entra", "g1", &scim).await);
    assert_not_found(store.scim_group_members("acme", "entra", "g1").await);
    let mut raw = db.raw().await;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM scim_group_members WHERE group_id = 'g1'")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 0);
    assert_eq!(group_count(store, "acme", "entra").await, 2);
    // The name is free again.
    store.create_scim_group(&scim_group("acme", "entra", "g4", "sales emea", Some("ext-1")), &[], &scim).await.unwrap();
}

async fn scim_group_membership_is_idempotent_and_keeps_provider_groups_in_step(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    for (id, name) in [("u1", "alice"), ("u2", "bob"), ("u3", "carol")] {
        login(store, &user("acme", "entra", id, name, None), &format!("d-{id}"), None).await;
    }
    let scim = by("scim");
    let version = |id: &'static str| async move { stored_user(store, "acme", "entra", id).await.version };
    let groups_of = |id: &'static str| async move { stored_user(store, "acme", "entra", id).await.provider_groups };
    store.create_scim_group(&scim_group("acme", "entra", "g1", "Engineering", None), &[], &scim).await.unwrap();
    let v1 = version("u1").await;

    let change = add_members(store, "acme", "entra", "g1", &strings(&["u2", "u1"]), &scim).await.unwrap();
    assert_eq!(change, MembershipChange { added: strings(&["u1", "u2"]), removed: vec![] });
    assert_eq!(stored_group(store, "acme", "entra", "g1").await.version, 2);
    assert_eq!(groups_of("u1").await, ["sales-emea", "all", "Engineering"]);
    assert_eq!(version("u1").await, v1 + 1);
    let last = audit_log(store, "acme").await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), details(&last)["users"].clone()),
        ("scim.group.members_added", serde_json::json!(["u1", "u2"]))
    );

    // Idempotent: adding members or removing non-members changes nothing, writes nothing.
    let log = audit_log(store, "acme").await;
    let none = MembershipChange::default();
    assert_eq!(add_members(store, "acme", "entra", "g1", &strings(&["u1"]), &scim).await.unwrap(), none);
    assert_eq!(remove_members(store, "acme", "entra", "g1", &strings(&["u3"]), &scim).await.unwrap(), none);
    assert_eq!(set_members(store, "acme", "entra", "g1", &strings(&["u2", "u1"]), &scim).await.unwrap(), none);
    assert_eq!(audit_log(store, "acme").await, log);
    assert_eq!(stored_group(store, "acme", "entra", "g1").await.version, 2);
    assert_eq!(version("u1").await, v1 + 1);

    let change = remove_members(store, "acme", "entra", "g1", &strings(&["u2", "u3"]), &scim).await.unwrap();
    assert_eq!(change, MembershipChange { added: vec![], removed: strings(&["u2"]) });
    assert_eq!(groups_of("u2").await, ["sales-emea", "all"]);
    let change = set_members(store, "acme", "entra", "g1", &strings(&["u3", "u2"]), &scim).await.unwrap();
    assert_eq!(change, MembershipChange { added: strings(&["u2", "u3"]), removed: strings(&["u1"]) });
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u2", "u3"]);
    assert_eq!(groups_of("u1").await, ["sales-emea", "all"]);
    assert_eq!(groups_of("u3").await, ["sales-emea", "all", "Engineering"]);
    assert_eq!(stored_group(store, "acme", "entra", "g1").await.version, 4);
    let log = audit_log(store, "acme").await;
    assert_eq!(
        actions(&log[log.len() - 3..]),
        ["scim.group.members_removed", "scim.group.members_added", "scim.group.members_removed"]
    );

    // An unknown user: NotFound naming it, nothing written.
    let alice = stored_user(store, "acme", "entra", "u1").await;
    assert_not_found_naming(
        add_members(store, "acme", "entra", "g1", &strings(&["u1", "ghost"]), &scim).await,
        "ghost",
    );
    assert_not_found_naming(set_members(store, "acme", "entra", "g1", &strings(&["ghost"]), &scim).await, "ghost");
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u2", "u3"]);
    assert_eq!(stored_user(store, "acme", "entra", "u1").await, alice);
    assert_eq!(stored_group(store, "acme", "entra", "g1").await.version, 4);
    assert_eq!(audit_log(store, "acme").await, log);

    // A group named like a provider group the user has from its login: one entry.
    store.create_scim_group(&scim_group("acme", "entra", "g2", "all", None), &strings(&["u1"]), &scim).await.unwrap();
    assert_eq!(groups_of("u1").await, ["sales-emea", "all"]);
    assert_eq!(version("u1").await, alice.version + 1, "its groups changed all the same");

    // Rename, add and remove at once, all or nothing.
    let change = ScimGroupChange {
        display_name: Some("Eng".into()),
        external_id: Some(Some("ext-eng".into())),
        members: MembersChange::Edit { add: strings(&["u1"]), remove: strings(&["u3"]) },
        expected_version: Some(4),
    };
    let changed = store.change_scim_group("acme", "entra", "g1", change, &at("scim", T0 + 40)).await.unwrap();
    assert_eq!(changed.members, MembershipChange { added: strings(&["u1"]), removed: strings(&["u3"]) });
    // Every user whose provider groups changed: added, removed, and (a rename) every member.
    assert_eq!(changed.concerned, ["u1", "u2", "u3"]);
    assert_eq!((changed.group.display_name.as_str(), changed.group.external_id.as_deref()), ("Eng", Some("ext-eng")));
    assert_eq!((changed.group.version, changed.group.updated_at), (5, T0 + 40));
    assert_eq!(groups_of("u1").await, ["sales-emea", "all", "Eng"]);
    assert_eq!(groups_of("u2").await, ["sales-emea", "all", "Eng"]);
    assert_eq!(groups_of("u3").await, ["sales-emea", "all"]);
    let log = audit_log(store, "acme").await;
    let tail = &log[log.len() - 3..];
    assert_eq!(actions(tail), ["scim.group.updated", "scim.group.members_added", "scim.group.members_removed"]);
    assert_eq!(details(&tail[0])["changed"], serde_json::json!(["display_name", "external_id"]));

    // Overlapping edits are the caller's bug; a failing change writes nothing.
    let overlap = ScimGroupChange {
        members: MembersChange::Edit { add: strings(&["u3"]), remove: strings(&["u3"]) },
        ..ScimGroupChange::default()
    };
    assert_invalid(store.change_scim_group("acme", "entra", "g1", overlap, &scim).await);
    store.create_scim_group(&scim_group("acme", "entra", "g3", "Ops", None), &[], &scim).await.unwrap();
    let log = audit_log(store, "acme").await;
    let failing = ScimGroupChange {
        display_name: Some("ops".into()),
        members: MembersChange::Edit { add: strings(&["u3"]), remove: vec![] },
        ..ScimGroupChange::default()
    };
    assert_conflict(store.change_scim_group("acme", "entra", "g1", failing, &scim).await, "Ops");
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u1", "u2"]);
    assert_eq!(stored_group(store, "acme", "entra", "g1").await, changed.group);
    assert_eq!(groups_of("u3").await, ["sales-emea", "all"]);
    assert_eq!(audit_log(store, "acme").await, log);
    assert_not_found(add_members(store, "acme", "entra", "g9", &strings(&["u1"]), &scim).await);

    // A login replaces the list with its claims; SCIM memberships are untouched by it.
    let mut relogin = stored_user(store, "acme", "entra", "u1").await;
    relogin.provider_groups = vec!["from-claims".into()];
    relogin.updated_at = T0 + 50;
    login(store, &relogin, "d-relogin", None).await;
    assert_eq!(groups_of("u1").await, ["from-claims"]);
    assert_eq!(member_ids(store, "acme", "entra", "g1").await, ["u1", "u2"]);
}

async fn sessions_are_recorded_and_revoked(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    let alice = user("acme", "entra", "u1", "alice", None);
    login(store, &alice, "d1", Some("token-1")).await;
    assert_eq!(
        store.get_session("acme", "entra", &sha("token-1")).await.unwrap(),
        Some(session(&alice, "token-1", T0))
    );
    assert_eq!(store.get_session("acme", "okta", &sha("token-1")).await.unwrap(), None);
    assert_eq!(store.get_session("acme", "entra", &sha("token-2")).await.unwrap(), None);
    let log = audit_log(store, "acme").await;
    assert!(log.iter().all(|e| !e.details.contains(&sha("token-1"))), "no session digest in the audit log");

    // A session must be the user's.
    let mut later = alice.clone();
    later.updated_at = T0 + 1;
    let mut wrong = apply(later.clone(), &[], "d2");
    wrong.session = Some(Session { user_id: "u2".into(), ..session(&alice, "token-2", T0 + 1) });
    assert_invalid(store.apply_decision(wrong, &by("mk_eval")).await);
    // A taken session id fails the whole login.
    let mut taken = apply(later.clone(), &[("new-group", &[])], "d2");
    taken.session = Some(session(&alice, "token-1", T0 + 1));
    assert_conflict(store.apply_decision(taken, &by("mk_eval")).await, "session");
    assert_eq!(store.get_decision("acme", "d2").await.unwrap(), None);
    assert_eq!(provider_group(db, "acme", "entra", "new-group").await, None);
    assert_eq!(audit_log(store, "acme").await, log);

    // Sessions are revoked with their user's deactivation: every one not revoked yet, with the
    // reason given.
    login(store, &later, "d2", Some("token-2")).await;
    let deactivate = |reason: &'static str, at_ms: Millis| async move {
        store.deactivate_user("acme", "entra", "u1", reason, &at("mk_admin", at_ms)).await.unwrap().expect("active")
    };
    assert_eq!(deactivate("admin sign-out", T0 + 50).await.revoked_sessions, 2);
    for token in ["token-1", "token-2"] {
        let revoked = store.get_session("acme", "entra", &sha(token)).await.unwrap().unwrap();
        assert_eq!((revoked.revoked_at, revoked.revoked_reason.as_deref()), (Some(T0 + 50), Some("admin sign-out")));
    }
    // Reactivated with a new session, then deactivated again: only the new session is revoked;
    // a revoked session keeps its revocation.
    let off = stored_user(store, "acme", "entra", "u1").await;
    let mut back = later.clone();
    back.updated_at = T0 + 55;
    let mut reactivate = apply(back.clone(), &[], "d3");
    reactivate.session = Some(session(&back, "token-3", T0 + 55));
    reactivate.expected_version = Some(off.version);
    store.apply_decision(reactivate, &at("mk_eval", T0 + 55)).await.unwrap();
    assert_eq!(deactivate("again", T0 + 60).await.revoked_sessions, 1);
    let first = store.get_session("acme", "entra", &sha("token-1")).await.unwrap().unwrap();
    assert_eq!(
        (first.revoked_at, first.revoked_reason.as_deref()),
        (Some(T0 + 50), Some("admin sign-out")),
        "revoked once"
    );
    let third = store.get_session("acme", "entra", &sha("token-3")).await.unwrap().unwrap();
    assert_eq!((third.revoked_at, third.revoked_reason.as_deref()), (Some(T0 + 60), Some("again")));
    // Audited each time, even when there was nothing to revoke: bob has no session.
    login(store, &user("acme", "entra", "u2", "bob", None), "d4", None).await;
    let bob_off = store.deactivate_user("acme", "entra", "u2", "x", &by("mk_admin")).await.unwrap().expect("active");
    assert_eq!(bob_off.revoked_sessions, 0);
    let log = audit_log(store, "acme").await;
    let revocations: Vec<_> = log.iter().filter(|e| e.action == "user.sessions_revoked").collect();
    assert_eq!(
        revocations.iter().map(|e| (e.target.as_str(), details(e)["count"].clone())).collect::<Vec<_>>(),
        [("u1", 2.into()), ("u1", 1.into()), ("u2", 0.into())]
    );
    let reasons: Vec<_> =
        log.iter().filter(|e| e.action == "user.deactivated").map(|e| details(e)["reason"].clone()).collect();
    assert_eq!(reasons, ["admin sign-out", "again", "x"]);
    assert_not_found_naming(store.deactivate_user("acme", "entra", "u9", "x", &by("mk_admin")).await, "u9");
    assert_not_found(store.deactivate_user("acme", "okta", "u1", "x", &by("mk_admin")).await);
}

async fn a_credential_holds_a_bounded_number_of_live_tokens(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let cred = credential("acme", "entra", "sc_1");
    store.insert_scim_credential(&cred, &by("mk_admin")).await.unwrap();
    let other = credential("acme", "entra", "sc_2");
    store.insert_scim_credential(&other, &by("mk_admin")).await.unwrap();
    let three = std::num::NonZeroU32::new(3).unwrap();
    let hour = T0 + 3_600_000;
    // An expired one is not counted (and left to the purge); the other credential's neither.
    store
        .insert_scim_token(&ScimToken { expires_at: T0 + 5, ..token(&cred, "old", T0 + 5) }, three, &by("sc_1"))
        .await
        .unwrap();
    store.insert_scim_token(&token(&other, "other", hour), three, &by("sc_2")).await.unwrap();
    for n in 1..=5 {
        let issued = ScimToken { issued_at: T0 + 10 * n, ..token(&cred, &format!("t{n}"), hour) };
        store.insert_scim_token(&issued, three, &by("sc_1")).await.unwrap();
    }
    let now = T0 + 100;
    let live: Vec<bool> = live_tokens(store, &["t1", "t2", "t3", "t4", "t5"], now).await;
    assert_eq!(live, [false, false, true, true, true], "the newest three stay");
    assert!(store.find_scim_token(&sha("other"), now).await.unwrap().is_some(), "another credential's token stays");
    let issued = audit_log(store, "acme").await;
    let last = issued.iter().rev().find(|entry| entry.action == "scim.token.issued").unwrap();
    let details: serde_json::Value = serde_json::from_str(&last.details).unwrap();
    assert_eq!(details["evicted"], 1, "{details}");
    // A new token is never the one evicted, even when it ties with the others.
    let one = std::num::NonZeroU32::new(1).unwrap();
    store
        .insert_scim_token(&ScimToken { issued_at: T0 + 50, ..token(&cred, "a-tie", hour) }, one, &by("sc_1"))
        .await
        .unwrap();
    assert_eq!(live_tokens(store, &["t5", "a-tie"], now).await, [false, true]);
}

async fn live_tokens(store: &Store, tokens: &[&str], now: Millis) -> Vec<bool> {
    let mut live = Vec::new();
    for token in tokens {
        live.push(store.find_scim_token(&sha(token), now).await.unwrap().is_some());
    }
    live
}

async fn scim_credentials_are_rotated_and_revoked(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    realm(store, "acme", "okta").await;
    let admin = by("mk_admin");
    let first = credential("acme", "entra", "sc_1");
    store.insert_scim_credential(&first, &admin).await.unwrap();
    assert_eq!(store.get_scim_credential("sc_1").await.unwrap(), Some(first.clone()));
    assert_eq!(store.get_scim_credential("sc_9").await.unwrap(), None);
    assert_eq!(store.list_scim_credentials("acme", "entra").await.unwrap(), std::slice::from_ref(&first));
    assert!(store.list_scim_credentials("acme", "okta").await.unwrap().is_empty());
    assert_conflict(store.insert_scim_credential(&credential("acme", "okta", "sc_1"), &admin).await, "sc_1");
    assert_not_found(store.insert_scim_credential(&credential("acme", "saml", "sc_2"), &admin).await);
    assert_not_found(store.insert_scim_credential(&credential("nobody", "entra", "sc_2"), &admin).await);

    // Tokens work until they expire.
    let hour = T0 + 3_600_000;
    let access = token(&first, "access-1", hour);
    store.insert_scim_token(&access, LIVE, &by("sc_1")).await.unwrap();
    assert_eq!(store.find_scim_token(&sha("access-1"), T0).await.unwrap(), Some(access.clone()));
    assert_eq!(store.find_scim_token(&sha("access-1"), hour - 1).await.unwrap(), Some(access.clone()));
    assert_eq!(store.find_scim_token(&sha("access-1"), hour).await.unwrap(), None);
    assert_eq!(store.find_scim_token(&sha("access-x"), T0).await.unwrap(), None);
    assert_conflict(store.insert_scim_token(&access, LIVE, &by("sc_1")).await, "token");
    let elsewhere = ScimToken { realm_id: "okta".into(), ..token(&first, "access-2", hour) };
    assert_not_found(store.insert_scim_token(&elsewhere, LIVE, &by("sc_1")).await);
    let unknown = ScimToken { credential_id: "sc_9".into(), ..token(&first, "access-2", hour) };
    assert_not_found(store.insert_scim_token(&unknown, LIVE, &by("sc_9")).await);

    // Rotation: same client id, new secret; tokens already issued keep working until they expire.
    store.rotate_scim_credential("acme", "entra", "sc_1", &sha("new secret"), &at("mk_admin", T0 + 10)).await.unwrap();
    let rotated = store.get_scim_credential("sc_1").await.unwrap().unwrap();
    assert_eq!((rotated.secret_sha256.clone(), rotated.rotated_at), (sha("new secret"), Some(T0 + 10)));
    assert_eq!(
        rotated,
        ScimCredential { secret_sha256: sha("new secret"), rotated_at: Some(T0 + 10), ..first.clone() }
    );
    assert!(store.find_scim_token(&sha("access-1"), T0 + 11).await.unwrap().is_some());
    assert_not_found(store.rotate_scim_credential("acme", "okta", "sc_1", &sha("x"), &admin).await);
    assert_not_found(store.rotate_scim_credential("acme", "entra", "sc_9", &sha("x"), &admin).await);

    // Revocation: its tokens stop working at once.
    store.revoke_scim_credential("acme", "entra", "sc_1", &at("mk_admin", T0 + 20)).await.unwrap();
    assert_eq!(store.get_scim_credential("sc_1").await.unwrap().unwrap().revoked_at, Some(T0 + 20));
    assert_eq!(store.find_scim_token(&sha("access-1"), T0 + 21).await.unwrap(), None);
    let log = audit_log(store, "acme").await;
    store.revoke_scim_credential("acme", "entra", "sc_1", &at("mk_admin", T0 + 30)).await.unwrap();
    assert_eq!(store.get_scim_credential("sc_1").await.unwrap().unwrap().revoked_at, Some(T0 + 20));
    assert_conflict(store.rotate_scim_credential("acme", "entra", "sc_1", &sha("y"), &admin).await, "revoked");
    assert_conflict(store.insert_scim_token(&token(&first, "access-3", hour), LIVE, &by("sc_1")).await, "revoked");
    assert_eq!(audit_log(store, "acme").await, log);
    assert_not_found(store.revoke_scim_credential("acme", "okta", "sc_1", &admin).await);

    // Purging expired tokens, in every tenant.
    let second = credential("acme", "entra", "sc_2");
    store.insert_scim_credential(&second, &admin).await.unwrap();
    store.insert_scim_token(&token(&second, "access-4", T0 + 100), LIVE, &by("sc_2")).await.unwrap();
    store.insert_scim_token(&token(&second, "access-5", T0 + 10_000), LIVE, &by("sc_2")).await.unwrap();
    assert_eq!(store.purge_expired_scim_tokens(T0 + 100).await.unwrap(), 1);
    assert!(store.find_scim_token(&sha("access-5"), T0 + 200).await.unwrap().is_some());
    assert_eq!(store.purge_expired_scim_tokens(hour).await.unwrap(), 2, "access-1 (revoked) and access-5");
    assert_eq!(store.purge_expired_scim_tokens(hour).await.unwrap(), 0);

    // Bearer tokens, per realm.
    assert!(!store.get_realm("acme", "entra").await.unwrap().unwrap().scim_bearer_enabled);
    store.set_scim_bearer_enabled("acme", "entra", true, &admin).await.unwrap();
    assert!(store.get_realm("acme", "entra").await.unwrap().unwrap().scim_bearer_enabled);
    assert!(!store.get_realm("acme", "okta").await.unwrap().unwrap().scim_bearer_enabled);
    let log = audit_log(store, "acme").await;
    store.set_scim_bearer_enabled("acme", "entra", true, &admin).await.unwrap();
    assert_eq!(audit_log(store, "acme").await, log, "setting the current value changes nothing");
    assert_not_found(store.set_scim_bearer_enabled("acme", "saml", true, &admin).await);
    store.set_scim_bearer_enabled("acme", "entra", false, &admin).await.unwrap();
    assert!(!store.get_realm("acme", "entra").await.unwrap().unwrap().scim_bearer_enabled);

    let log = audit_log(store, "acme").await;
    let scim: Vec<_> = log.iter().filter(|e| e.action.starts_with("scim.")).collect();
    assert_eq!(
        scim.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        [
            "scim.credential.created",
            "scim.token.issued",
            "scim.credential.rotated",
            "scim.credential.revoked",
            "scim.credential.created",
            "scim.token.issued",
            "scim.token.issued",
            "scim.bearer_set",
            "scim.bearer_set",
        ]
    );
    assert_eq!((scim[0].target.as_str(), details(scim[0])["label"].clone()), ("sc_1", "Entra (sc_1)".into()));
    assert_eq!(details(scim[7])["enabled"], true);
    let secrets = [
        first.secret_sha256.clone(),
        second.secret_sha256.clone(),
        sha("new secret"),
        sha("access-1"),
        sha("access-5"),
    ];
    for event in &log {
        assert!(secrets.iter().all(|secret| !event.details.contains(secret)), "no digest in {}", event.details);
    }
}

async fn scim_writes_are_tenant_isolated(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "a", "entra").await;
    tenant_and_realm(store, "b", "entra").await;
    let a = by("a-scim");
    login(store, &user("a", "entra", "u1", "alice", Some("idp-1")), "d1", Some("session-a")).await;
    let group = store
        .create_scim_group(&scim_group("a", "entra", "g1", "Sales", Some("ext-1")), &strings(&["u1"]), &a)
        .await
        .unwrap()
        .group;
    let credential_a = credential("a", "entra", "sc_a");
    store.insert_scim_credential(&credential_a, &a).await.unwrap();
    store.insert_scim_token(&token(&credential_a, "access-a", T0 + 1000), LIVE, &a).await.unwrap();
    let a_log = audit_log(store, "a").await;
    let alice = stored_user(store, "a", "entra", "u1").await;

    // B sees none of it, and none of B's writes reach it.
    let b = by("b-scim");
    assert_eq!(store.get_scim_group("b", "entra", "g1").await.unwrap(), None);
    assert_eq!(store.find_scim_group_by_display_name("b", "entra", "Sales").await.unwrap(), None);
    assert_eq!(store.find_scim_group_by_external_id("b", "entra", "ext-1").await.unwrap(), None);
    assert!(store.list_scim_groups("b", "entra", None, 100).await.unwrap().is_empty());
    assert_eq!(group_count(store, "b", "entra").await, 0);
    assert_eq!(user_count(store, "b", "entra").await, 0);
    assert_not_found(update_group(store, &ScimGroup { tenant_id: "b".into(), ..group.clone() }, None, &b).await);
    assert_not_found(set_members(store, "b", "entra", "g1", &[], &b).await);
    assert_not_found(add_members(store, "b", "entra", "g1", &strings(&["u1"]), &b).await);
    assert_not_found(remove_members(store, "b", "entra", "g1", &strings(&["u1"]), &b).await);
    assert_not_found(store.change_scim_group("b", "entra", "g1", ScimGroupChange::default(), &b).await);
    assert_not_found(store.delete_scim_group("b", "entra", "g1", &b).await);
    assert_not_found(store.scim_group_members("b", "entra", "g1").await);
    assert_not_found(store.user_scim_groups("b", "entra", "u1").await);
    assert_eq!(store.get_session("b", "entra", &sha("session-a")).await.unwrap(), None);
    assert_not_found(store.deactivate_user("b", "entra", "u1", "x", &b).await);
    assert_not_found(store.delete_user("b", "entra", "u1", &b).await);
    assert!(store.list_scim_credentials("b", "entra").await.unwrap().is_empty());
    assert_not_found(store.rotate_scim_credential("b", "entra", "sc_a", &sha("x"), &b).await);
    assert_not_found(store.revoke_scim_credential("b", "entra", "sc_a", &b).await);
    let stolen = ScimToken { tenant_id: "b".into(), ..token(&credential_a, "access-b", T0 + 1000) };
    assert_not_found(store.insert_scim_token(&stolen, LIVE, &b).await);
    assert!(store.organization_members("b", "entra").await.unwrap().is_empty());
    let report = store.group_memberships_report("b", "entra").await.unwrap();
    assert!(report.scim_groups.is_empty() && report.rule_groups.is_empty());
    // B's group cannot take A's user; with B's own members it may reuse A's ids and names.
    assert_not_found_naming(
        store.create_scim_group(&scim_group("b", "entra", "g1", "Sales", Some("ext-1")), &strings(&["u1"]), &b).await,
        "u1",
    );
    login(store, &user("b", "entra", "u1", "alice", Some("idp-1")), "d1", Some("session-a")).await;
    store
        .create_scim_group(&scim_group("b", "entra", "g1", "Sales", Some("ext-1")), &strings(&["u1"]), &b)
        .await
        .unwrap();
    store.deactivate_user("b", "entra", "u1", "x", &b).await.unwrap().expect("B's user deactivated");
    store.set_scim_bearer_enabled("b", "entra", true, &b).await.unwrap();
    store.delete_scim_group("b", "entra", "g1", &b).await.unwrap();
    store.delete_user("b", "entra", "u1", &b).await.unwrap();

    // A is untouched.
    assert_eq!(audit_log(store, "a").await, a_log);
    assert_eq!(stored_user(store, "a", "entra", "u1").await, alice);
    assert_eq!(stored_group(store, "a", "entra", "g1").await, group);
    assert_eq!(member_ids(store, "a", "entra", "g1").await, ["u1"]);
    assert_eq!(store.get_session("a", "entra", &sha("session-a")).await.unwrap().unwrap().revoked_at, None);
    assert_eq!(store.get_scim_credential("sc_a").await.unwrap(), Some(credential_a));
    assert_eq!(store.find_scim_token(&sha("access-a"), T0).await.unwrap().unwrap().tenant_id, "a");
    assert!(!store.get_realm("a", "entra").await.unwrap().unwrap().scim_bearer_enabled);
    assert!(audit_log(store, "b").await.iter().all(|e| e.tenant_id == "b"));
}

async fn concurrent_scim_writes_keep_provider_groups_in_step(db: &TestDb) {
    let store = &db.store;
    tenant_and_realm(store, "acme", "entra").await;
    let users: Vec<String> = (0..6).map(|n| format!("u{n}")).collect();
    for id in &users {
        login(store, &user("acme", "entra", id, &format!("name-{id}"), None), &format!("d-{id}"), Some(id)).await;
    }
    for (id, name) in [("g0", "Sales"), ("g1", "Ops"), ("g2", "Dev")] {
        store.create_scim_group(&scim_group("acme", "entra", id, name, None), &users[..3], &by("scim")).await.unwrap();
    }
    // Membership writes on overlapping users (adds, removes, a `PUT`'s diff), renames and
    // deactivations (which revoke sessions), all at once: none may fail (no deadlock, no lost
    // update).
    let writers: Vec<_> = (0..24usize)
        .map(|n| {
            let store = store.clone();
            let users = users.clone();
            tokio::spawn(async move {
                let audit = at(&format!("writer-{n}"), T0 + n as Millis);
                let group = format!("g{}", n % 3);
                let some: Vec<String> = users.iter().skip(n % 4).step_by(2).cloned().collect();
                match n % 6 {
                    0 => add_members(&store, "acme", "entra", &group, &some, &audit).await.map(drop),
                    1 => remove_members(&store, "acme", "entra", &group, &some, &audit).await.map(drop),
                    2 => set_members(&store, "acme", "entra", &group, &some, &audit).await.map(drop),
                    3 => {
                        let change = ScimGroupChange {
                            display_name: Some(format!("Group {n}")),
                            members: MembersChange::Edit { add: some, remove: vec![] },
                            ..ScimGroupChange::default()
                        };
                        store.change_scim_group("acme", "entra", &group, change, &audit).await.map(drop)
                    }
                    _ => store.deactivate_user("acme", "entra", &users[n % 6], "x", &audit).await.map(drop),
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("task").expect("concurrent SCIM write succeeds");
    }
    let log = audit_log(store, "acme").await;
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=log.len() as i64).collect::<Vec<_>>());

    // Every user's provider-group list names exactly the groups it is stored as a member of.
    let mut raw = db.raw().await;
    for id in &users {
        let found = sqlx::query(
            "SELECT g.display_name FROM scim_group_members m JOIN scim_groups g \
             ON g.tenant_id = m.tenant_id AND g.realm_id = m.realm_id AND g.id = m.group_id \
             WHERE m.tenant_id = 'acme' AND m.user_id = $1",
        )
        .bind(id.as_str())
        .fetch_all(&mut raw)
        .await
        .unwrap();
        let mut expected: Vec<String> = found.iter().map(|row| row.get("display_name")).collect();
        expected.sort();
        let stored = stored_user(store, "acme", "entra", id).await;
        let mut groups: Vec<String> =
            stored.provider_groups.into_iter().filter(|g| g != "sales-emea" && g != "all").collect();
        groups.sort();
        assert_eq!(groups, expected, "{id}");
    }
}
