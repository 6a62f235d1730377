//! Applying checked operations to a resource's JSON: the mutability rules, the meaning of each
//! operation on single-valued, complex and multi-valued attributes and on value filters, and
//! the bookkeeping afterwards (the `schemas` list, the attributes that changed).

use serde_json::{Map, Value};

use super::{Change, Operation, PatchError};
use crate::filter::{Filter, Literal, Operator};
use crate::json;
use crate::path::PatchPath;
use crate::schema::{Attribute, AttributePath, AttributeType, Mutability, ResourceType, Schema};

/// Applies one operation to `resource`, then enforces the readOnly, immutable and required
/// rules for the attribute it targets.
pub(super) fn apply_operation(resource: &mut Map<String, Value>, operation: &Operation) -> Result<(), PatchError> {
    let context = |message: String| format!("Operations[{}]: {message}", operation.index);
    let path = &operation.path;
    let attribute_path = &path.attribute;
    let mutability = effective_mutability(attribute_path);

    if mutability == Mutability::ReadOnly {
        return if sets_current_value(resource, operation) {
            Ok(())
        } else {
            Err(PatchError::Mutability(context(format!("{attribute_path} is readOnly"))))
        };
    }
    let immutable_before = (mutability == Mutability::Immutable && target_has_value(resource, path))
        .then(|| current_value(resource, attribute_path).cloned());

    with_container(resource, attribute_path.extension, |container| change_attribute(container, operation))
        .map_err(|error| error.in_context(&context))?;

    if let Some(before) = immutable_before
        && before.as_ref() != current_value(resource, attribute_path)
    {
        return Err(PatchError::Mutability(context(format!("{attribute_path} is immutable: it has a value already"))));
    }
    let attribute = attribute_path.attribute;
    if attribute.required && current_value(resource, attribute_path).is_none_or(json::is_unassigned) {
        return Err(PatchError::Mutability(context(format!("{} is required; it cannot be removed", attribute.name))));
    }
    Ok(())
}

/// The more restrictive of the attribute's and the sub-attribute's mutability.
fn effective_mutability(path: &AttributePath) -> Mutability {
    let restrictiveness = |mutability| match mutability {
        Mutability::ReadOnly => 2,
        Mutability::Immutable => 1,
        Mutability::ReadWrite | Mutability::WriteOnly => 0,
    };
    match path.sub_attribute {
        Some(sub_attribute)
            if restrictiveness(sub_attribute.mutability) > restrictiveness(path.attribute.mutability) =>
        {
            sub_attribute.mutability
        }
        _ => path.attribute.mutability,
    }
}

/// Whether the operation is an `add`/`replace` without a value filter whose value is exactly
/// what the target holds already.
fn sets_current_value(resource: &Map<String, Value>, operation: &Operation) -> bool {
    let (Change::Add(value) | Change::Replace(value)) = &operation.change else { return false };
    if operation.path.value_filter.is_some() {
        return false;
    }
    let attribute_path = &operation.path.attribute;
    let current = current_value(resource, attribute_path);
    let current = match attribute_path.sub_attribute {
        Some(sub_attribute) => {
            current.and_then(Value::as_object).and_then(|members| json::get(members, sub_attribute.name))
        }
        None => current,
    };
    current == Some(value)
}

/// The value of the path's top-level attribute.
fn current_value<'r>(resource: &'r Map<String, Value>, path: &AttributePath) -> Option<&'r Value> {
    let container = match path.extension {
        Some(extension) => json::get(resource, extension.id)?.as_object()?,
        None => resource,
    };
    json::get(container, path.attribute.name)
}

/// Whether the path's target (after its value filter and sub-attribute) has a value.
fn target_has_value(resource: &Map<String, Value>, path: &PatchPath) -> bool {
    let Some(value) = current_value(resource, &path.attribute) else { return false };
    let elements: Vec<&Value> = match (&path.value_filter, value) {
        (Some(filter), Value::Array(items)) => items.iter().filter(|item| filter.matches(item)).collect(),
        (Some(_), _) => Vec::new(),
        (None, Value::Array(items)) => items.iter().collect(),
        (None, value) => vec![value],
    };
    elements.into_iter().any(|element| match path.attribute.sub_attribute {
        Some(sub_attribute) => element
            .as_object()
            .and_then(|members| json::get(members, sub_attribute.name))
            .is_some_and(|value| !json::is_unassigned(value)),
        None => !json::is_unassigned(element),
    })
}

/// Runs `change` on the object holding the attribute: the resource, or the extension's object,
/// created when missing and dropped when left empty.
fn with_container<T>(
    resource: &mut Map<String, Value>,
    extension: Option<&Schema>,
    change: impl FnOnce(&mut Map<String, Value>) -> T,
) -> T {
    let Some(extension) = extension else { return change(resource) };
    let mut container = match json::remove(resource, extension.id) {
        Some(Value::Object(members)) => members,
        _ => Map::new(),
    };
    let result = change(&mut container);
    if !container.is_empty() {
        resource.insert(extension.id.to_owned(), Value::Object(container));
    }
    result
}

/// Applies one operation to the object holding its attribute.
fn change_attribute(container: &mut Map<String, Value>, operation: &Operation) -> Result<(), PatchError> {
    let path = &operation.path;
    let attribute = path.attribute.attribute;
    match (&path.value_filter, path.attribute.sub_attribute) {
        (Some(filter), sub_attribute) => {
            change_elements(container, attribute, filter, sub_attribute, &operation.change)
        }
        (None, Some(sub_attribute)) => {
            change_sub_attribute(container, attribute, sub_attribute, &operation.change);
            Ok(())
        }
        (None, None) => {
            change_whole_attribute(container, attribute, &operation.change);
            Ok(())
        }
    }
}

/// `emails`, `name`, `active`, `members`…: the whole attribute.
fn change_whole_attribute(container: &mut Map<String, Value>, attribute: &Attribute, change: &Change) {
    let name = attribute.name;
    match change {
        Change::Unassign | Change::Remove => {
            json::remove(container, name);
        }
        Change::Add(new_elements) if attribute.multi_valued => {
            let mut elements = take_elements(container, name);
            for element in as_elements(new_elements) {
                if !elements.iter().any(|existing| same_element(attribute, existing, element)) {
                    elements.push(element.clone());
                }
            }
            set_or_unassign(container, name, Value::Array(elements));
        }
        Change::Add(Value::Object(members)) | Change::Replace(Value::Object(members))
            if attribute.kind == AttributeType::Complex && !attribute.multi_valued =>
        {
            // RFC 7644 §3.5.2.1 and §3.5.2.3: the given sub-attributes replace theirs, the
            // others stay.
            let mut merged = match json::remove(container, name) {
                Some(Value::Object(current)) => current,
                _ => Map::new(),
            };
            for (sub_name, value) in members {
                json::insert(&mut merged, sub_name, value.clone());
            }
            set_or_unassign(container, name, Value::Object(merged));
        }
        Change::Add(value) | Change::Replace(value) => set_or_unassign(container, name, value.clone()),
        Change::RemoveElements(removed) => {
            let mut elements = take_elements(container, name);
            elements.retain(|element| !removed.iter().any(|removed| same_element(attribute, element, removed)));
            set_or_unassign(container, name, Value::Array(elements));
        }
    }
}

/// `name.givenName`, `urn:…:manager.value`: a sub-attribute of a single-valued complex
/// attribute.
fn change_sub_attribute(
    container: &mut Map<String, Value>,
    attribute: &Attribute,
    sub_attribute: &Attribute,
    change: &Change,
) {
    let mut members = match json::remove(container, attribute.name) {
        Some(Value::Object(members)) => members,
        _ => Map::new(),
    };
    match change {
        Change::Add(value) | Change::Replace(value) => set_or_unassign(&mut members, sub_attribute.name, value.clone()),
        Change::Unassign | Change::Remove | Change::RemoveElements(_) => {
            json::remove(&mut members, sub_attribute.name);
        }
    }
    set_or_unassign(container, attribute.name, Value::Object(members));
}

/// `emails[type eq "work"]`, `emails[type eq "work"].value`, `members[value eq "…"]`: the
/// elements of a multi-valued attribute that match a value filter.
fn change_elements(
    container: &mut Map<String, Value>,
    attribute: &Attribute,
    filter: &Filter,
    sub_attribute: Option<&Attribute>,
    change: &Change,
) -> Result<(), PatchError> {
    let mut elements = take_elements(container, attribute.name);
    let matched = elements.iter().filter(|element| filter.matches(element)).count();
    match change {
        Change::Add(value) | Change::Replace(value) if matched == 0 => {
            let Some(mut element) = element_from_filter(filter) else {
                return Err(PatchError::NoTarget(format!(
                    "no element of {} matches the filter, and it does not say how to make one",
                    attribute.name
                )));
            };
            match (sub_attribute, value) {
                (Some(sub_attribute), value) => json::insert(&mut element, sub_attribute.name, value.clone()),
                (None, Value::Object(members)) => {
                    for (name, value) in members {
                        json::insert(&mut element, name, value.clone());
                    }
                }
                (None, _) => {}
            }
            elements.push(Value::Object(element));
        }
        Change::Add(value) | Change::Replace(value) => {
            for element in elements.iter_mut().filter(|element| filter.matches(element)) {
                match (sub_attribute, element.as_object_mut()) {
                    (Some(sub_attribute), Some(members)) => set_or_unassign(members, sub_attribute.name, value.clone()),
                    (Some(_), None) => {}
                    (None, _) => *element = value.clone(),
                }
            }
        }
        Change::Remove if matched == 0 => {
            return Err(PatchError::NoTarget(format!("no element of {} matches the filter", attribute.name)));
        }
        Change::Unassign | Change::Remove | Change::RemoveElements(_) => match sub_attribute {
            Some(sub_attribute) => {
                for element in elements.iter_mut().filter(|element| filter.matches(element)) {
                    if let Some(members) = element.as_object_mut() {
                        json::remove(members, sub_attribute.name);
                    }
                }
            }
            None => elements.retain(|element| !filter.matches(element)),
        },
    }
    set_or_unassign(container, attribute.name, Value::Array(elements));
    Ok(())
}

/// The element a value filter of equalities describes: `type eq "work"` gives
/// `{"type": "work"}`; `None` for any other filter.
fn element_from_filter(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare { path, operator: Operator::Equal, value } if *value != Literal::Null => {
            let mut element = Map::new();
            element.insert(path.attribute.name.to_owned(), value.to_json());
            Some(element)
        }
        Filter::And(terms) => {
            let mut element = Map::new();
            for term in terms {
                element.extend(element_from_filter(term)?);
            }
            Some(element)
        }
        _ => None,
    }
}

/// Removes and returns the elements of a multi-valued attribute.
fn take_elements(container: &mut Map<String, Value>, name: &str) -> Vec<Value> {
    match json::remove(container, name) {
        Some(Value::Array(elements)) => elements,
        None | Some(Value::Null) => Vec::new(),
        Some(single) => vec![single],
    }
}

/// The elements of a normalised multi-valued value.
fn as_elements(value: &Value) -> &[Value] {
    match value {
        Value::Array(elements) => elements,
        single => std::slice::from_ref(single),
    }
}

/// Whether two elements of a multi-valued attribute are the same: equal `value`
/// sub-attributes when both have one (compared as the schema says), equal JSON otherwise.
fn same_element(attribute: &Attribute, left: &Value, right: &Value) -> bool {
    match (attribute.sub_attribute("value"), value_of(left), value_of(right)) {
        (Some(value_attribute), Some(left), Some(right)) if value_attribute.case_exact => left == right,
        (Some(_), Some(left), Some(right)) => left.to_lowercase() == right.to_lowercase(),
        _ => left == right,
    }
}

/// The `value` sub-attribute of an element, if it is a string.
fn value_of(element: &Value) -> Option<&str> {
    json::get(element.as_object()?, "value")?.as_str()
}

/// Sets `name`, or removes it when `value` is unassigned (null, empty).
fn set_or_unassign(object: &mut Map<String, Value>, name: &str, value: Value) {
    if json::is_unassigned(&value) {
        json::remove(object, name);
    } else {
        json::insert(object, name, value);
    }
}

/// Keeps the `schemas` list in step with the extensions the resource has.
pub(super) fn sync_schemas(resource: &mut Map<String, Value>, resource_type: ResourceType) {
    let present: Vec<(&str, bool)> = resource_type
        .extensions()
        .iter()
        .map(|extension| {
            (extension.id, json::get(resource, extension.id).is_some_and(|value| !json::is_unassigned(value)))
        })
        .collect();
    let Some(Value::Array(schemas)) = json::get_mut(resource, "schemas") else { return };
    for (urn, is_present) in present {
        let listed = |schema: &Value| schema.as_str().is_some_and(|schema| schema.eq_ignore_ascii_case(urn));
        if !is_present {
            schemas.retain(|schema| !listed(schema));
        } else if !schemas.iter().any(listed) {
            schemas.push(Value::from(urn));
        }
    }
}

/// The top-level attributes whose value differs between `before` and `after`.
pub(super) fn changed_attributes(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    resource_type: ResourceType,
) -> Vec<String> {
    let core = resource_type.top_level_attributes().map(|attribute| AttributePath {
        extension: None,
        attribute,
        sub_attribute: None,
    });
    let extended = resource_type.extensions().iter().flat_map(|extension| {
        extension.attributes.iter().map(|attribute| AttributePath {
            extension: Some(extension),
            attribute,
            sub_attribute: None,
        })
    });
    core.chain(extended)
        .filter(|path| assigned(current_value(before, path)) != assigned(current_value(after, path)))
        .map(|path| path.to_string())
        .collect()
}

/// The value, unless it is unassigned.
fn assigned(value: Option<&Value>) -> Option<&Value> {
    value.filter(|value| !json::is_unassigned(value))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::patch::{PATCH_OP_SCHEMA, PatchError, PatchOutcome, PatchRequest};
    use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceType, USER_SCHEMA};

    const ENTERPRISE: &str = ENTERPRISE_USER_SCHEMA;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen",
            "userName": "bjensen@contoso.com",
            "active": true,
            "displayName": "Babs Jensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "babs@jensen.org", "type": "home"}],
            "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"}],
            "meta": {"resourceType": "User", "version": "W/\"1\""}
        })
    }

    fn group() -> Value {
        json!({
            "schemas": [GROUP_SCHEMA],
            "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
            "displayName": "Tour Guides",
            "members": [
                {"value": "2819c223-7f76-453a-919d-413861904646"},
                {"value": "902c246b-6245-4190-8e05-00816be7344a"}
            ]
        })
    }

    fn message(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
    }

    fn patch(resource_type: ResourceType, resource: &Value, operations: Value) -> Result<PatchOutcome, PatchError> {
        PatchRequest::parse(&message(operations), resource_type)?.apply(resource)
    }

    fn patch_user(operations: Value) -> Result<PatchOutcome, PatchError> {
        patch(ResourceType::User, &user(), operations)
    }

    fn patch_group(operations: Value) -> Result<PatchOutcome, PatchError> {
        patch(ResourceType::Group, &group(), operations)
    }

    #[test]
    fn entra_disables_a_user_with_a_string_boolean() {
        let outcome = patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
        assert_eq!(outcome.resource["active"], json!(false));
        assert_eq!(outcome.changed_attributes, ["active"]);
    }

    #[test]
    fn entra_updates_single_and_multi_valued_attributes() {
        let outcome = patch_user(json!([
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "barbara.jensen@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "Replace", "path": "userName", "value": "barbara.jensen@contoso.com"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}
        ]))
        .unwrap();
        assert_eq!(
            outcome.resource["emails"],
            json!([{"value": "babs@jensen.org", "type": "home"}, {"type": "work", "value": "barbara.jensen@contoso.com"}])
        );
        assert_eq!(outcome.resource["name"], json!({"givenName": "Barbara", "familyName": "Jensen-Smith"}));
        assert_eq!(outcome.resource["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));
        assert_eq!(outcome.changed_attributes, ["userName", "name", "emails", "phoneNumbers"]);

        // The next change to the work address updates the element made above.
        let again = patch(
            ResourceType::User,
            &outcome.resource,
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b.jensen@contoso.com"}]),
        )
        .unwrap();
        assert_eq!(again.resource["emails"][1], json!({"type": "work", "value": "b.jensen@contoso.com"}));
    }

    #[test]
    fn entra_pathless_add_with_dotted_and_urn_keys() {
        let outcome = patch_user(json!([{
            "op": "Add",
            "value": {
                "displayName": "Barbara Jensen",
                "name.givenName": "Barb",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour Operations",
                "active": "True"
            }
        }]))
        .unwrap();
        let resource = &outcome.resource;
        assert_eq!(resource["displayName"], "Barbara Jensen");
        assert_eq!(resource["name"]["givenName"], "Barb");
        assert_eq!(resource[ENTERPRISE], json!({"employeeNumber": "701984", "department": "Tour Operations"}));
        assert_eq!(resource["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
        assert_eq!(
            outcome.changed_attributes,
            [
                "name",
                "displayName",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
            ]
        );
    }

    #[test]
    fn pathless_extension_object_and_manager_as_a_bare_id() {
        let outcome = patch_user(json!([
            {"op": "replace", "value": {ENTERPRISE: {"costCenter": "4130", "Division": "Theme Park"}, "schemas": [USER_SCHEMA, ENTERPRISE]}},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        ]))
        .unwrap();
        assert_eq!(
            outcome.resource[ENTERPRISE],
            json!({"costCenter": "4130", "division": "Theme Park", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}})
        );
        assert_eq!(outcome.resource["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
    }

    #[test]
    fn removing_the_last_extension_attribute_drops_the_extension() {
        let mut manager_only = user();
        manager_only[ENTERPRISE] = json!({"manager": {"value": "26118915"}});
        manager_only["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
        let outcome = patch(
            ResourceType::User,
            &manager_only,
            json!([{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"}]),
        )
        .unwrap();
        assert_eq!(outcome.resource.get(ENTERPRISE), None);
        assert_eq!(outcome.resource["schemas"], json!([USER_SCHEMA]));
        assert_eq!(outcome.changed_attributes, ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"]);
    }

    #[test]
    fn entra_adds_and_removes_members() {
        let outcome = patch_group(json!([
            {"op": "Add", "path": "members", "value": [
                {"$ref": null, "value": "f648f8d5-ea4e-4cd3-8e9c-0b3d6c3d5e1a"},
                {"$ref": null, "value": "2819c223-7f76-453a-919d-413861904646"}
            ]},
            {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "902c246b-6245-4190-8e05-00816be7344a"}]}
        ]))
        .unwrap();
        assert_eq!(
            outcome.resource["members"],
            json!([{"value": "2819c223-7f76-453a-919d-413861904646"}, {"value": "f648f8d5-ea4e-4cd3-8e9c-0b3d6c3d5e1a"}])
        );
        assert_eq!(outcome.changed_attributes, ["members"]);
    }

    #[test]
    fn okta_adds_members_with_display_and_removes_by_filter() {
        let outcome = patch_group(json!([
            {"op": "add", "path": "members", "value": [{"value": "00u1dhhb1fkIGP7RL1d8", "display": "dade.murphy@example.com"}]},
            {"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}
        ]))
        .unwrap();
        assert_eq!(
            outcome.resource["members"],
            json!([{"value": "902c246b-6245-4190-8e05-00816be7344a"}, {"value": "00u1dhhb1fkIGP7RL1d8"}])
        );
        let error =
            patch_group(json!([{"op": "remove", "path": "members[value eq \"00u-not-a-member\"]"}])).unwrap_err();
        assert_eq!(error, PatchError::NoTarget("Operations[0]: no element of members matches the filter".into()));
    }

    #[test]
    fn okta_renames_a_group_repeating_its_id() {
        let outcome = patch_group(json!([{
            "op": "replace",
            "value": {"id": "e9e30dba-f08f-4109-8486-d5c6a331660a", "displayName": "Tour Guides EMEA"}
        }]))
        .unwrap();
        assert_eq!(outcome.resource["displayName"], "Tour Guides EMEA");
        assert_eq!(outcome.changed_attributes, ["displayName"]);

        let error =
            patch_group(json!([{"op": "replace", "value": {"id": "another-id", "displayName": "x"}}])).unwrap_err();
        assert_eq!(error, PatchError::Mutability("Operations[0]: id is readOnly".into()));
    }

    #[test]
    fn replacing_a_list_and_emptying_it() {
        let outcome =
            patch_group(json!([{"op": "replace", "path": "members", "value": [{"value": "c75ad752"}]}])).unwrap();
        assert_eq!(outcome.resource["members"], json!([{"value": "c75ad752"}]));
        let outcome = patch_group(json!([{"op": "replace", "path": "members", "value": []}])).unwrap();
        assert_eq!(outcome.resource.get("members"), None);
        let outcome = patch_group(json!([{"op": "remove", "path": "members"}])).unwrap();
        assert_eq!(outcome.resource.get("members"), None);
    }

    #[test]
    fn adding_existing_elements_changes_nothing() {
        let outcome = patch_group(json!([
            {"op": "add", "path": "members", "value": [{"value": "2819c223-7f76-453a-919d-413861904646"}]},
            {"op": "replace", "path": "displayName", "value": "Tour Guides"}
        ]))
        .unwrap();
        assert_eq!(outcome.resource, group());
        assert!(outcome.changed_attributes.is_empty());
    }

    #[test]
    fn complex_values_merge_and_null_unassigns() {
        let outcome = patch_user(json!([
            {"op": "replace", "path": "name", "value": {"givenName": "Babs", "middleName": "Jane"}},
            {"op": "replace", "path": "displayName", "value": null},
            {"op": "add", "path": "emails[type eq \"home\"]", "value": {"value": "b@jensen.org", "type": "home", "primary": "true"}}
        ]))
        .unwrap();
        assert_eq!(
            outcome.resource["name"],
            json!({"givenName": "Babs", "middleName": "Jane", "familyName": "Jensen"})
        );
        assert_eq!(outcome.resource.get("displayName"), None);
        assert_eq!(outcome.resource["emails"], json!([{"value": "b@jensen.org", "type": "home", "primary": true}]));
    }

    #[test]
    fn removing_through_a_value_filter() {
        let outcome = patch_user(json!([{"op": "remove", "path": "emails[type eq \"home\"].value"}])).unwrap();
        assert_eq!(outcome.resource["emails"], json!([{"type": "home"}]));
        let outcome = patch_user(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
        assert_eq!(outcome.resource.get("emails"), None);
        // Unassigning with null where nothing matches is fine; removing is not.
        let outcome =
            patch_user(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": null}])).unwrap();
        assert!(outcome.changed_attributes.is_empty());
        let error = patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"].value"}])).unwrap_err();
        assert!(matches!(error, PatchError::NoTarget(_)), "{error:?}");
        // A filter that is not a set of equalities cannot make a new element.
        let error =
            patch_user(json!([{"op": "add", "path": "emails[value co \"@contoso.com\"].type", "value": "work"}]))
                .unwrap_err();
        assert_eq!(
            error,
            PatchError::NoTarget(
                "Operations[0]: no element of emails matches the filter, and it does not say how to make one".into()
            )
        );
    }

    #[test]
    fn read_only_immutable_and_required_attributes() {
        let cases = [
            (json!({"op": "replace", "path": "id", "value": "0000"}), "id is readOnly"),
            (json!({"op": "add", "path": "groups", "value": [{"value": "e9e30dba"}]}), "groups is readOnly"),
            (json!({"op": "replace", "path": "meta.version", "value": "W/\"2\""}), "meta.version is readOnly"),
            (json!({"op": "replace", "value": {"meta": {"version": "W/\"2\""}}}), "meta is readOnly"),
            (json!({"op": "remove", "path": "userName"}), "userName is required; it cannot be removed"),
            (json!({"op": "replace", "path": "userName", "value": ""}), "userName is required; it cannot be removed"),
        ];
        for (operation, message) in cases {
            let error =
                patch_user(json!([{"op": "replace", "path": "title", "value": "Guide"}, operation])).unwrap_err();
            assert_eq!(error, PatchError::Mutability(format!("Operations[1]: {message}")));
        }
        let error = patch_group(json!([{"op": "replace", "path": "displayName", "value": null}])).unwrap_err();
        assert_eq!(
            error,
            PatchError::Mutability("Operations[0]: displayName is required; it cannot be removed".into())
        );
        let error = patch_group(json!([{
            "op": "replace",
            "path": "members[value eq \"902c246b-6245-4190-8e05-00816be7344a\"].value",
            "value": "c75ad752"
        }]))
        .unwrap_err();
        assert_eq!(
            error,
            PatchError::Mutability("Operations[0]: members.value is immutable: it has a value already".into())
        );
        // Setting a readOnly attribute to what it is already is harmless.
        let outcome =
            patch_user(json!([{"op": "replace", "path": "id", "value": "2819c223-7f76-453a-919d-413861904646"}]))
                .unwrap();
        assert!(outcome.changed_attributes.is_empty());
    }

    #[test]
    fn a_failing_operation_fails_the_whole_request() {
        let request = PatchRequest::parse(
            &message(json!([
                {"op": "replace", "path": "displayName", "value": "Someone Else"},
                {"op": "remove", "path": "emails[type eq \"work\"]"}
            ])),
            ResourceType::User,
        )
        .unwrap();
        assert!(matches!(request.apply(&user()), Err(PatchError::NoTarget(_))));
        assert_eq!(
            request.apply(&json!(["not", "a", "resource"])),
            Err(PatchError::InvalidValue("the resource to patch is not a JSON object".into()))
        );
    }

    #[test]
    fn odd_stored_shapes_are_tolerated() {
        let odd = json!({
            "schemas": "not-a-list",
            "id": "2819c223",
            "userName": "bjensen",
            "emails": "bjensen@example.com",
            "name": ["Barbara"],
            ENTERPRISE: "not-an-object"
        });
        let outcome = patch(
            ResourceType::User,
            &odd,
            json!([
                {"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@example.com"},
                {"op": "replace", "path": "name.givenName", "value": "Barbara"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"}
            ]),
        )
        .unwrap();
        assert_eq!(
            outcome.resource["emails"],
            json!(["bjensen@example.com", {"type": "work", "value": "b@example.com"}])
        );
        assert_eq!(outcome.resource["name"], json!({"givenName": "Barbara"}));
        assert_eq!(outcome.resource[ENTERPRISE], json!({"department": "Sales"}));
        assert_eq!(outcome.resource["schemas"], "not-a-list");
    }

    #[test]
    fn attribute_names_in_the_resource_are_case_insensitive() {
        let mut shouting = user();
        let members = shouting.as_object_mut().unwrap();
        let display_name = members.remove("displayName").unwrap();
        members.insert("DISPLAYNAME".into(), display_name);
        let outcome =
            patch(ResourceType::User, &shouting, json!([{"op": "replace", "path": "displayname", "value": "Babs"}]))
                .unwrap();
        assert_eq!(outcome.resource.get("DISPLAYNAME"), None);
        assert_eq!(outcome.resource["displayName"], "Babs");
        assert_eq!(outcome.changed_attributes, ["displayName"]);
    }
}
