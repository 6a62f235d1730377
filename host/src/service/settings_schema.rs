//! Where a settings document names organizations: the fields its module's settings schema marks
//! with `"x-muster-organization": true` ([`ORGANIZATION_KEYWORD`]), found by walking the
//! document beside its schema.
//!
//! The walk follows what a module's schema is made of (`properties`, `additionalProperties`,
//! `items`, `prefixItems`, local `$ref`s, `allOf`/`anyOf`/`oneOf`): at each value every branch
//! that could describe it is looked at, so a variant of an enum (an object with one key naming
//! it) finds its own fields. A marked field is a string or an array of strings; anything else
//! there is left to the module's own validation.

use muster_wire::abi::ORGANIZATION_KEYWORD;
use serde_json::Value;

/// How many `$ref`s and combinators are followed from one value: a schema that refers to
/// itself in a loop (never through a value) ends there.
const MAX_EXPANSION: usize = 32;

/// One organization a settings document names, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedOrganization {
    /// The organization's id.
    pub organization: String,
    /// Where, in the document (`rules[2].organization`, `fallback[0]`).
    pub path: String,
}

/// Every organization `settings` names where `schema` marks a field.
pub fn organizations_named(schema: &Value, settings: &Value) -> Vec<NamedOrganization> {
    let mut found = Vec::new();
    walk(schema, &[schema], settings, String::new(), &mut found);
    found
}

fn walk<'a>(root: &'a Value, schemas: &[&'a Value], value: &Value, path: String, found: &mut Vec<NamedOrganization>) {
    let mut applicable = Vec::new();
    for schema in schemas {
        expand(root, schema, 0, &mut applicable);
    }
    if applicable.iter().any(|schema| schema.get(ORGANIZATION_KEYWORD) == Some(&Value::Bool(true))) {
        match value {
            Value::String(organization) => found.push(NamedOrganization { organization: organization.clone(), path }),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::String(organization) = item {
                        found.push(NamedOrganization {
                            organization: organization.clone(),
                            path: format!("{path}[{i}]"),
                        });
                    }
                }
            }
            _ => {}
        }
        return;
    }
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                let field = |schema: &'a Value| {
                    schema.get("properties").and_then(|p| p.get(key)).or_else(|| schema.get("additionalProperties"))
                };
                descend(root, &applicable, field, child, path, found);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_schema = |schema: &'a Value| {
                    schema.get("prefixItems").and_then(|p| p.get(i)).or_else(|| schema.get("items"))
                };
                descend(root, &applicable, item_schema, item, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// Walks `value` (at `path`) beside what `child` finds in each schema that applies to its
/// parent; where none describes it, there is nothing to follow.
fn descend<'a>(
    root: &'a Value,
    applicable: &[&'a Value],
    child: impl Fn(&'a Value) -> Option<&'a Value>,
    value: &Value,
    path: String,
    found: &mut Vec<NamedOrganization>,
) {
    let children: Vec<&Value> = applicable.iter().filter_map(|schema| child(schema)).collect();
    if !children.is_empty() {
        walk(root, &children, value, path, found);
    }
}

/// `schema` and every schema it stands for at the same value: its `$ref` target and the
/// branches of its `allOf`, `anyOf` and `oneOf`.
fn expand<'a>(root: &'a Value, schema: &'a Value, depth: usize, out: &mut Vec<&'a Value>) {
    if depth > MAX_EXPANSION || !schema.is_object() {
        return;
    }
    out.push(schema);
    if let Some(target) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#'))
        && let Some(resolved) = root.pointer(target)
    {
        expand(root, resolved, depth + 1, out);
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        for branch in schema.get(combinator).and_then(Value::as_array).into_iter().flatten() {
            expand(root, branch, depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The shape schemars gives the user-rules settings: definitions, references, an externally
    /// tagged enum as `oneOf`, an optional marked field.
    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "rules": {"type": "array", "items": {"$ref": "#/$defs/Rule"}},
                "fallback": {"type": ["string", "null"], "x-muster-organization": true},
                "groups": {"type": "array", "items": {"$ref": "#/$defs/Group"}}
            },
            "$defs": {
                "Rule": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "organization": {"type": "string", "x-muster-organization": true},
                    "when": {"$ref": "#/$defs/Condition"}
                }},
                "Group": {"type": "object", "properties": {
                    "group": {"type": "string"},
                    "also": {"type": "array", "items": {"type": "string"}, "x-muster-organization": true}
                }},
                "Condition": {"oneOf": [
                    {"type": "object", "properties": {"all": {"type": "array", "items": {"$ref": "#/$defs/Condition"}}}},
                    {"type": "object", "properties": {"equals": {"type": "string"}}},
                    {"type": "object", "properties": {"loop": {"$ref": "#/$defs/Loop"}}}
                ]},
                "Loop": {"allOf": [{"$ref": "#/$defs/Loop"}]}
            }
        })
    }

    fn named(found: &[NamedOrganization]) -> Vec<(&str, &str)> {
        let mut named: Vec<_> = found.iter().map(|n| (n.organization.as_str(), n.path.as_str())).collect();
        named.sort_by_key(|(_, path)| *path);
        named
    }

    #[test]
    fn marked_fields_are_found_with_their_paths_and_nothing_else_is() {
        let settings = json!({
            "rules": [
                {"name": "acme", "organization": "acme", "when": {"equals": "acme-sales"}},
                {"name": "b", "organization": "globex", "when": {"all": [{"equals": "x"}, {"loop": {"a": 1}}]}}
            ],
            "fallback": "acme-sales",
            "groups": [{"group": "acme", "also": ["x", 3, "y"]}],
            "unknown": {"organization": "not-marked"}
        });
        assert_eq!(
            named(&organizations_named(&schema(), &settings)),
            [
                ("acme-sales", "fallback"),
                ("x", "groups[0].also[0]"),
                ("y", "groups[0].also[2]"),
                ("acme", "rules[0].organization"),
                ("globex", "rules[1].organization")
            ]
        );
    }

    #[test]
    fn a_schema_without_marks_or_a_document_of_another_shape_names_nothing() {
        assert!(organizations_named(&json!({"type": "object"}), &json!({"organization": "acme"})).is_empty());
        assert!(organizations_named(&schema(), &json!({"fallback": null, "rules": 5})).is_empty());
        assert!(organizations_named(&schema(), &json!([1, 2])).is_empty());
    }
}
