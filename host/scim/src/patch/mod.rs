//! Applying a PATCH request (RFC 7644 §3.5.2) to a resource in its SCIM JSON form.
//!
//! [`PatchRequest::parse`] reads the `PatchOp` message and checks every operation against the
//! schema before the resource is even loaded: paths, value types, unknown attributes.
//! [`PatchRequest::apply`] then applies the operations in order to a copy of the resource, all
//! or nothing, and reports which attributes changed.
//!
//! What Entra ID and Okta send, and how it is read:
//!
//! * `op` in any case (`Add`, `Replace`, `Remove`), the `Operations` key in any case;
//! * path-less `add`/`replace` whose value is an object of attributes, keyed by plain names,
//!   dotted names (`name.givenName`), URN-qualified names
//!   (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`) or an extension
//!   URN whose value is an object of its attributes; a `schemas` key is ignored;
//! * `"True"`/`"False"` strings for booleans, a bare id for `manager` (see [`super::value`]);
//! * `null` as a value: unassign the target;
//! * `add` to a multi-valued attribute appends the elements not already there (elements with
//!   a `value` sub-attribute are the same when their `value`s are); `replace` without a filter
//!   replaces the whole list;
//! * `add`/`replace` of `emails[type eq "work"].value` when no element matches creates
//!   `{"type": "work", "value": …}`: the filter's equalities make the new element;
//! * `remove` of `members` with a `value` array of `{"value": id}` removes those members;
//! * `remove` with a value filter that matches nothing: `noTarget`;
//! * changing a readOnly attribute (`id`, `meta`, `groups`): `mutability`, unless the value
//!   given is the current one (Okta repeats the `id` in path-less replaces); changing an
//!   immutable one once it has a value, or removing a required one: `mutability`.

mod apply;

use serde_json::{Map, Value};

use super::filter::{Filter, Literal, Operator};
use super::json;
use super::path::PatchPath;
use super::schema::{AttributePath, ResourceType};
use super::value::{self, ValueError};

/// URN of the PATCH request message.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Why a PATCH request was refused; each variant is the SCIM `scimType` of the 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The message is not a `PatchOp` message.
    #[error("{0}")]
    InvalidSyntax(String),
    /// A path is malformed or names no attribute.
    #[error("{0}")]
    InvalidPath(String),
    /// A value is missing or has the wrong type.
    #[error("{0}")]
    InvalidValue(String),
    /// A value filter matched nothing to remove or change.
    #[error("{0}")]
    NoTarget(String),
    /// A readOnly or immutable attribute would change, or a required one would go.
    #[error("{0}")]
    Mutability(String),
}

/// A checked PATCH request for one resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    resource_type: ResourceType,
    operations: Vec<Operation>,
}

/// The result of applying a request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The patched resource.
    pub resource: Value,
    /// The top-level attributes whose value differs from before, in schema order; extension
    /// attributes URN-qualified. Empty when the request changed nothing.
    pub changed_attributes: Vec<String>,
}

/// Members a request adds and removes (see [`PatchRequest::member_edits`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberEdits {
    /// User ids to add.
    pub add: Vec<String>,
    /// User ids to remove.
    pub remove: Vec<String>,
}

/// The `value` of each member element; `None` if one has none.
fn member_ids(elements: &[Value]) -> Option<Vec<String>> {
    elements.iter().map(|element| element.get("value").and_then(Value::as_str).map(str::to_owned)).collect()
}

/// One operation on one path (a path-less operation becomes one per attribute).
#[derive(Debug, Clone, PartialEq)]
struct Operation {
    /// Where it is in `Operations`, for messages.
    index: usize,
    /// The target.
    path: PatchPath,
    /// What to do there.
    change: Change,
}

/// What an operation does to its target; values are already normalised against the target.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    /// `add`: append to a multi-valued attribute; otherwise set, merging into a complex one.
    Add(Value),
    /// `replace`: set, replacing a multi-valued attribute's whole list; merging into a complex
    /// one.
    Replace(Value),
    /// `add` or `replace` with `null`: unassign the target; nothing to do if there is none.
    Unassign,
    /// `remove`: unassign the target; `noTarget` if a value filter matches nothing.
    Remove,
    /// `remove` with a list of elements: remove those from the multi-valued attribute.
    RemoveElements(Vec<Value>),
}

/// The `op` of an operation, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

impl PatchRequest {
    /// Reads and checks a `PatchOp` message for a resource of `resource_type`.
    pub fn parse(body: &Value, resource_type: ResourceType) -> Result<PatchRequest, PatchError> {
        let Some(message) = body.as_object() else {
            return Err(PatchError::InvalidSyntax("the PATCH body must be a JSON object".into()));
        };
        let schemas = json::get(message, "schemas").and_then(Value::as_array);
        let is_patch_op = |schema: &Value| schema.as_str().is_some_and(|urn| urn.eq_ignore_ascii_case(PATCH_OP_SCHEMA));
        if !schemas.is_some_and(|schemas| schemas.iter().any(is_patch_op)) {
            return Err(PatchError::InvalidSyntax(format!("\"schemas\" must list \"{PATCH_OP_SCHEMA}\"")));
        }
        let operations = match json::get(message, "Operations") {
            Some(Value::Array(operations)) if !operations.is_empty() => operations,
            _ => return Err(PatchError::InvalidSyntax("\"Operations\" must be a non-empty array".into())),
        };
        let mut parsed = Vec::new();
        for (index, operation) in operations.iter().enumerate() {
            parse_operation(index, operation, resource_type, &mut parsed)?;
        }
        Ok(PatchRequest { resource_type, operations: parsed })
    }

    /// The member ids the request adds and removes, when that is all it does: every operation
    /// an `add` of `members`, a `remove` of `members` with a value list, or a `remove` of
    /// `members[value eq "…"]`. Lets a server apply Entra's and Okta's membership changes
    /// without reading the whole group. `None` for anything else, or when an id is both added
    /// and removed (then order matters: apply the request to the resource).
    pub fn member_edits(&self) -> Option<MemberEdits> {
        let mut edits = MemberEdits::default();
        for operation in &self.operations {
            let path = &operation.path;
            let on_members = path.attribute.extension.is_none()
                && path.attribute.sub_attribute.is_none()
                && path.attribute.attribute.name == "members";
            if !on_members {
                return None;
            }
            match (&operation.change, &path.value_filter) {
                (Change::Add(Value::Array(elements)), None) => edits.add.extend(member_ids(elements)?),
                (Change::RemoveElements(elements), None) => edits.remove.extend(member_ids(elements)?),
                (
                    Change::Remove,
                    Some(Filter::Compare { path, operator: Operator::Equal, value: Literal::String(id) }),
                ) if path.target().name == "value" => {
                    edits.remove.push(id.clone());
                }
                _ => return None,
            }
        }
        let overlap = edits.add.iter().any(|id| edits.remove.contains(id));
        (!overlap).then_some(edits)
    }

    /// Applies the operations, in order, to a copy of `resource` (a JSON object): either all
    /// apply or the request fails and nothing changes.
    pub fn apply(&self, resource: &Value) -> Result<PatchOutcome, PatchError> {
        let Some(original) = resource.as_object() else {
            return Err(PatchError::InvalidValue("the resource to patch is not a JSON object".into()));
        };
        let mut patched = original.clone();
        for operation in &self.operations {
            apply::apply_operation(&mut patched, operation)?;
        }
        apply::sync_schemas(&mut patched, self.resource_type);
        let changed_attributes = apply::changed_attributes(original, &patched, self.resource_type);
        Ok(PatchOutcome { resource: Value::Object(patched), changed_attributes })
    }
}

/// An operation whose path is a whole extension (`urn:…:enterprise:2.0:User`): `add` and
/// `replace` set each attribute of the value object, as a path-less operation keyed by the URN
/// would; `remove` unassigns every attribute of the extension.
fn parse_extension_operation(
    index: usize,
    op: Op,
    extension: &'static super::schema::Schema,
    value: Option<&Value>,
    resource_type: ResourceType,
    parsed: &mut Vec<Operation>,
) -> Result<(), PatchError> {
    let operation = match op {
        Op::Remove => {
            for attribute in extension.attributes {
                let path = format!("{}:{}", extension.id, attribute.name);
                let remove = serde_json::json!({ "op": "remove", "path": path });
                parse_operation(index, &remove, resource_type, parsed)?;
            }
            return Ok(());
        }
        Op::Add | Op::Replace => {
            // Some clients repeat the extension's `schemas` inside its object: not an attribute.
            let value = match value {
                Some(Value::Object(members)) => Value::Object(
                    members
                        .iter()
                        .filter(|(name, _)| !name.eq_ignore_ascii_case("schemas"))
                        .map(|(n, v)| (n.clone(), v.clone()))
                        .collect(),
                ),
                other => other.cloned().unwrap_or(Value::Null),
            };
            let op = if op == Op::Add { "add" } else { "replace" };
            serde_json::json!({ "op": op, "value": { extension.id: value } })
        }
    };
    parse_operation(index, &operation, resource_type, parsed)
}

/// Reads `Operations[index]`: one operation, or one per attribute of a path-less value, appended
/// to `parsed`.
fn parse_operation(
    index: usize,
    operation: &Value,
    resource_type: ResourceType,
    parsed: &mut Vec<Operation>,
) -> Result<(), PatchError> {
    let context = |message: String| format!("Operations[{index}]: {message}");
    let Some(operation) = operation.as_object() else {
        return Err(PatchError::InvalidSyntax(context("an operation must be a JSON object".into())));
    };
    let op = match json::get(operation, "op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => Op::Add,
        Some(op) if op.eq_ignore_ascii_case("replace") => Op::Replace,
        Some(op) if op.eq_ignore_ascii_case("remove") => Op::Remove,
        _ => {
            return Err(PatchError::InvalidSyntax(context("\"op\" must be \"add\", \"replace\" or \"remove\"".into())));
        }
    };
    if let Some(Value::String(path)) = json::get(operation, "path")
        && let Some(extension) = resource_type.extension(path)
    {
        return parse_extension_operation(index, op, extension, json::get(operation, "value"), resource_type, parsed);
    }
    let path = match json::get(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) => Some(
            PatchPath::parse(path, resource_type)
                .map_err(|error| PatchError::InvalidPath(context(error.to_string())))?,
        ),
        Some(_) => return Err(PatchError::InvalidSyntax(context("\"path\" must be a string".into()))),
    };
    let value = json::get(operation, "value");
    match (op, path, value) {
        (Op::Remove, None, _) => Err(PatchError::NoTarget(context("remove needs a \"path\"".into()))),
        (Op::Remove, Some(path), value) => {
            let change = removal(&path, value).map_err(|error| value_error(error, &context))?;
            parsed.push(Operation { index, path, change });
            Ok(())
        }
        (Op::Add | Op::Replace, _, None) => {
            Err(PatchError::InvalidValue(context("add and replace need a \"value\"".into())))
        }
        (Op::Add | Op::Replace, Some(path), Some(value)) => {
            let change = setting(op, &path, value).map_err(|error| value_error(error, &context))?;
            parsed.push(Operation { index, path, change });
            Ok(())
        }
        (Op::Add | Op::Replace, None, Some(Value::Object(attributes))) => {
            for (path, value) in
                pathless_targets(attributes, resource_type).map_err(|error| error.in_context(&context))?
            {
                let path =
                    PatchPath::new(path, None).map_err(|error| PatchError::InvalidPath(context(error.to_string())))?;
                let change = setting(op, &path, value).map_err(|error| value_error(error, &context))?;
                parsed.push(Operation { index, path, change });
            }
            Ok(())
        }
        (Op::Add | Op::Replace, None, Some(_)) => Err(PatchError::InvalidValue(context(
            "without a \"path\", the \"value\" must be an object of attributes".into(),
        ))),
    }
}

/// The attributes a path-less value sets: each key resolved, an extension URN key opened up.
fn pathless_targets(
    attributes: &Map<String, Value>,
    resource_type: ResourceType,
) -> Result<Vec<(AttributePath, &Value)>, PatchError> {
    let resolve = |name: &str| {
        resource_type
            .find_attribute(name)
            .ok_or_else(|| PatchError::InvalidPath(format!("no attribute '{name}' on a {}", resource_type.name())))
    };
    let mut targets = Vec::new();
    for (key, value) in attributes {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let schema = std::iter::once(resource_type.schema())
            .chain(resource_type.extensions().iter().copied())
            .find(|schema| schema.id.eq_ignore_ascii_case(key));
        match (schema, value) {
            (Some(schema), Value::Object(members)) => {
                for (name, member) in members {
                    targets.push((resolve(&format!("{}:{name}", schema.id))?, member));
                }
            }
            (Some(schema), _) => {
                return Err(PatchError::InvalidValue(format!("\"{}\" must be an object of its attributes", schema.id)));
            }
            (None, _) => targets.push((resolve(key)?, value)),
        }
    }
    Ok(targets)
}

/// The change of an `add` or `replace` of `value` at `path`.
fn setting(op: Op, path: &PatchPath, value: &Value) -> Result<Change, ValueError> {
    if value.is_null() {
        return Ok(Change::Unassign);
    }
    let normalized = match (&path.value_filter, path.attribute.sub_attribute) {
        (_, Some(sub_attribute)) => value::normalize_single(sub_attribute, value)?,
        (Some(_), None) => value::normalize_single(path.attribute.attribute, value)?,
        (None, None) => value::normalize(path.attribute.attribute, value)?,
    };
    Ok(if op == Op::Add { Change::Add(normalized) } else { Change::Replace(normalized) })
}

/// The change of a `remove` at `path`: a `value` matters only for a whole multi-valued
/// attribute, where it lists the elements to remove.
fn removal(path: &PatchPath, value: Option<&Value>) -> Result<Change, ValueError> {
    let whole_multi_valued =
        path.value_filter.is_none() && path.attribute.sub_attribute.is_none() && path.attribute.attribute.multi_valued;
    match value {
        Some(value) if whole_multi_valued && !value.is_null() => {
            match value::normalize(path.attribute.attribute, value)? {
                Value::Array(elements) => Ok(Change::RemoveElements(elements)),
                element => Ok(Change::RemoveElements(vec![element])),
            }
        }
        _ => Ok(Change::Remove),
    }
}

/// A value problem as a PATCH error: a wrong type is `invalidValue`, an unknown sub-attribute
/// `invalidPath`.
fn value_error(error: ValueError, context: &impl Fn(String) -> String) -> PatchError {
    match error {
        ValueError::WrongType { .. } => PatchError::InvalidValue(context(error.to_string())),
        ValueError::UnknownSubAttribute { .. } => PatchError::InvalidPath(context(error.to_string())),
    }
}

impl PatchError {
    /// The same error, its message put in `context` (which names the operation).
    fn in_context(self, context: &impl Fn(String) -> String) -> PatchError {
        match self {
            PatchError::InvalidSyntax(message) => PatchError::InvalidSyntax(context(message)),
            PatchError::InvalidPath(message) => PatchError::InvalidPath(context(message)),
            PatchError::InvalidValue(message) => PatchError::InvalidValue(context(message)),
            PatchError::NoTarget(message) => PatchError::NoTarget(context(message)),
            PatchError::Mutability(message) => PatchError::Mutability(context(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA as ENTERPRISE, USER_SCHEMA};

    fn message(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
    }

    fn user() -> Value {
        json!({"schemas": [USER_SCHEMA], "id": "2819c223-7f76-453a-919d-413861904646", "userName": "bjensen@contoso.com"})
    }

    #[test]
    fn unknown_attributes_and_wrong_types() {
        let cases = [
            (
                json!({"op": "add", "path": "shoeSize", "value": "42"}),
                PatchError::InvalidPath(
                    "Operations[0]: invalid path 'shoeSize': no attribute 'shoeSize' on a User".into(),
                ),
            ),
            (
                json!({"op": "add", "value": {"shoeSize": "42"}}),
                PatchError::InvalidPath("Operations[0]: no attribute 'shoeSize' on a User".into()),
            ),
            (
                json!({"op": "add", "value": {ENTERPRISE: {"badgeNumber": "42"}}}),
                PatchError::InvalidPath(format!("Operations[0]: no attribute '{ENTERPRISE}:badgeNumber' on a User")),
            ),
            (
                json!({"op": "add", "value": {ENTERPRISE: "Sales"}}),
                PatchError::InvalidValue(format!(
                    "Operations[0]: \"{ENTERPRISE}\" must be an object of its attributes"
                )),
            ),
            (
                json!({"op": "add", "path": "emails", "value": [{"value": "x@y.z", "label": "work"}]}),
                PatchError::InvalidPath("Operations[0]: 'emails' has no sub-attribute 'label'".into()),
            ),
            (
                json!({"op": "replace", "path": "active", "value": "maybe"}),
                PatchError::InvalidValue("Operations[0]: 'active' must be a boolean, not a string".into()),
            ),
            (
                json!({"op": "replace", "path": "name.givenName", "value": ["Barbara"]}),
                PatchError::InvalidValue("Operations[0]: 'givenName' must be a string, not an array".into()),
            ),
            (
                json!({"op": "replace", "value": "Barbara"}),
                PatchError::InvalidValue(
                    "Operations[0]: without a \"path\", the \"value\" must be an object of attributes".into(),
                ),
            ),
            (
                json!({"op": "add", "path": "title"}),
                PatchError::InvalidValue("Operations[0]: add and replace need a \"value\"".into()),
            ),
            (json!({"op": "remove"}), PatchError::NoTarget("Operations[0]: remove needs a \"path\"".into())),
            (
                json!({"op": "update", "path": "title", "value": "x"}),
                PatchError::InvalidSyntax("Operations[0]: \"op\" must be \"add\", \"replace\" or \"remove\"".into()),
            ),
            (
                json!({"op": "add", "path": 7, "value": "x"}),
                PatchError::InvalidSyntax("Operations[0]: \"path\" must be a string".into()),
            ),
            (json!("add title"), PatchError::InvalidSyntax("Operations[0]: an operation must be a JSON object".into())),
        ];
        for (operation, expected) in cases {
            let parsed = PatchRequest::parse(&message(json!([operation])), ResourceType::User);
            assert_eq!(parsed.unwrap_err(), expected);
        }
    }

    #[test]
    fn the_message_itself_is_checked() {
        let operations = json!([{"op": "replace", "path": "active", "value": false}]);
        let cases = [
            (json!([]), "the PATCH body must be a JSON object"),
            (
                json!({"Operations": operations}),
                "\"schemas\" must list \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "Operations": operations}),
                "\"schemas\" must list \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"",
            ),
            (json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []}), "\"Operations\" must be a non-empty array"),
            (
                json!({"schemas": [PATCH_OP_SCHEMA], "Operations": {"op": "add"}}),
                "\"Operations\" must be a non-empty array",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(PatchRequest::parse(&body, ResourceType::User), Err(PatchError::InvalidSyntax(message.into())));
        }
        // Member names are case-insensitive, like attribute names.
        let body =
            json!({"SCHEMAS": [PATCH_OP_SCHEMA], "operations": [{"OP": "Replace", "Path": "title", "Value": "Guide"}]});
        let outcome = PatchRequest::parse(&body, ResourceType::User).unwrap().apply(&user()).unwrap();
        assert_eq!(outcome.resource["title"], "Guide");
    }
}

#[cfg(test)]
mod member_edit_tests {
    use serde_json::json;

    use super::*;

    fn request(operations: Value) -> PatchRequest {
        PatchRequest::parse(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations}), ResourceType::Group)
            .expect("a valid request")
    }

    #[test]
    fn entra_and_okta_membership_changes_are_member_edits() {
        let edits = request(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "Remove", "path": "members[value eq \"u3\"]"},
            {"op": "remove", "path": "members", "value": [{"value": "u4"}]},
        ]))
        .member_edits()
        .expect("member edits");
        assert_eq!(edits, MemberEdits { add: vec!["u1".into(), "u2".into()], remove: vec!["u3".into(), "u4".into()] });
    }

    #[test]
    fn anything_else_is_applied_to_the_resource() {
        assert_eq!(request(json!([{"op": "replace", "path": "displayName", "value": "x"}])).member_edits(), None);
        assert_eq!(
            request(json!([{"op": "replace", "path": "members", "value": [{"value": "u1"}]}])).member_edits(),
            None
        );
        assert_eq!(request(json!([{"op": "remove", "path": "members"}])).member_edits(), None);
        let add_then_remove = json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}]},
            {"op": "remove", "path": "members[value eq \"u1\"]"},
        ]);
        assert_eq!(request(add_then_remove).member_edits(), None, "order matters when an id is added and removed");
    }
}
