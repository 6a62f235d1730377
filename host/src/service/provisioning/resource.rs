//! Users and groups as SCIM resources, and back: checking what a client sent against the
//! schema, the columns a SCIM user fills, and the resources
//! Muster answers.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::service::error::ServiceError;
use muster_scim::{
    schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability, ResourceType, USER_SCHEMA, is_urn},
    value::normalize,
};
use muster_store::model::{GroupMember, Millis, ScimGroup, UserRecord, UserStatus};

/// Attributes Muster keeps in its own columns rather than in the stored SCIM document.
const USER_COLUMNS: &[&str] = &["id", "externalId", "userName", "active", "meta", "groups", "schemas"];

/// Checks a resource a client sent (a `POST` or `PUT` body, or a patched resource) against the
/// schema: attribute names get their schema spelling, values their normal form, extension
/// attributes are checked in their extension. Read-only attributes are ignored (RFC 7644
/// §3.3), and so are attributes the schema does not have: clients send more than they must.
pub fn normalize_resource(resource_type: ResourceType, body: &Value) -> Result<Map<String, Value>, ServiceError> {
    let Value::Object(members) = body else {
        return Err(ServiceError::Malformed("the body must be a JSON object".into()));
    };
    let mut normalized = Map::new();
    for (name, value) in members {
        if is_urn(name) {
            if let Some(extension) = resource_type.extension(name) {
                let Value::Object(extension_members) = value else {
                    return Err(invalid_value(format!("'{name}' must be an object")));
                };
                let mut checked = Map::new();
                for (member, member_value) in extension_members {
                    let Some(attribute) = extension.attribute(member) else { continue };
                    let value = normalize(attribute, member_value).map_err(|e| invalid_value(e.to_string()))?;
                    if attribute.mutability != Mutability::ReadOnly && !value.is_null() {
                        checked.insert(attribute.name.to_owned(), value);
                    }
                }
                if !checked.is_empty() {
                    normalized.insert(extension.id.to_owned(), Value::Object(checked));
                }
            }
            continue;
        }
        let Some(attribute) = resource_type.top_level_attribute(name) else { continue };
        if attribute.mutability == Mutability::ReadOnly {
            continue;
        }
        let value = normalize(attribute, value).map_err(|e| invalid_value(e.to_string()))?;
        if !value.is_null() {
            normalized.insert(attribute.name.to_owned(), value);
        }
    }
    Ok(normalized)
}

/// What a SCIM user resource says about the columns Muster keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFields {
    /// `userName` (required, not blank).
    pub user_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `active` (absent: `true`).
    pub active: bool,
    /// `displayName`.
    pub display_name: Option<String>,
    /// The primary e-mail address, or the first.
    pub email: Option<String>,
}

impl UserFields {
    /// Reads the fields of a normalized user resource.
    pub fn of(resource: &Map<String, Value>) -> Result<UserFields, ServiceError> {
        let user_name = text(resource, "userName").map(str::trim).filter(|name| !name.is_empty());
        let Some(user_name) = user_name else {
            return Err(invalid_value("userName is required and must not be blank"));
        };
        Ok(UserFields {
            user_name: user_name.to_owned(),
            external_id: text(resource, "externalId").filter(|id| !id.is_empty()).map(str::to_owned),
            active: resource.get("active").and_then(Value::as_bool).unwrap_or(true),
            display_name: text(resource, "displayName").map(str::to_owned),
            email: primary_email(resource),
        })
    }

    /// Writes the fields and the SCIM document into `user`.
    pub fn write_into(&self, user: &mut UserRecord, resource: &Map<String, Value>) {
        user.user_name = self.user_name.clone();
        user.external_id = self.external_id.clone();
        user.display_name = self.display_name.clone();
        user.email = self.email.clone();
        user.scim = Some(stored_document(resource));
    }
}

/// The part of a user resource kept as its SCIM document: everything but what has a column.
fn stored_document(resource: &Map<String, Value>) -> Value {
    let kept = resource.iter().filter(|(name, _)| !USER_COLUMNS.contains(&name.as_str()));
    Value::Object(kept.map(|(name, value)| (name.clone(), value.clone())).collect())
}

fn primary_email(resource: &Map<String, Value>) -> Option<String> {
    let emails = resource.get("emails")?.as_array()?;
    let primary = emails.iter().find(|email| email.get("primary").and_then(Value::as_bool) == Some(true));
    primary.or_else(|| emails.first())?.get("value")?.as_str().map(str::to_owned)
}

fn text<'a>(resource: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    resource.get(name).and_then(Value::as_str)
}

/// A user as a SCIM resource: its SCIM document, its columns, the groups it counts as a member
/// of, and `meta`. `base` is the realm's SCIM base URL (`…/v2`), without a trailing slash.
pub fn user_resource(user: &UserRecord, groups: &[ScimGroup], base: &str) -> Value {
    let mut resource = match &user.scim {
        Some(Value::Object(document)) => document.clone(),
        _ => login_document(user),
    };
    let mut schemas = vec![json!(USER_SCHEMA)];
    if resource.contains_key(ENTERPRISE_USER_SCHEMA) {
        schemas.push(json!(ENTERPRISE_USER_SCHEMA));
    }
    resource.insert("schemas".into(), Value::Array(schemas));
    resource.insert("id".into(), json!(user.id));
    if let Some(external_id) = &user.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("userName".into(), json!(user.user_name));
    resource.insert("active".into(), json!(user.status == UserStatus::Active));
    if !groups.is_empty() {
        let groups: Vec<Value> = groups
            .iter()
            .map(|g| json!({"value": g.id, "display": g.display_name, "$ref": format!("{base}/Groups/{}", g.id), "type": "direct"}))
            .collect();
        resource.insert("groups".into(), Value::Array(groups));
    }
    resource.insert("meta".into(), meta("User", base, &user.id, user.created_at, user.updated_at, user.version));
    Value::Object(resource)
}

/// The SCIM document of a user only ever seen at login: its display name and e-mail.
fn login_document(user: &UserRecord) -> Map<String, Value> {
    let mut document = Map::new();
    if let Some(display_name) = &user.display_name {
        document.insert("displayName".into(), json!(display_name));
    }
    if let Some(email) = &user.email {
        document.insert("emails".into(), json!([{"value": email, "primary": true}]));
    }
    document
}

/// A group as a SCIM resource, with the members that count (active users).
pub fn group_resource(group: &ScimGroup, members: &[GroupMember], base: &str) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({"value": m.user_id, "$ref": format!("{base}/Users/{}", m.user_id), "type": "User"}))
        .collect();
    let mut resource = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id,
        "displayName": group.display_name,
        "members": members,
        "meta": meta("Group", base, &group.id, group.created_at, group.updated_at, group.version),
    });
    if let Some(external_id) = &group.external_id {
        resource["externalId"] = json!(external_id);
    }
    resource
}

/// The weak ETag of a resource version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn meta(resource_type: &str, base: &str, id: &str, created: Millis, modified: Millis, version: i64) -> Value {
    let endpoint = if resource_type == "User" { "Users" } else { "Groups" };
    json!({
        "resourceType": resource_type,
        "created": rfc3339(created),
        "lastModified": rfc3339(modified),
        "location": format!("{base}/{endpoint}/{id}"),
        "version": etag(version),
    })
}

/// A Unix-millisecond time as RFC 3339 (UTC).
pub fn rfc3339(millis: Millis) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or_default());
    humantime::format_rfc3339_millis(at).to_string()
}

/// A value the schema does not allow.
pub fn invalid_value(detail: impl Into<String>) -> ServiceError {
    ServiceError::InvalidValue(detail.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_keeps_known_attributes_in_schema_spelling_and_drops_the_rest() {
        let body = json!({
            "schemas": [USER_SCHEMA],
            "USERNAME": "Ada@Acme.com",
            "Active": "False",
            "id": "client-chosen",
            "password": "never stored",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "Sales", "manager": "m-1"},
        });
        let normalized = normalize_resource(ResourceType::User, &body).unwrap();
        assert_eq!(normalized.get("userName"), Some(&json!("Ada@Acme.com")));
        assert_eq!(normalized.get("active"), Some(&json!(false)));
        assert!(!normalized.contains_key("id") && !normalized.contains_key("password"));
        let enterprise = &normalized[ENTERPRISE_USER_SCHEMA];
        assert_eq!(enterprise["department"], "Sales");
        assert_eq!(enterprise["manager"], json!({"value": "m-1"}));
    }

    #[test]
    fn wrong_types_are_invalid_values() {
        let error = normalize_resource(ResourceType::User, &json!({"userName": "a", "active": 5})).unwrap_err();
        assert!(matches!(error, ServiceError::InvalidValue(_)), "{error:?}");
        let error =
            UserFields::of(&normalize_resource(ResourceType::User, &json!({"userName": "  "})).unwrap()).unwrap_err();
        assert!(matches!(error, ServiceError::InvalidValue(_)), "{error:?}");
        let error = normalize_resource(ResourceType::User, &json!(["not", "an", "object"])).unwrap_err();
        assert!(matches!(error, ServiceError::Malformed(_)), "{error:?}");
    }

    #[test]
    fn the_rules_see_core_and_enterprise_attributes_as_string_lists() {
        let document = json!({
            "title": "Sales Manager",
            "name": {"givenName": "Ada"},
            "emails": [{"value": "ada@acme.com", "type": "work"}, {"value": "ada@home.org"}],
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m-1"}},
        });
        let attributes = crate::decision::input::scim_attributes(&document);
        assert_eq!(attributes["title"], ["Sales Manager"]);
        assert_eq!(attributes["givenName"], ["Ada"]);
        assert_eq!(attributes["emails"], ["ada@acme.com", "ada@home.org"]);
        assert_eq!(attributes["department"], ["Sales"]);
        assert_eq!(attributes["manager"], ["m-1"]);
        assert!(!attributes.contains_key("familyName"));
    }

    #[test]
    fn primary_email_wins_over_the_first() {
        let resource = normalize_resource(
            ResourceType::User,
            &json!({"userName": "a", "emails": [{"value": "first@x"}, {"value": "primary@x", "primary": true}]}),
        )
        .unwrap();
        assert_eq!(UserFields::of(&resource).unwrap().email.as_deref(), Some("primary@x"));
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
