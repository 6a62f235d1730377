//! Row decoding: one function per record, each checking what it reads. A value that does not
//! decode (wrong type, bad JSON, unknown enum spelling) is [`StoreError::Corrupt`], never a panic.
//!
//! The column lists are macros so they can be spliced into `concat!`-built static queries.

use serde::de::DeserializeOwned;
use sqlx::{Any, Decode, Row, Type, any::AnyRow};

use super::{
    Result, StoreError,
    model::{
        ApiKey, AuditEvent, AutoRollback, DecisionRecord, FailedEvaluation, FailurePolicy, FailurePolicyName,
        GroupMember, KeyKind, MembershipSource, ModuleVersion, Organization, Realm, RealmLimits, RuleKind,
        ScimCredential, ScimGroup, ScimToken, Session, Tenant, UserRecord, UserStatus,
    },
};

/// Columns of [`tenant`].
macro_rules! tenant_columns {
    () => {
        "id, name, decision_retention_days, created_at"
    };
}

/// Columns of [`api_key`].
macro_rules! key_columns {
    () => {
        "id, tenant_id, kind, label, secret_sha256, created_at, revoked_at"
    };
}

/// Columns of [`realm`].
macro_rules! realm_columns {
    () => {
        "tenant_id, id, name, default_organization, user_rules_version, group_rules_version, \
         shadow_user_rules_version, shadow_group_rules_version, scim_bearer_enabled, create_organizations, created_at, \
         failure_policy, fallback_organization, auto_rollback_max_failure_rate, auto_rollback_min_evaluations, \
         membership_source, limit_fuel, limit_timeout_ms, limit_max_memory_bytes"
    };
}

/// Columns of [`module_version`].
macro_rules! module_columns {
    () => {
        "tenant_id, realm_id, kind, version, digest, size, settings, prepared_settings, note, created_by, created_at, \
         settings_schema"
    };
}

/// Columns of [`user`].
macro_rules! user_columns {
    () => {
        "tenant_id, realm_id, id, user_name, external_id, email, display_name, attributes, provider_groups, status, \
         organization, rule_groups, last_login_at, created_at, updated_at, scim, version, deactivated_at, internal_groups"
    };
}

/// Columns of [`scim_group`].
macro_rules! scim_group_columns {
    () => {
        "tenant_id, realm_id, id, display_name, external_id, version, created_at, updated_at"
    };
}

/// Columns of [`session`].
macro_rules! session_columns {
    () => {
        "tenant_id, realm_id, id, user_id, created_at, expires_at, revoked_at, revoked_reason"
    };
}

/// Columns of [`scim_credential`].
macro_rules! scim_credential_columns {
    () => {
        "id, tenant_id, realm_id, label, secret_sha256, created_at, rotated_at, revoked_at"
    };
}

/// Columns of [`scim_token`].
macro_rules! scim_token_columns {
    () => {
        "token_sha256, tenant_id, realm_id, credential_id, issued_at, expires_at"
    };
}

/// Columns of [`decision`].
macro_rules! decision_columns {
    () => {
        "tenant_id, id, realm_id, user_id, trigger_kind, applied, shadow, input, user_rules_version, \
         user_rules_digest, group_rules_version, group_rules_digest, output, trace, duration_us, fuel, created_at, shadow_of, differs, error_kind, error_message, \
         failure_policy, limits"
    };
}

/// Columns of [`audit_event`].
macro_rules! audit_columns {
    () => {
        "tenant_id, seq, id, at, actor, action, target, details"
    };
}

pub(super) use {
    audit_columns, decision_columns, key_columns, module_columns, realm_columns, scim_credential_columns,
    scim_group_columns, scim_token_columns, session_columns, tenant_columns, user_columns,
};

/// Column `name` of `row`, decoded as `T`.
pub(super) fn get<'r, T>(row: &'r AnyRow, name: &str) -> Result<T>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get(name).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

/// A 0/1 flag column.
fn flag(row: &AnyRow, name: &str) -> Result<bool> {
    match get::<i64>(row, name)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt(format!("column {name}: {other} is not a flag (0 or 1)"))),
    }
}

/// A JSON text column.
pub(super) fn json<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<T> {
    let text: String = get(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column {name}: bad JSON: {e}")))
}

/// A nullable JSON text column.
fn optional_json<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<Option<T>> {
    let text: Option<String> = get(row, name)?;
    text.map(|text| {
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column {name}: bad JSON: {e}")))
    })
    .transpose()
}

/// A column holding an enum's stored spelling.
pub(super) fn spelled<T>(row: &AnyRow, name: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let text: String = get(row, name)?;
    parse(&text).ok_or_else(|| StoreError::Corrupt(format!("column {name}: unknown value {text:?}")))
}

/// JSON text of a value the store writes (collections of strings: cannot fail in practice).
pub(super) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("cannot encode JSON: {e}")))
}

/// A tenant.
pub(super) fn tenant(row: &AnyRow) -> Result<Tenant> {
    Ok(Tenant {
        id: get(row, "id")?,
        name: get(row, "name")?,
        decision_retention_days: get(row, "decision_retention_days")?,
        created_at: get(row, "created_at")?,
    })
}

/// An API key.
pub(super) fn api_key(row: &AnyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        kind: spelled(row, "kind", KeyKind::parse)?,
        label: get(row, "label")?,
        secret_sha256: get(row, "secret_sha256")?,
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// An organization.
pub(super) fn organization(row: &AnyRow) -> Result<Organization> {
    Ok(Organization { id: get(row, "id")?, name: get(row, "name")? })
}

/// A realm.
pub(super) fn realm(row: &AnyRow) -> Result<Realm> {
    Ok(Realm {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        default_organization: get(row, "default_organization")?,
        user_rules_version: get(row, "user_rules_version")?,
        group_rules_version: get(row, "group_rules_version")?,
        shadow_user_rules_version: get(row, "shadow_user_rules_version")?,
        shadow_group_rules_version: get(row, "shadow_group_rules_version")?,
        scim_bearer_enabled: flag(row, "scim_bearer_enabled")?,
        create_organizations: flag(row, "create_organizations")?,
        failure_policy: failure_policy(row)?,
        auto_rollback: auto_rollback(row)?,
        membership_source: spelled(row, "membership_source", MembershipSource::parse)?,
        limits: RealmLimits {
            fuel: positive(row, "limit_fuel")?,
            timeout_ms: positive(row, "limit_timeout_ms")?,
            max_memory_bytes: positive(row, "limit_max_memory_bytes")?,
        },
        created_at: get(row, "created_at")?,
    })
}

/// A nullable column of a positive count.
fn positive(row: &AnyRow, name: &str) -> Result<Option<u64>> {
    get::<Option<i64>>(row, name)?
        .map(|value| {
            u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("column {name}: {value} is negative")))
        })
        .transpose()
}

/// A realm's failure policy: its name and, for `fallback_organization` only, the organization.
fn failure_policy(row: &AnyRow) -> Result<FailurePolicy> {
    let name: String = get(row, "failure_policy")?;
    let organization: Option<String> = get(row, "fallback_organization")?;
    let detail = format!("failure_policy {name:?} with fallback_organization {organization:?}");
    FailurePolicyName::parse(&name)
        .and_then(|name| FailurePolicy::new(name, organization).ok())
        .ok_or_else(|| StoreError::Corrupt(detail))
}

/// A realm's automatic rollback: both columns, or neither (off).
fn auto_rollback(row: &AnyRow) -> Result<Option<AutoRollback>> {
    let rate: Option<f64> = get(row, "auto_rollback_max_failure_rate")?;
    let count: Option<i64> = get(row, "auto_rollback_min_evaluations")?;
    let corrupt = || StoreError::Corrupt(format!("auto_rollback with rate {rate:?} and min_evaluations {count:?}"));
    match (rate, count) {
        (None, None) => Ok(None),
        (Some(rate), Some(count)) => {
            let count = u32::try_from(count).map_err(|_| corrupt())?;
            AutoRollback::new(rate, count).map(Some).map_err(|_| corrupt())
        }
        _ => Err(corrupt()),
    }
}

/// A module version.
pub(super) fn module_version(row: &AnyRow) -> Result<ModuleVersion> {
    Ok(ModuleVersion {
        tenant_id: get(row, "tenant_id")?,
        realm_id: get(row, "realm_id")?,
        kind: spelled(row, "kind", RuleKind::parse)?,
        version: get(row, "version")?,
        digest: get(row, "digest")?,
        size: get(row, "size")?,
        settings: get(row, "settings")?,
        prepared_settings: get(row, "prepared_settings")?,
        settings_schema: get(row, "settings_schema")?,
        note: get(row, "note")?,
        created_by: get(row, "created_by")?,
        created_at: get(row, "created_at")?,
    })
}

/// A user.
pub(super) fn user(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        realm_id: get(row, "realm_id")?,
        user_name: get(row, "user_name")?,
        external_id: get(row, "external_id")?,
        email: get(row, "email")?,
        display_name: get(row, "display_name")?,
        attributes: json(row, "attributes")?,
        provider_groups: json(row, "provider_groups")?,
        internal_groups: json(row, "internal_groups")?,
        status: spelled(row, "status", UserStatus::parse)?,
        organization: get(row, "organization")?,
        rule_groups: json(row, "rule_groups")?,
        last_login_at: get(row, "last_login_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        scim: optional_json(row, "scim")?,
        version: get(row, "version")?,
        deactivated_at: get(row, "deactivated_at")?,
    })
}

/// A SCIM group.
pub(super) fn scim_group(row: &AnyRow) -> Result<ScimGroup> {
    Ok(ScimGroup {
        tenant_id: get(row, "tenant_id")?,
        realm_id: get(row, "realm_id")?,
        id: get(row, "id")?,
        display_name: get(row, "display_name")?,
        external_id: get(row, "external_id")?,
        version: get(row, "version")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// A member in a listing: columns `user_id`, `user_name`, `display_name`.
pub(super) fn member(row: &AnyRow) -> Result<GroupMember> {
    Ok(GroupMember {
        user_id: get(row, "user_id")?,
        user_name: get(row, "user_name")?,
        display_name: get(row, "display_name")?,
    })
}

/// A session.
pub(super) fn session(row: &AnyRow) -> Result<Session> {
    Ok(Session {
        tenant_id: get(row, "tenant_id")?,
        realm_id: get(row, "realm_id")?,
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
        revoked_reason: get(row, "revoked_reason")?,
    })
}

/// A SCIM credential.
pub(super) fn scim_credential(row: &AnyRow) -> Result<ScimCredential> {
    Ok(ScimCredential {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        realm_id: get(row, "realm_id")?,
        label: get(row, "label")?,
        secret_sha256: get(row, "secret_sha256")?,
        created_at: get(row, "created_at")?,
        rotated_at: get(row, "rotated_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// A SCIM access token.
pub(super) fn scim_token(row: &AnyRow) -> Result<ScimToken> {
    Ok(ScimToken {
        token_sha256: get(row, "token_sha256")?,
        tenant_id: get(row, "tenant_id")?,
        realm_id: get(row, "realm_id")?,
        credential_id: get(row, "credential_id")?,
        issued_at: get(row, "issued_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

/// A decision record.
pub(super) fn decision(row: &AnyRow) -> Result<DecisionRecord> {
    Ok(DecisionRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        realm_id: get(row, "realm_id")?,
        user_id: get(row, "user_id")?,
        trigger: get(row, "trigger_kind")?,
        applied: flag(row, "applied")?,
        shadow: flag(row, "shadow")?,
        input: get(row, "input")?,
        user_rules_version: get(row, "user_rules_version")?,
        user_rules_digest: get(row, "user_rules_digest")?,
        group_rules_version: get(row, "group_rules_version")?,
        group_rules_digest: get(row, "group_rules_digest")?,
        output: get(row, "output")?,
        trace: get(row, "trace")?,
        duration_us: get(row, "duration_us")?,
        fuel: get(row, "fuel")?,
        created_at: get(row, "created_at")?,
        shadow_of: get(row, "shadow_of")?,
        differs: get::<Option<i64>>(row, "differs")?.map(|flag| flag != 0),
        failure: match (get::<Option<String>>(row, "error_kind")?, get::<Option<String>>(row, "error_message")?) {
            (Some(kind), message) => Some(FailedEvaluation { kind, message: message.unwrap_or_default() }),
            (None, _) => None,
        },
        failure_policy: optional_json(row, "failure_policy")?,
        limits: optional_json(row, "limits")?,
    })
}

/// An audit event.
pub(super) fn audit_event(row: &AnyRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        seq: get(row, "seq")?,
        at: get(row, "at")?,
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        target: get(row, "target")?,
        details: get(row, "details")?,
    })
}

/// Decodes every row with `decode`.
pub(super) fn all<T>(rows: &[AnyRow], decode: fn(&AnyRow) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(decode).collect()
}

/// A query whose text is built at run time (optional filters), with its arguments numbered
/// `$1, $2, …` as they are bound.
pub(super) struct Dynamic {
    sql: String,
    args: Vec<Arg>,
}

/// An argument of a [`Dynamic`] query.
pub(super) enum Arg {
    /// A text value.
    Text(String),
    /// An integer value.
    Int(i64),
}

impl Dynamic {
    /// Starts a query with `sql`.
    pub(super) fn new(sql: &str) -> Self {
        Self { sql: sql.to_owned(), args: Vec::new() }
    }

    /// Appends SQL text.
    pub(super) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Binds `arg`, returning its placeholder (`$n`).
    pub(super) fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Runs the query, returning every row.
    pub(super) async fn fetch_all<'c, E>(self, executor: E) -> Result<Vec<AnyRow>>
    where
        E: sqlx::Executor<'c, Database = Any>,
    {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            query = match arg {
                Arg::Text(text) => query.bind(text),
                Arg::Int(int) => query.bind(int),
            };
        }
        Ok(query.fetch_all(executor).await?)
    }
}

/// `($1, …, $n), ($n+1, …), …`: placeholders for a multi-row `VALUES` of `rows` rows of `columns`.
pub(super) fn values_placeholders(rows: usize, columns: usize) -> String {
    let mut out = String::new();
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", row * columns + column + 1));
        }
        out.push(')');
    }
    out
}

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern.
pub(super) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
