//! The records the store keeps. Ids are opaque strings chosen by the caller (tenants, realms,
//! organizations: readable slugs; users, decisions, keys, audit events: random ids); times are
//! Unix milliseconds.

use serde::{Deserialize, Serialize};

/// Unix time in milliseconds.
pub type Millis = i64;

/// Serde for a field that is stored as JSON text: it is written (and read) as the JSON value
/// itself, so an answer shows an object where the store keeps its exact bytes. Text that is not
/// JSON (never written by the store) is written as a string.
mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(text) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(text),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(|raw| raw.get().to_owned())
    }

    /// The same for a field that may be absent: `None` is `null`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use serde_json::value::RawValue;

        pub fn serialize<S: Serializer>(text: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
            match text {
                Some(text) => super::serialize(text, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
            let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
            Ok(raw.map(|raw| raw.get().to_owned()))
        }
    }
}

/// A customer. Everything else belongs to exactly one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Slug chosen at creation (`acme`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// How long decision records are kept, in days; `None` keeps them forever.
    pub decision_retention_days: Option<i64>,
    /// When it was created.
    pub created_at: Millis,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Manage the tenant: realms, organizations, modules, keys; read everything.
    Admin,
    /// Only call the evaluation API (login, dry run) — for the tenant's login service.
    Evaluation,
}

impl KeyKind {
    /// The stored spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyKind::Admin => "admin",
            KeyKind::Evaluation => "evaluation",
        }
    }

    /// Parses the stored spelling.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(KeyKind::Admin),
            "evaluation" => Some(KeyKind::Evaluation),
            _ => None,
        }
    }
}

/// An API key as stored: never the secret itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public id, the part of the key before the secret (`mk_…`).
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// What it may do.
    pub kind: KeyKind,
    /// A label chosen by whoever created it.
    pub label: String,
    /// Lower-case hex SHA-256 of the secret.
    #[serde(skip_serializing)]
    pub secret_sha256: String,
    /// When it was created.
    pub created_at: Millis,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Millis>,
}

/// An organization a user's primary membership can point to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Slug, unique in the tenant (`acme-sales`).
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Which rules a module version provides to a realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Decides users' organizations and rule-based groups.
    User,
    /// Marks provider groups with organizations.
    Group,
}

impl RuleKind {
    /// The stored (and URL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::User => "user",
            RuleKind::Group => "group",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(RuleKind::User),
            "group" => Some(RuleKind::Group),
            _ => None,
        }
    }
}

/// One identity-provider integration of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Realm {
    /// Slug, unique in the tenant (`entra`).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Display name.
    pub name: String,
    /// Used when no user-rules (or group-rules) module is active: every user (group) goes here.
    pub default_organization: Option<String>,
    /// Active user-rules version, if any.
    pub user_rules_version: Option<i64>,
    /// Active group-rules version, if any.
    pub group_rules_version: Option<i64>,
    /// User-rules version running in shadow beside the active one, if any.
    pub shadow_user_rules_version: Option<i64>,
    /// Group-rules version running in shadow, if any.
    pub shadow_group_rules_version: Option<i64>,
    /// Whether the realm's SCIM endpoint also accepts a SCIM credential's secret as a plain bearer
    /// token (otherwise only OAuth2 client-credentials access tokens). A new realm starts without:
    /// set it with `Store::set_scim_bearer_enabled`.
    pub scim_bearer_enabled: bool,
    /// Whether a decision that names an organization the tenant does not have creates it (in the
    /// decision's transaction, audited `organization.created`) instead of failing. Off unless set.
    pub create_organizations: bool,
    /// What a live decision whose rules failed becomes. Fails closed unless set.
    pub failure_policy: FailurePolicy,
    /// When the active version of a kind is rolled back for failing on live decisions; `None`
    /// (the default): never.
    pub auto_rollback: Option<AutoRollback>,
    /// Whose word on a user's provider groups counts when a login's claims and SCIM disagree.
    /// The newest unless set.
    pub membership_source: MembershipSource,
    /// The realm's own bounds of each evaluation, each within the operator's; a bound not set is
    /// the operator's.
    pub limits: RealmLimits,
    /// When it was created.
    pub created_at: Millis,
}

/// A realm's own bounds of each evaluation of its rules: each at least 1 and at most the
/// operator's (the engine's limits, checked by the API); `None`, the operator's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmLimits {
    /// Deterministic instruction budget (wasmtime fuel).
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Wall-clock budget, in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Largest linear memory a module may have or grow to, in bytes.
    #[serde(default)]
    pub max_memory_bytes: Option<u64>,
}

/// The bounds a decision's rules ran under, as its record keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationLimits {
    /// Instruction budget (wasmtime fuel).
    pub fuel: u64,
    /// Wall-clock budget, in milliseconds.
    pub timeout_ms: u64,
    /// Largest linear memory, in bytes.
    pub max_memory_bytes: u64,
}

/// Whose word counts when a login's claims and SCIM disagree about a user's provider groups:
/// what the rules see as the user's provider groups, and what the login answer and previews show.
/// A SCIM group's own member list (SCIM `GET /Groups`, a user's `groups`, the reports) is what
/// SCIM wrote, whatever the source.
///
/// A SCIM membership write is a member added to or removed from a SCIM group, a group renamed
/// (its members' lists follow) or deleted (its members lose it). A change of source is not applied
/// to stored users at once: each user's list follows it from their next login or SCIM membership
/// write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipSource {
    /// The newest word wins: a login replaces the whole list with its claims (a SCIM group the
    /// claims leave out drops out of it, though SCIM still lists the user as a member; a group
    /// they name comes in, SCIM's or not), and a SCIM membership write changes its one group in
    /// the lists of the users it adds, removes or renames for.
    #[default]
    Newest,
    /// SCIM is authoritative for the groups it manages (the realm's SCIM groups, matched with
    /// claimed names by display name ignoring case, as of the login): the user is in one exactly
    /// when SCIM made them a member, and a login's claims never add or remove one. The groups a
    /// login claims that SCIM does not manage (claims-only groups) are the newest login's: each
    /// login replaces them.
    Scim,
    /// Claims are authoritative: once the user has logged in, the list is their last login's
    /// claims, and SCIM membership writes leave it as it is (SCIM's member lists still change).
    /// Until their first login, SCIM membership writes change it as with `newest`.
    Claims,
}

impl MembershipSource {
    /// Every source, in the order the API documents them.
    pub const ALL: [MembershipSource; 3] = [MembershipSource::Newest, MembershipSource::Scim, MembershipSource::Claims];

    /// The stored (and serialized) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipSource::Newest => "newest",
            MembershipSource::Scim => "scim",
            MembershipSource::Claims => "claims",
        }
    }

    /// The source spelled `text` (as [`MembershipSource::as_str`] spells it), if there is one.
    pub fn parse(text: &str) -> Option<MembershipSource> {
        MembershipSource::ALL.into_iter().find(|source| source.as_str() == text)
    }

    /// Whether a login needs SCIM's side of the user's groups ([`ScimGroupsOfLogin`]) to
    /// compute their provider groups: only when SCIM is authoritative.
    pub fn login_reads_scim(self) -> bool {
        self == MembershipSource::Scim
    }

    /// The provider groups a login claiming `claims` leaves the user with. `scim` is SCIM's side
    /// of the user's groups, read when [`MembershipSource::login_reads_scim`] (otherwise unused):
    /// with `scim`, the claims SCIM does not manage, in the order claimed, then the SCIM groups
    /// the user is a member of; otherwise the claims.
    pub fn after_login(self, claims: &[String], scim: &ScimGroupsOfLogin) -> Vec<String> {
        match self {
            MembershipSource::Newest | MembershipSource::Claims => claims.to_vec(),
            MembershipSource::Scim => {
                let mut groups: Vec<String> = Vec::with_capacity(claims.len() + scim.member_of.len());
                for claim in claims.iter().filter(|claim| !scim.managed.contains(*claim)) {
                    if !groups.contains(claim) {
                        groups.push(claim.clone());
                    }
                }
                groups.extend(scim.member_of.iter().cloned());
                groups
            }
        }
    }

    /// Whether a SCIM membership write changes the provider groups of `user`: always, but with
    /// `claims` for a user who has logged in.
    pub fn scim_writes_groups_of(self, user: &UserRecord) -> bool {
        !(self == MembershipSource::Claims && user.last_login_at.is_some())
    }
}

/// SCIM's side of a logging-in user's provider groups, for [`MembershipSource::after_login`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimGroupsOfLogin {
    /// Display names of the SCIM groups the user is a member of, ordered by name ignoring case.
    pub member_of: Vec<String>,
    /// The claimed names, as claimed, that are the display name of a SCIM group of the realm
    /// (ignoring case): the groups SCIM manages.
    pub managed: std::collections::BTreeSet<String>,
}

/// When a realm rolls the active version of a kind back by itself: once it has run on at least
/// `min_evaluations` live decisions in the last minute and failed on at least `max_failure_rate`
/// of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AutoRollbackFields")]
pub struct AutoRollback {
    /// The share of failed evaluations (0 < rate ≤ 1) at which the version is rolled back.
    pub max_failure_rate: f64,
    /// The fewest evaluations in the window before the rate is judged (at least 1).
    pub min_evaluations: u32,
}

// The rate is checked finite and in (0, 1] on every way in, so equality is total.
impl Eq for AutoRollback {}

impl AutoRollback {
    /// The setting with this rate and count, checked.
    pub fn new(max_failure_rate: f64, min_evaluations: u32) -> Result<AutoRollback, AutoRollbackError> {
        if !(max_failure_rate > 0.0 && max_failure_rate <= 1.0) {
            return Err(AutoRollbackError::Rate(max_failure_rate));
        }
        if min_evaluations == 0 {
            return Err(AutoRollbackError::NoEvaluations);
        }
        Ok(AutoRollback { max_failure_rate, min_evaluations })
    }

    /// Whether `failures` out of `evaluations` call for a rollback.
    pub fn is_passed(&self, evaluations: u64, failures: u64) -> bool {
        evaluations >= u64::from(self.min_evaluations) && failures as f64 >= self.max_failure_rate * evaluations as f64
    }
}

/// An [`AutoRollback`] as written, checked into one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoRollbackFields {
    max_failure_rate: f64,
    min_evaluations: u32,
}

impl TryFrom<AutoRollbackFields> for AutoRollback {
    type Error = AutoRollbackError;

    fn try_from(fields: AutoRollbackFields) -> Result<Self, Self::Error> {
        AutoRollback::new(fields.max_failure_rate, fields.min_evaluations)
    }
}

/// Why a rate and a count make no [`AutoRollback`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AutoRollbackError {
    /// A rate outside (0, 1].
    #[error("auto_rollback.max_failure_rate must be greater than 0 and at most 1, not {0}")]
    Rate(f64),
    /// No evaluations to judge by.
    #[error("auto_rollback.min_evaluations must be at least 1")]
    NoEvaluations,
}

/// What a realm does with a live decision (a login, a SCIM event) whose rules failed: trapped,
/// ran out of fuel or time, answered something malformed, or could not be loaded. Previews
/// (dry runs, impact, backtests, replays) and shadow runs never use it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", try_from = "FailurePolicyFields")]
pub enum FailurePolicy {
    /// Nothing is applied: the login (the SCIM write) is refused with the failure.
    #[default]
    FailClosed,
    /// The user's previous applied decision stands: their organization and rule-based groups as
    /// stored. A user with no previous decision (a first login, a SCIM create, a reactivation)
    /// fails closed.
    LastDecision,
    /// The user is placed in this organization, with no rule-based groups.
    FallbackOrganization {
        /// An organization of the tenant.
        organization: String,
    },
}

impl FailurePolicy {
    /// The policy's name, with no organization.
    pub fn name(&self) -> FailurePolicyName {
        match self {
            FailurePolicy::FailClosed => FailurePolicyName::FailClosed,
            FailurePolicy::LastDecision => FailurePolicyName::LastDecision,
            FailurePolicy::FallbackOrganization { .. } => FailurePolicyName::FallbackOrganization,
        }
    }

    /// The fallback organization, for [`FailurePolicy::FallbackOrganization`].
    pub fn fallback_organization(&self) -> Option<&str> {
        match self {
            FailurePolicy::FallbackOrganization { organization } => Some(organization),
            FailurePolicy::FailClosed | FailurePolicy::LastDecision => None,
        }
    }

    /// The policy named `name`, with `organization` for `fallback_organization` (which needs
    /// one, and the others take none).
    pub fn new(name: FailurePolicyName, organization: Option<String>) -> Result<FailurePolicy, FailurePolicyError> {
        match (name, organization) {
            (FailurePolicyName::FailClosed, None) => Ok(FailurePolicy::FailClosed),
            (FailurePolicyName::LastDecision, None) => Ok(FailurePolicy::LastDecision),
            (FailurePolicyName::FallbackOrganization, Some(organization)) => {
                Ok(FailurePolicy::FallbackOrganization { organization })
            }
            (FailurePolicyName::FallbackOrganization, None) => Err(FailurePolicyError::NoOrganization),
            (name, Some(_)) => Err(FailurePolicyError::OrganizationNotTaken(name.as_str())),
        }
    }
}

/// A [`FailurePolicy`] as written: its name and organization, checked into one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailurePolicyFields {
    policy: FailurePolicyName,
    #[serde(default)]
    organization: Option<String>,
}

impl TryFrom<FailurePolicyFields> for FailurePolicy {
    type Error = FailurePolicyError;

    fn try_from(fields: FailurePolicyFields) -> Result<Self, Self::Error> {
        FailurePolicy::new(fields.policy, fields.organization)
    }
}

/// Why a name and an organization make no [`FailurePolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FailurePolicyError {
    /// `fallback_organization` without one.
    #[error("the failure policy fallback_organization needs an organization")]
    NoOrganization,
    /// An organization given to a policy that takes none.
    #[error("the failure policy {0} takes no organization")]
    OrganizationNotTaken(&'static str),
}

/// The name of a [`FailurePolicy`]: a closed set, fit for a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicyName {
    /// [`FailurePolicy::FailClosed`].
    FailClosed,
    /// [`FailurePolicy::LastDecision`].
    LastDecision,
    /// [`FailurePolicy::FallbackOrganization`].
    FallbackOrganization,
}

impl FailurePolicyName {
    /// The name spelled `text` (as [`FailurePolicyName::as_str`] spells it), if there is one.
    pub fn parse(text: &str) -> Option<FailurePolicyName> {
        [FailurePolicyName::FailClosed, FailurePolicyName::LastDecision, FailurePolicyName::FallbackOrganization]
            .into_iter()
            .find(|name| name.as_str() == text)
    }

    /// The stored (and serialized) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicyName::FailClosed => "fail_closed",
            FailurePolicyName::LastDecision => "last_decision",
            FailurePolicyName::FallbackOrganization => "fallback_organization",
        }
    }
}

/// What the realm's failure policy made of a live decision whose rules failed, as its record
/// keeps it beside the failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailurePolicyApplied {
    /// The policy that applied: the realm's, or `fail_closed` when the realm's could not (a
    /// `last_decision` with no previous decision).
    pub policy: FailurePolicyName,
    /// Why this policy, in one line.
    pub reason: String,
    /// The organization the user is in as a result (`None`: none; nothing applied when failing
    /// closed).
    pub organization: Option<String>,
    /// The rule-based groups the user is in as a result.
    pub groups: Vec<String>,
}

impl Realm {
    /// A new realm: no module active or in shadow, SCIM bearer tokens off, organizations not
    /// created on first use, failing closed, no automatic rollback, the newest word on provider
    /// groups winning.
    pub fn new(
        tenant_id: &str,
        id: &str,
        name: &str,
        default_organization: Option<String>,
        created_at: Millis,
    ) -> Self {
        Realm {
            id: id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            default_organization,
            user_rules_version: None,
            group_rules_version: None,
            shadow_user_rules_version: None,
            shadow_group_rules_version: None,
            scim_bearer_enabled: false,
            create_organizations: false,
            failure_policy: FailurePolicy::FailClosed,
            auto_rollback: None,
            membership_source: MembershipSource::Newest,
            limits: RealmLimits::default(),
            created_at,
        }
    }
}

/// One uploaded version of a realm's user-rules or group-rules module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleVersion {
    /// The tenant.
    pub tenant_id: String,
    /// The realm.
    pub realm_id: String,
    /// User or group rules.
    pub kind: RuleKind,
    /// 1, 2, 3, … per (realm, kind).
    pub version: i64,
    /// SHA-256 of the Wasm bytes, lower-case hex (the bytes are stored once per digest).
    pub digest: String,
    /// Size of the Wasm bytes.
    pub size: i64,
    /// The settings document as uploaded (JSON text; a JSON object in answers).
    #[serde(with = "json_text")]
    pub settings: String,
    /// The settings as the module prepared them.
    #[serde(skip_serializing)]
    pub prepared_settings: Vec<u8>,
    /// The JSON Schema the module publishes of its settings (JSON text; a JSON object in
    /// answers), `None` (`null`) for a module that publishes none.
    #[serde(with = "json_text::option", default)]
    pub settings_schema: Option<String>,
    /// The uploader's note.
    pub note: String,
    /// Id of the key that uploaded it.
    pub created_by: String,
    /// When it was uploaded.
    pub created_at: Millis,
}

/// A user's account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May log in (if the rules give an organization).
    Active,
    /// Deprovisioned: blocked, in no group, sessions revoked.
    Deactivated,
}

impl UserStatus {
    /// The stored spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }

    /// Parses the stored spelling.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(UserStatus::Active),
            "deactivated" => Some(UserStatus::Deactivated),
            _ => None,
        }
    }
}

/// A user of a realm, with what the identity provider last said and what the rules decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Random id assigned by Muster.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The realm.
    pub realm_id: String,
    /// Unique in the realm, ignoring case (Rust's `to_lowercase`).
    pub user_name: String,
    /// The identity provider's id for the user (login provider user id = SCIM externalId);
    /// unique in the realm when present.
    pub external_id: Option<String>,
    /// Primary e-mail address.
    pub email: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Multi-valued attributes (claims), as a JSON object of string arrays.
    pub attributes: std::collections::BTreeMap<String, Vec<String>>,
    /// Provider groups, what the rules see: the login claims and the display names of the SCIM
    /// groups the user was put in, merged as the realm's [`MembershipSource`] says (kept while
    /// the user is deactivated).
    pub provider_groups: Vec<String>,
    /// Internal groups the login service reported at the user's last login (what the rules see
    /// as the user's internal groups on every trigger until the next login).
    pub internal_groups: Vec<String>,
    /// Active or deactivated.
    pub status: UserStatus,
    /// The primary organization the rules last decided; `None`: No organization (blocked).
    pub organization: Option<String>,
    /// Rule-based internal groups the rules last decided.
    pub rule_groups: Vec<String>,
    /// When the user last logged in.
    pub last_login_at: Option<Millis>,
    /// When the record was created.
    pub created_at: Millis,
    /// When the record last changed.
    pub updated_at: Millis,
    /// The SCIM resource as SCIM last wrote it (name, emails, enterprise extension, …); `None` for
    /// a user only ever seen at login.
    pub scim: Option<serde_json::Value>,
    /// 1 when created, +1 on every write of the record (the SCIM ETag `W/"<version>"`). Kept by the
    /// store: the value a caller passes in is ignored.
    pub version: i64,
    /// When the user was deactivated, while it is. Kept by the store from the status.
    pub deactivated_at: Option<Millis>,
}

impl UserRecord {
    /// A user new to `realm`: active, with a fresh random id, nothing decided yet.
    pub fn new_active(realm: &Realm, user_name: &str, now: Millis) -> Self {
        UserRecord {
            id: crate::ids::random_id(12),
            tenant_id: realm.tenant_id.clone(),
            realm_id: realm.id.clone(),
            user_name: user_name.to_owned(),
            external_id: None,
            email: None,
            display_name: None,
            attributes: std::collections::BTreeMap::new(),
            provider_groups: Vec::new(),
            internal_groups: Vec::new(),
            status: UserStatus::Active,
            organization: None,
            rule_groups: Vec::new(),
            last_login_at: None,
            created_at: now,
            updated_at: now,
            scim: None,
            version: 1,
            deactivated_at: None,
        }
    }
}

/// A stored decision: everything needed to replay it bit for bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Random id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The realm.
    pub realm_id: String,
    /// The user decided about (absent for an ad-hoc dry run).
    pub user_id: Option<String>,
    /// `login`, `scim_create`, … (the wire `Trigger`, snake_case).
    pub trigger: String,
    /// Whether it was applied (`false` for dry runs and shadow evaluations).
    pub applied: bool,
    /// Whether it is a shadow evaluation of a candidate version.
    pub shadow: bool,
    /// The canonical input: JSON of `{"context": …, "user": …}` exactly as evaluated (the
    /// value itself in answers; the text is kept byte for byte for replay).
    #[serde(with = "json_text")]
    pub input: String,
    /// User-rules module version and digest that made it, if one ran.
    pub user_rules_version: Option<i64>,
    /// Digest of that module.
    pub user_rules_digest: Option<String>,
    /// Group-rules module version that made it, if one ran.
    pub group_rules_version: Option<i64>,
    /// Digest of that module.
    pub group_rules_digest: Option<String>,
    /// The outcome: JSON of the user decision and group assignments (`null` when the rules
    /// failed).
    #[serde(with = "json_text")]
    pub output: String,
    /// The trace: JSON of the user and group steps.
    #[serde(with = "json_text")]
    pub trace: String,
    /// Evaluation time in microseconds.
    pub duration_us: i64,
    /// Fuel consumed.
    pub fuel: i64,
    /// When it was made.
    pub created_at: Millis,
    /// For a shadow decision: the live decision it ran beside.
    pub shadow_of: Option<String>,
    /// For a shadow decision: whether its output differs from the live decision's.
    pub differs: Option<bool>,
    /// Set when the rules failed: nothing was decided (`output` is `null`), and nothing applied
    /// unless the realm's failure policy put a decision in effect (`failure_policy`).
    pub failure: Option<FailedEvaluation>,
    /// For a live decision whose rules failed: which failure policy applied, why, and what it put
    /// in effect (`applied` is `true` when that is not failing closed).
    pub failure_policy: Option<FailurePolicyApplied>,
    /// The bounds its rules ran under (the realm's within the operator's); `None` for a decision
    /// recorded before they were kept.
    pub limits: Option<EvaluationLimits>,
}

/// Why the rules of a recorded decision failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedEvaluation {
    /// The failure's snake_case kind (`fuel_exhausted`, `timeout`, `trap`, …), as metrics name it.
    pub kind: String,
    /// What happened, in one line.
    pub message: String,
}

/// One entry of a tenant's append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Random id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Position in the tenant's log (strictly increasing).
    pub seq: i64,
    /// When it happened.
    pub at: Millis,
    /// Who: a key id, `operator`, or `system`.
    pub actor: String,
    /// What: `module.uploaded`, `module.activated`, `key.created`, `decision.applied`, …
    pub action: String,
    /// What it was done to (`realm/entra/user/3`, a user id, a key id).
    pub target: String,
    /// Details (JSON text of an object; the object itself in answers).
    #[serde(with = "json_text")]
    pub details: String,
}

/// A provider group of a realm and the organizations it is marked with (empty: No organization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderGroupMark {
    /// The group's name as the identity provider sends it; unique in the realm.
    pub name: String,
    /// The organizations the group is marked with.
    pub organizations: Vec<String>,
}

/// A group provisioned by SCIM into a realm. Its display name is a provider group of its members:
/// it is in each member's `provider_groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimGroup {
    /// The tenant.
    pub tenant_id: String,
    /// The realm.
    pub realm_id: String,
    /// Random id assigned by Muster.
    pub id: String,
    /// Unique in the realm, ignoring case (Rust's `to_lowercase`).
    pub display_name: String,
    /// The identity provider's id for the group; unique in the realm when present.
    pub external_id: Option<String>,
    /// 1 when created, +1 on every change of its attributes or members (the SCIM ETag). Kept by the
    /// store.
    pub version: i64,
    /// When it was created (the store sets it from the creating audit's time).
    pub created_at: Millis,
    /// When it last changed (the store sets it from the audit's time).
    pub updated_at: Millis,
}

/// A user as listed among a group's (or an organization's) members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    /// The user's id.
    pub user_id: String,
    /// The user name.
    pub user_name: String,
    /// The display name.
    pub display_name: Option<String>,
}

/// A login session of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The tenant.
    pub tenant_id: String,
    /// The realm.
    pub realm_id: String,
    /// Lower-case hex SHA-256 of the session token (never the token itself).
    #[serde(skip_serializing)]
    pub id: String,
    /// The user.
    pub user_id: String,
    /// When it was created.
    pub created_at: Millis,
    /// When it expires.
    pub expires_at: Millis,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Millis>,
    /// Why it was revoked: the reason its user was deactivated with.
    pub revoked_reason: Option<String>,
}

/// A SCIM client credential of a realm: an OAuth2 client id and the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimCredential {
    /// The client id (`sc_…`), unique across tenants.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The realm it provisions into.
    pub realm_id: String,
    /// A label chosen by whoever created it.
    pub label: String,
    /// Lower-case hex SHA-256 of the secret.
    #[serde(skip_serializing)]
    pub secret_sha256: String,
    /// When it was created.
    pub created_at: Millis,
    /// When its secret was last replaced, if it was.
    pub rotated_at: Option<Millis>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Millis>,
}

/// An access token issued to a SCIM credential; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimToken {
    /// Lower-case hex SHA-256 of the token.
    #[serde(skip_serializing)]
    pub token_sha256: String,
    /// The tenant.
    pub tenant_id: String,
    /// The realm it grants access to.
    pub realm_id: String,
    /// The credential it was issued to.
    pub credential_id: String,
    /// When it was issued.
    pub issued_at: Millis,
    /// When it stops working.
    pub expires_at: Millis,
}
