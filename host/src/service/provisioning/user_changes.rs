//! SCIM users: create, replace (`PUT`), patch, deactivate, reactivate, delete. Each write that
//! can change the decision runs the realm's rules and applies them with the change.

use muster_wire::Trigger;
use serde_json::{Map, Value, json};

use super::resource::{UserFields, normalize_resource, user_resource};
use crate::service::{
    SharedState,
    decide::{Change, Decider, decide_and_apply},
    error::ServiceError,
    now_millis, retry,
};
use muster_scim::{patch::PatchRequest, schema::ResourceType};
use muster_store::{
    Audit, AuditNote, Deactivation,
    model::{Realm, UserRecord, UserStatus},
};

/// A SCIM user write and what it changed.
#[derive(Debug)]
pub struct Written {
    /// The user as now stored.
    pub user: UserRecord,
    /// The top-level attributes the request changed (empty: nothing changed).
    pub changed: Vec<String>,
}

/// The realm's user `id`, or `NotFound`.
pub async fn load(state: &SharedState, realm: &Realm, id: &str) -> Result<UserRecord, ServiceError> {
    state
        .store
        .get_user(&realm.tenant_id, &realm.id, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no user {id}")))
}

/// The user as a SCIM resource, with the groups it counts as a member of.
pub async fn resource(state: &SharedState, user: &UserRecord, base: &str) -> Result<Value, ServiceError> {
    let groups = state.store.user_scim_groups(&user.tenant_id, &user.realm_id, &user.id).await?;
    Ok(user_resource(user, &groups, base))
}

/// `POST /Users`: creates the user, runs the rules (`scim_create`) and applies them; a user
/// created with `active: false` is deactivated at once.
pub async fn create(state: &SharedState, realm: &Realm, body: &Value, actor: &str) -> Result<Written, ServiceError> {
    let resource = normalize_resource(ResourceType::User, body)?;
    let fields = UserFields::of(&resource)?;
    check_unique(state, realm, &fields, None).await?;
    let now = now_millis();
    let mut user = UserRecord::new_active(realm, &fields.user_name, now);
    fields.write_into(&mut user, &resource);
    let changed: Vec<String> = resource.keys().cloned().collect();
    let note = note("scim.user.created", &user.id, &changed);
    let change =
        Change { user, trigger: Trigger::ScimCreate, expected_version: None, session: None, events: vec![note] };
    let applied = decide_and_apply(&Decider::live(state), realm, change, actor).await?;
    if !fields.active {
        deactivate(state, realm, &applied.user.id, "provisioned with active: false", actor).await?;
    }
    Ok(Written { user: load(state, realm, &applied.user.id).await?, changed })
}

/// `PUT /Users/{id}`: the user becomes the resource sent.
pub async fn replace(
    state: &SharedState,
    realm: &Realm,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
    actor: &str,
) -> Result<Written, ServiceError> {
    let resource = normalize_resource(ResourceType::User, body)?;
    retry::on_version_mismatch(attempts(if_match), || async {
        let existing = load(state, realm, id).await?;
        let before = current_resource(&existing);
        let changed = changed_attributes(&before, &resource);
        write(state, realm, existing, &resource, changed, if_match, actor).await
    })
    .await
}

/// `PATCH /Users/{id}`: applies the operations to the user's resource.
pub async fn patch(
    state: &SharedState,
    realm: &Realm,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
    actor: &str,
) -> Result<Written, ServiceError> {
    let request = PatchRequest::parse(body, ResourceType::User)?;
    retry::on_version_mismatch(attempts(if_match), || async {
        let existing = load(state, realm, id).await?;
        let before = Value::Object(current_resource(&existing));
        let outcome = request.apply(&before)?;
        let mut resource = normalize_resource(ResourceType::User, &outcome.resource)?;
        // `active` cannot be unassigned: a user is active or not. Removing it leaves it as it was.
        resource.entry("active").or_insert_with(|| json!(existing.status == UserStatus::Active));
        write(state, realm, existing, &resource, outcome.changed_attributes, if_match, actor).await
    })
    .await
}

/// Deactivates (deprovisions) the user: blocked, out of every group, sessions revoked, each step
/// audited, in one transaction. `None` if the user already was.
pub async fn deactivate(
    state: &SharedState,
    realm: &Realm,
    id: &str,
    reason: &str,
    actor: &str,
) -> Result<Option<Deactivation>, ServiceError> {
    state
        .store
        .deactivate_user(&realm.tenant_id, &realm.id, id, reason, &Audit { actor: actor.to_owned(), at: now_millis() })
        .await
        .map_err(ServiceError::from)
}

/// Reactivates the user: its suspended memberships count again, and the rules run
/// (`scim_reactivate`) and apply. An active user is left as it is.
pub async fn reactivate(
    state: &SharedState,
    realm: &Realm,
    id: &str,
    reason: Option<&str>,
    actor: &str,
) -> Result<UserRecord, ServiceError> {
    retry::on_version_mismatch(retry::ATTEMPTS, || async {
        let existing = load(state, realm, id).await?;
        if existing.status == UserStatus::Active {
            return Ok(Written { user: existing, changed: Vec::new() });
        }
        let expected_version = Some(existing.version);
        let mut user = existing;
        user.status = UserStatus::Active;
        let events = reason
            .map(|reason| AuditNote {
                action: "user.reactivation_reason".into(),
                target: user.id.clone(),
                details: json!({ "realm_id": realm.id, "reason": reason }),
            })
            .into_iter()
            .collect();
        let change = Change { user, trigger: Trigger::ScimReactivate, expected_version, session: None, events };
        let applied = decide_and_apply(&Decider::live(state), realm, change, actor).await?;
        Ok(Written { user: load(state, realm, &applied.user.id).await?, changed: vec!["active".into()] })
    })
    .await
    .map(|written| written.user)
}

/// Deletes the user for good (memberships and sessions too; decision records stay), audited.
pub async fn delete(state: &SharedState, realm: &Realm, id: &str, actor: &str) -> Result<(), ServiceError> {
    state
        .store
        .delete_user(&realm.tenant_id, &realm.id, id, &Audit { actor: actor.to_owned(), at: now_millis() })
        .await
        .map_err(ServiceError::from)
}

/// Applies a new resource to a stored user. `active` moving decides what happens: staying
/// active re-decides (`scim_update`) if anything changed; becoming inactive deprovisions (after
/// applying any other change); becoming active reactivates and re-decides (`scim_reactivate`);
/// a deactivated user's attributes are stored without a decision (they count again when it is
/// reactivated).
async fn write(
    state: &SharedState,
    realm: &Realm,
    existing: UserRecord,
    resource: &Map<String, Value>,
    changed: Vec<String>,
    if_match: Option<i64>,
    actor: &str,
) -> Result<Written, ServiceError> {
    if let Some(expected) = if_match.filter(|expected| *expected != existing.version) {
        return Err(ServiceError::VersionMismatch {
            what: format!("user {}", existing.id),
            expected,
            actual: existing.version,
        });
    }
    let fields = UserFields::of(resource)?;
    check_unique(state, realm, &fields, Some(&existing.id)).await?;
    let was_active = existing.status == UserStatus::Active;
    let attributes_changed = changed.iter().any(|name| name != "active");
    let expected_version = Some(existing.version);
    let mut user = existing.clone();
    fields.write_into(&mut user, resource);
    let note = note("scim.user.updated", &user.id, &changed);
    let (tenant, id) = (realm.tenant_id.clone(), existing.id.clone());
    match (was_active, fields.active) {
        (true, true) if !attributes_changed => {}
        (true, _) | (false, true) => {
            if !was_active || attributes_changed {
                user.status = UserStatus::Active;
                let trigger = if was_active { Trigger::ScimUpdate } else { Trigger::ScimReactivate };
                let change = Change { user, trigger, expected_version, session: None, events: vec![note] };
                decide_and_apply(&Decider::live(state), realm, change, actor).await?;
            }
            if was_active && !fields.active {
                deactivate(state, realm, &id, "SCIM set active to false", actor).await?;
            }
        }
        (false, false) if !attributes_changed => {}
        (false, false) => {
            let audit = Audit { actor: actor.to_owned(), at: now_millis() };
            state.store.update_deactivated_user(&user, existing.version, vec![note], &audit).await?;
        }
    }
    let user = state
        .store
        .get_user(&tenant, &realm.id, &id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no user {id}")))?;
    Ok(Written { user, changed })
}

/// The user's current resource as a client could have sent it: the SCIM document and the
/// columns (no `id`, `meta` or `groups`: those are not the client's to change).
fn current_resource(user: &UserRecord) -> Map<String, Value> {
    let mut resource = match &user.scim {
        Some(Value::Object(document)) => document.clone(),
        _ => Map::new(),
    };
    if user.scim.is_none() {
        if let Some(display_name) = &user.display_name {
            resource.insert("displayName".into(), json!(display_name));
        }
        if let Some(email) = &user.email {
            resource.insert("emails".into(), json!([{"value": email, "primary": true}]));
        }
    }
    resource.insert("userName".into(), json!(user.user_name));
    if let Some(external_id) = &user.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("active".into(), json!(user.status == UserStatus::Active));
    resource
}

/// The top-level attributes whose value differs between two normalized resources.
fn changed_attributes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names.into_iter().filter(|name| before.get(*name) != after.get(*name)).cloned().collect()
}

/// A conflict if another user of the realm has the user name (ignoring case) or the
/// external id.
async fn check_unique(
    state: &SharedState,
    realm: &Realm,
    fields: &UserFields,
    this: Option<&str>,
) -> Result<(), ServiceError> {
    let store = &state.store;
    let other = |user: &UserRecord| Some(user.id.as_str()) != this;
    if let Some(holder) = store.find_user_by_name(&realm.tenant_id, &realm.id, &fields.user_name).await?
        && other(&holder)
    {
        return Err(ServiceError::Conflict(format!(
            "userName {} is already taken by user {}",
            fields.user_name, holder.id
        )));
    }
    if let Some(external_id) = &fields.external_id
        && let Some(holder) = store.find_user_by_external_id(&realm.tenant_id, &realm.id, external_id).await?
        && other(&holder)
    {
        return Err(ServiceError::Conflict(format!("externalId {external_id} is already taken by user {}", holder.id)));
    }
    Ok(())
}

fn note(action: &str, user_id: &str, changed: &[String]) -> AuditNote {
    AuditNote { action: action.to_owned(), target: user_id.to_owned(), details: json!({ "changed": changed }) }
}

/// How often a write is tried: with the client's own `If-Match`, a concurrent write fails its
/// precondition (no retry); without, it is read again and tried again.
fn attempts(if_match: Option<i64>) -> usize {
    if if_match.is_some() { 1 } else { retry::ATTEMPTS }
}
