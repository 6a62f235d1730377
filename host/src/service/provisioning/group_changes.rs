//! SCIM groups: create, replace (`PUT`), patch, delete. A group is a provider group of its
//! members, so every write that changes whose groups are what (members added or removed, a
//! rename, a delete) re-decides each user whose provider groups it changed
//! (`scim_group_change`), like a login would; the realm's membership source says whose they are
//! (`MembershipSource::scim_writes_groups_of`).
//!
//! Members are diffed, never replaced wholesale: a deactivated member's membership is
//! suspended, not shown, and a `PUT` or `PATCH` that does not mention it leaves it for
//! reactivation to restore.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use muster_wire::Trigger;
use serde_json::{Map, Value};

use super::{
    member_error,
    resource::{group_resource, invalid_value, normalize_resource},
};
use crate::service::{
    SharedState,
    decide::{self, Decider},
    error::ServiceError,
    now_millis,
};
use muster_scim::{
    patch::{MemberEdits, PatchRequest},
    schema::ResourceType,
};
use muster_store::{
    Audit, MembersChange, ScimGroupChange,
    model::{GroupMember, Realm, ScimGroup},
};

/// A group write and what it changed.
#[derive(Debug)]
pub struct Written {
    /// The group as now stored.
    pub group: ScimGroup,
    /// The top-level attributes the request changed.
    pub changed: Vec<String>,
}

/// The realm's group `id`, or `NotFound`.
pub async fn load(state: &SharedState, realm: &Realm, id: &str) -> Result<ScimGroup, ServiceError> {
    state
        .store
        .get_scim_group(&realm.tenant_id, &realm.id, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no group {id}")))
}

/// The group as a SCIM resource with its members that count.
pub async fn resource(state: &SharedState, group: &ScimGroup, base: &str) -> Result<Value, ServiceError> {
    let members = members(state, group).await?;
    Ok(group_resource(group, &members, base))
}

async fn members(state: &SharedState, group: &ScimGroup) -> Result<Vec<GroupMember>, ServiceError> {
    state.store.scim_group_members(&group.tenant_id, &group.realm_id, &group.id).await.map_err(ServiceError::from)
}

/// What a group resource says: display name, external id, member ids.
struct GroupFields {
    display_name: String,
    external_id: Option<String>,
    members: BTreeSet<String>,
}

impl GroupFields {
    fn of(resource: &Map<String, Value>) -> Result<GroupFields, ServiceError> {
        let display_name =
            resource.get("displayName").and_then(Value::as_str).map(str::trim).filter(|name| !name.is_empty());
        let Some(display_name) = display_name else {
            return Err(invalid_value("displayName is required and must not be blank"));
        };
        let mut members = BTreeSet::new();
        for member in resource.get("members").and_then(Value::as_array).into_iter().flatten() {
            let Some(id) = member.get("value").and_then(Value::as_str) else {
                return Err(invalid_value("every member needs a value: the id of a user"));
            };
            members.insert(id.to_owned());
        }
        Ok(GroupFields {
            display_name: display_name.to_owned(),
            external_id: resource
                .get("externalId")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            members,
        })
    }
}

/// `POST /Groups`: creates the group with its members and re-decides those whose provider groups
/// it changed.
pub async fn create(state: &SharedState, realm: &Realm, body: &Value, actor: &str) -> Result<Written, ServiceError> {
    let resource = normalize_resource(ResourceType::Group, body)?;
    let fields = GroupFields::of(&resource)?;
    let now = now_millis();
    let group = ScimGroup {
        tenant_id: realm.tenant_id.clone(),
        realm_id: realm.id.clone(),
        id: muster_store::ids::random_id(12),
        display_name: fields.display_name,
        external_id: fields.external_id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let members: Vec<String> = fields.members.into_iter().collect();
    let audit = Audit { actor: actor.to_owned(), at: now };
    let created = state.store.create_scim_group(&group, &members, &audit).await.map_err(member_error)?;
    redecide(state, realm, &created.concerned, actor).await;
    Ok(Written { group: created.group, changed: resource.keys().cloned().collect() })
}

/// `PUT /Groups/{id}`: the group becomes the resource sent.
pub async fn replace(
    state: &SharedState,
    realm: &Realm,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
    actor: &str,
) -> Result<Written, ServiceError> {
    let resource = normalize_resource(ResourceType::Group, body)?;
    let fields = GroupFields::of(&resource)?;
    let existing = load(state, realm, id).await?;
    let current = members(state, &existing).await?;
    let before: BTreeSet<String> = current.iter().map(|m| m.user_id.clone()).collect();
    let mut changed = Vec::new();
    if fields.display_name != existing.display_name {
        changed.push("displayName".to_owned());
    }
    if fields.external_id != existing.external_id {
        changed.push("externalId".to_owned());
    }
    if fields.members != before {
        changed.push("members".to_owned());
    }
    write(state, realm, existing, fields, &before, if_match, changed, actor).await
}

/// `PATCH /Groups/{id}`: applies the operations. Pure member adds and removes (how Entra and
/// Okta sync memberships) go straight to the store without reading the group's members, so a
/// large group costs no more to change than a small one; removing a non-member changes nothing.
pub async fn patch(
    state: &SharedState,
    realm: &Realm,
    id: &str,
    body: &Value,
    if_match: Option<i64>,
    actor: &str,
) -> Result<Written, ServiceError> {
    let request = PatchRequest::parse(body, ResourceType::Group)?;
    if let Some(edits) = request.member_edits() {
        return edit_members(state, realm, id, edits, if_match, actor).await;
    }
    let existing = load(state, realm, id).await?;
    let current = members(state, &existing).await?;
    let before: BTreeSet<String> = current.iter().map(|m| m.user_id.clone()).collect();
    let outcome = request.apply(&group_resource(&existing, &current, ""))?;
    if outcome.changed_attributes.is_empty() {
        return Ok(Written { group: existing, changed: Vec::new() });
    }
    let resource = normalize_resource(ResourceType::Group, &outcome.resource)?;
    let fields = GroupFields::of(&resource)?;
    write(state, realm, existing, fields, &before, if_match, outcome.changed_attributes, actor).await
}

/// Adds and removes members and re-decides them.
async fn edit_members(
    state: &SharedState,
    realm: &Realm,
    id: &str,
    edits: MemberEdits,
    if_match: Option<i64>,
    actor: &str,
) -> Result<Written, ServiceError> {
    let change = ScimGroupChange {
        members: MembersChange::Edit { add: edits.add, remove: edits.remove },
        expected_version: if_match,
        ..ScimGroupChange::default()
    };
    let audit = Audit { actor: actor.to_owned(), at: now_millis() };
    let written =
        state.store.change_scim_group(&realm.tenant_id, &realm.id, id, change, &audit).await.map_err(member_error)?;
    redecide(state, realm, &written.concerned, actor).await;
    let changed = if written.concerned.is_empty() { Vec::new() } else { vec!["members".to_owned()] };
    Ok(Written { group: written.group, changed })
}

/// Applies new fields to a stored group and re-decides the users whose groups changed.
#[allow(
    clippy::too_many_arguments,
    reason = "a group write carries the group, its new fields, the members before and the request context"
)]
async fn write(
    state: &SharedState,
    realm: &Realm,
    existing: ScimGroup,
    fields: GroupFields,
    before: &BTreeSet<String>,
    if_match: Option<i64>,
    changed: Vec<String>,
    actor: &str,
) -> Result<Written, ServiceError> {
    let renamed = fields.display_name != existing.display_name;
    let add: Vec<String> = fields.members.difference(before).cloned().collect();
    let remove: Vec<String> = before.difference(&fields.members).cloned().collect();
    let change = ScimGroupChange {
        display_name: renamed.then(|| fields.display_name.clone()),
        external_id: (fields.external_id != existing.external_id).then(|| fields.external_id.clone()),
        members: if add.is_empty() && remove.is_empty() {
            MembersChange::Keep
        } else {
            MembersChange::Edit { add, remove }
        },
        expected_version: if_match,
    };
    let audit = Audit { actor: actor.to_owned(), at: now_millis() };
    let written = state
        .store
        .change_scim_group(&realm.tenant_id, &realm.id, &existing.id, change, &audit)
        .await
        .map_err(member_error)?;
    redecide(state, realm, &written.concerned, actor).await;
    Ok(Written { group: written.group, changed })
}

/// `DELETE /Groups/{id}`: the group goes, and its former members are re-decided.
pub async fn delete(state: &SharedState, realm: &Realm, id: &str, actor: &str) -> Result<(), ServiceError> {
    load(state, realm, id).await?;
    let audit = Audit { actor: actor.to_owned(), at: now_millis() };
    let former = state.store.delete_scim_group(&realm.tenant_id, &realm.id, id, &audit).await?;
    redecide(state, realm, &former, actor).await;
    Ok(())
}

/// Runs the rules for each active user whose provider groups a group write changed (as the
/// store reports them), and
/// applies them, `scim_redecide_concurrency` (configured) at a time (their decisions are applied
/// by the store's writer, which takes them in batches). The group write has already happened: a
/// user the rules fail on keeps its previous decision, and the failure is logged and counted
/// (the next event re-decides).
async fn redecide(state: &SharedState, realm: &Realm, user_ids: &[String], actor: &str) {
    let decider = Decider::live(state);
    let decider = &decider;
    let runs = user_ids.iter().cloned().map(|user_id| async move {
        let result = decide::redecide(decider, realm, &user_id, Trigger::ScimGroupChange, actor).await;
        (user_id, result)
    });
    let mut results = futures_util::stream::iter(runs).buffer_unordered(state.config.scim_redecide_concurrency.get());
    while let Some((user_id, result)) = results.next().await {
        if let Err(error) = result {
            state.metrics.error(error.kind());
            tracing::warn!(realm = %realm.id, user = %user_id, %error, "group change: the user's decision was not updated");
        }
    }
}
