//! Which attributes a response carries: the `attributes` and `excludedAttributes` parameters
//! (RFC 7644 §3.9) together with each attribute's `returned` characteristic (RFC 7643 §7).
//!
//! * `returned: always` (`id`, and the `schemas` list) is in every response;
//! * `returned: never` is in none;
//! * with `attributes`, only the attributes (or sub-attributes) named, plus the always-returned
//!   ones; `meta` is `returned: default`, so it goes too unless named;
//! * otherwise every `default` attribute but those `excludedAttributes` names, and no
//!   `request` attribute;
//! * naming a sub-attribute (`name.givenName`) keeps or drops just that part of the complex
//!   value, in every element of a multi-valued one (`emails.value`).
//!
//! When both parameters are given, `attributes` decides (`excludedAttributes` only narrows the
//! default set).

use serde_json::{Map, Value};

use super::schema::{Attribute, AttributePath, AttributeType, ResourceType, Returned, Schema};

/// The attributes to return for resources of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeSelection {
    resource_type: ResourceType,
    attributes: Vec<AttributePath>,
    excluded_attributes: Vec<AttributePath>,
}

/// An `attributes` or `excludedAttributes` entry that names no attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter} names '{name}', which is no attribute of a {resource_type}")]
pub struct SelectionError {
    /// `attributes` or `excludedAttributes`.
    pub parameter: &'static str,
    /// The name given.
    pub name: String,
    /// The resource type's name.
    pub resource_type: &'static str,
}

/// Whether a list of paths names an attribute whole, one of its sub-attributes, or a given one.
#[derive(Clone, Copy)]
enum Naming<'a> {
    Whole,
    AnySubAttribute,
    SubAttribute(&'a Attribute),
}

impl AttributeSelection {
    /// The default set: what a response carries when the client names no attributes.
    pub fn default_for(resource_type: ResourceType) -> AttributeSelection {
        AttributeSelection { resource_type, attributes: Vec::new(), excluded_attributes: Vec::new() }
    }

    /// From the `attributes` and `excludedAttributes` query parameters: comma-separated
    /// attribute paths, case-insensitive, optionally URN-qualified.
    pub fn from_query(
        attributes: Option<&str>,
        excluded_attributes: Option<&str>,
        resource_type: ResourceType,
    ) -> Result<AttributeSelection, SelectionError> {
        AttributeSelection::new(split_list(attributes), split_list(excluded_attributes), resource_type)
    }

    /// From lists of attribute paths (as in a `SearchRequest` body).
    pub fn new<'n>(
        attributes: impl IntoIterator<Item = &'n str>,
        excluded_attributes: impl IntoIterator<Item = &'n str>,
        resource_type: ResourceType,
    ) -> Result<AttributeSelection, SelectionError> {
        Ok(AttributeSelection {
            resource_type,
            attributes: resolve_all("attributes", attributes, resource_type)?,
            excluded_attributes: resolve_all("excludedAttributes", excluded_attributes, resource_type)?,
        })
    }

    /// The resource with only the selected attributes. Members that are no attribute of the
    /// resource type are kept in the default set and dropped when `attributes` is given.
    pub fn project(&self, resource: &Value) -> Value {
        let Some(members) = resource.as_object() else { return resource.clone() };
        let mut projected = Map::new();
        for (name, value) in members {
            if name.eq_ignore_ascii_case("schemas") {
                projected.insert(name.clone(), value.clone());
            } else if let Some(extension) = self.resource_type.extension(name) {
                if let Some(extension_members) = value.as_object() {
                    let kept = self.project_members(extension_members, Some(extension));
                    if !kept.is_empty() {
                        projected.insert(name.clone(), Value::Object(kept));
                    }
                }
            } else {
                self.project_member(&mut projected, name, value, None);
            }
        }
        Value::Object(projected)
    }

    fn project_members(&self, members: &Map<String, Value>, extension: Option<&'static Schema>) -> Map<String, Value> {
        let mut projected = Map::new();
        for (name, value) in members {
            self.project_member(&mut projected, name, value, extension);
        }
        projected
    }

    fn project_member(
        &self,
        projected: &mut Map<String, Value>,
        name: &str,
        value: &Value,
        extension: Option<&'static Schema>,
    ) {
        let attribute = match extension {
            Some(extension) => extension.attribute(name),
            None => self.resource_type.top_level_attribute(name),
        };
        match attribute {
            Some(attribute) => {
                if self.keeps_attribute(extension, attribute) {
                    projected.insert(name.to_owned(), self.project_sub_attributes(extension, attribute, value));
                }
            }
            None => {
                if self.attributes.is_empty() {
                    projected.insert(name.to_owned(), value.clone());
                }
            }
        }
    }

    fn keeps_attribute(&self, extension: Option<&Schema>, attribute: &Attribute) -> bool {
        let requested = |naming| names(&self.attributes, extension, attribute, naming);
        match attribute.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default if self.attributes.is_empty() => {
                !names(&self.excluded_attributes, extension, attribute, Naming::Whole)
            }
            Returned::Default | Returned::Request => requested(Naming::Whole) || requested(Naming::AnySubAttribute),
        }
    }

    /// The value of a kept attribute with only the selected sub-attributes, in every element.
    fn project_sub_attributes(&self, extension: Option<&Schema>, attribute: &Attribute, value: &Value) -> Value {
        match value {
            Value::Array(elements) => Value::Array(
                elements.iter().map(|element| self.project_element(extension, attribute, element)).collect(),
            ),
            single => self.project_element(extension, attribute, single),
        }
    }

    /// One value of a complex attribute with only the selected sub-attributes.
    fn project_element(&self, extension: Option<&Schema>, attribute: &Attribute, element: &Value) -> Value {
        match element {
            Value::Object(members) if attribute.kind == AttributeType::Complex => Value::Object(
                members
                    .iter()
                    .filter(|(name, _)| self.keeps_sub_attribute(extension, attribute, name))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn keeps_sub_attribute(&self, extension: Option<&Schema>, attribute: &Attribute, name: &str) -> bool {
        let whole_requested = names(&self.attributes, extension, attribute, Naming::Whole);
        let Some(sub_attribute) = attribute.sub_attribute(name) else {
            return self.attributes.is_empty() || whole_requested;
        };
        let requested = names(&self.attributes, extension, attribute, Naming::SubAttribute(sub_attribute));
        match sub_attribute.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default if self.attributes.is_empty() => {
                !names(&self.excluded_attributes, extension, attribute, Naming::SubAttribute(sub_attribute))
            }
            Returned::Default => whole_requested || requested,
            Returned::Request => requested,
        }
    }
}

/// The names in a comma-separated list, trimmed, empty ones skipped.
fn split_list(list: Option<&str>) -> impl Iterator<Item = &str> {
    list.unwrap_or_default().split(',').map(str::trim).filter(|name| !name.is_empty())
}

fn resolve_all<'n>(
    parameter: &'static str,
    names: impl IntoIterator<Item = &'n str>,
    resource_type: ResourceType,
) -> Result<Vec<AttributePath>, SelectionError> {
    names
        .into_iter()
        .map(|name| {
            resource_type.find_attribute(name).ok_or_else(|| SelectionError {
                parameter,
                name: name.to_owned(),
                resource_type: resource_type.name(),
            })
        })
        .collect()
}

/// Whether `paths` names `attribute` (of `extension`, or a core one) as `naming` says.
fn names(paths: &[AttributePath], extension: Option<&Schema>, attribute: &Attribute, naming: Naming<'_>) -> bool {
    paths.iter().any(|path| {
        path.extension.map(|schema| schema.id) == extension.map(|schema| schema.id)
            && path.attribute.name == attribute.name
            && match (naming, path.sub_attribute) {
                (Naming::Whole, sub_attribute) => sub_attribute.is_none(),
                (Naming::AnySubAttribute, sub_attribute) => sub_attribute.is_some(),
                (Naming::SubAttribute(wanted), Some(sub_attribute)) => sub_attribute.name == wanted.name,
                (Naming::SubAttribute(_), None) => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn barbara() -> Value {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen",
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Tour Operations",
                "manager": {"value": "26118915", "displayName": "John Smith"}
            },
            "meta": {"resourceType": "User", "version": "W/\"3694e05e9dff590\""}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        AttributeSelection::from_query(attributes, excluded, ResourceType::User).unwrap().project(&barbara())
    }

    #[test]
    fn the_default_set_is_everything_stored() {
        assert_eq!(project(None, None), barbara());
        assert_eq!(AttributeSelection::default_for(ResourceType::User).project(&barbara()), barbara());
    }

    #[test]
    fn attributes_keeps_those_named_plus_id_and_schemas() {
        assert_eq!(
            project(Some("userName,name.givenName"), None),
            json!({
                "schemas": barbara()["schemas"],
                "id": "2819c223-7f76-453a-919d-413861904646",
                "userName": "bjensen@example.com",
                "name": {"givenName": "Barbara"}
            })
        );
        assert_eq!(
            project(Some(" EMAILS.VALUE , urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"), None),
            json!({
                "schemas": barbara()["schemas"],
                "id": "2819c223-7f76-453a-919d-413861904646",
                "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "manager": {"value": "26118915", "displayName": "John Smith"}
                }
            })
        );
    }

    #[test]
    fn excluded_attributes_drop_those_named_but_never_id() {
        let projected = project(
            None,
            Some("groups,emails.primary,meta,id,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        );
        let mut expected = barbara();
        let members = expected.as_object_mut().unwrap();
        members.remove("groups");
        members.remove("meta");
        expected["emails"][0].as_object_mut().unwrap().remove("primary");
        expected["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            .as_object_mut()
            .unwrap()
            .remove("department");
        assert_eq!(projected, expected);
        // An extension left with nothing disappears.
        let projected = project(
            None,
            Some(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            ),
        );
        assert!(projected.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_none());
    }

    #[test]
    fn entra_excludes_group_members() {
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
            "displayName": "Tour Guides",
            "members": [{"value": "2819c223-7f76-453a-919d-413861904646"}]
        });
        let selection = AttributeSelection::from_query(None, Some("members"), ResourceType::Group).unwrap();
        assert_eq!(
            selection.project(&group),
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "displayName": "Tour Guides"
            })
        );
    }

    #[test]
    fn never_and_request_returned_attributes() {
        static SECRET: Attribute = Attribute {
            name: "title",
            kind: AttributeType::String,
            multi_valued: false,
            description: "",
            required: false,
            case_exact: false,
            mutability: crate::schema::Mutability::WriteOnly,
            returned: Returned::Never,
            uniqueness: crate::schema::Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        };
        let selection = AttributeSelection::default_for(ResourceType::User);
        assert!(!selection.keeps_attribute(None, &SECRET));
        let requested = AttributeSelection::from_query(Some("title"), None, ResourceType::User).unwrap();
        assert!(!requested.keeps_attribute(None, &SECRET));
        let on_request = Attribute { returned: Returned::Request, ..SECRET };
        assert!(!selection.keeps_attribute(None, &on_request));
        assert!(requested.keeps_attribute(None, &on_request));
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(
            AttributeSelection::from_query(Some("userName,favouriteColour"), None, ResourceType::User),
            Err(SelectionError { parameter: "attributes", name: "favouriteColour".into(), resource_type: "User" })
        );
        assert_eq!(
            AttributeSelection::from_query(None, Some("userName"), ResourceType::Group).unwrap_err().to_string(),
            "excludedAttributes names 'userName', which is no attribute of a Group"
        );
    }
}
