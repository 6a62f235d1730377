//! Checking a client's value against its attribute's schema, and normalising it:
//!
//! * sub-attribute names take the schema's spelling (`"Value"` becomes `"value"`);
//! * `"True"`/`"False"` strings (any case) become booleans for boolean attributes, as Entra ID
//!   sends `active` and `primary`;
//! * a bare string for a single-valued complex attribute with a `value` sub-attribute becomes
//!   `{"value": …}`, as Entra ID sends the enterprise `manager`;
//! * a single value for a multi-valued attribute becomes a one-element array;
//! * null members and elements are dropped, and so are readOnly sub-attributes, which the
//!   service provider sets (RFC 7644 §3.5.1: their values "SHALL be ignored"), such as the
//!   `display` Okta sends with each group member.

use serde_json::{Map, Value};

use super::schema::{Attribute, AttributeType, Mutability};

/// A value that does not fit its attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The JSON type is wrong (the SCIM `invalidValue` case).
    #[error("'{attribute}' must be {expected}, not {found}")]
    WrongType {
        /// The attribute (or sub-attribute) name.
        attribute: &'static str,
        /// What it takes, such as "a boolean".
        expected: &'static str,
        /// What it got, such as "a number".
        found: &'static str,
    },
    /// A complex value has a member that is no sub-attribute (the SCIM `invalidPath` case).
    #[error("'{attribute}' has no sub-attribute '{name}'")]
    UnknownSubAttribute {
        /// The complex attribute.
        attribute: &'static str,
        /// The member name the client sent.
        name: String,
    },
}

/// Checks and normalises the whole value of `attribute`: an array for a multi-valued one.
/// Null stays null (the caller decides what unassigning means).
pub fn normalize(attribute: &Attribute, value: &Value) -> Result<Value, ValueError> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::Array(items) if attribute.multi_valued => {
            let items = items.iter().filter(|item| !item.is_null());
            Ok(Value::Array(items.map(|item| normalize_single(attribute, item)).collect::<Result<_, _>>()?))
        }
        single if attribute.multi_valued => Ok(Value::Array(vec![normalize_single(attribute, single)?])),
        single => normalize_single(attribute, single),
    }
}

/// Checks and normalises one value of `attribute`: the value of a single-valued attribute or
/// one element of a multi-valued one. `value` must not be null.
pub fn normalize_single(attribute: &Attribute, value: &Value) -> Result<Value, ValueError> {
    let wrong_type = |expected| ValueError::WrongType { attribute: attribute.name, expected, found: json_type(value) };
    match attribute.kind {
        AttributeType::Complex => match value {
            Value::Object(members) => normalize_members(attribute, members),
            Value::String(_) if !attribute.multi_valued && attribute.sub_attribute("value").is_some() => {
                let mut members = Map::new();
                members.insert("value".to_owned(), value.clone());
                Ok(Value::Object(members))
            }
            _ => Err(wrong_type("an object")),
        },
        AttributeType::String | AttributeType::DateTime | AttributeType::Reference => match value {
            Value::String(_) => Ok(value.clone()),
            _ => Err(wrong_type("a string")),
        },
        AttributeType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(wrong_type("a boolean")),
        },
        AttributeType::Integer => match value {
            Value::Number(number) if number.is_i64() || number.is_u64() => Ok(value.clone()),
            _ => Err(wrong_type("an integer")),
        },
        AttributeType::Decimal => match value {
            Value::Number(_) => Ok(value.clone()),
            _ => Err(wrong_type("a number")),
        },
    }
}

fn normalize_members(attribute: &Attribute, members: &Map<String, Value>) -> Result<Value, ValueError> {
    let mut normalized = Map::new();
    for (name, value) in members {
        let sub_attribute = attribute
            .sub_attribute(name)
            .ok_or_else(|| ValueError::UnknownSubAttribute { attribute: attribute.name, name: name.clone() })?;
        if value.is_null() || sub_attribute.mutability == Mutability::ReadOnly {
            continue;
        }
        normalized.insert(sub_attribute.name.to_owned(), normalize_single(sub_attribute, value)?);
    }
    Ok(Value::Object(normalized))
}

/// How messages name a JSON value's type.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::ResourceType;

    fn user_attribute(path: &str) -> &'static Attribute {
        ResourceType::User.find_attribute(path).unwrap().target()
    }

    #[test]
    fn entra_boolean_strings_become_booleans() {
        let active = user_attribute("active");
        assert_eq!(normalize(active, &json!("False")), Ok(json!(false)));
        assert_eq!(normalize(active, &json!("TRUE")), Ok(json!(true)));
        assert_eq!(normalize(active, &json!(true)), Ok(json!(true)));
        assert_eq!(
            normalize(active, &json!("no")),
            Err(ValueError::WrongType { attribute: "active", expected: "a boolean", found: "a string" })
        );
        let emails = user_attribute("emails");
        assert_eq!(
            normalize(emails, &json!([{"value": "bjensen@example.com", "Primary": "True", "type": "work"}])),
            Ok(json!([{"value": "bjensen@example.com", "primary": true, "type": "work"}]))
        );
    }

    #[test]
    fn entra_bare_manager_id_becomes_a_complex_value() {
        let manager = ResourceType::User
            .find_attribute("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
            .unwrap()
            .attribute;
        assert_eq!(
            normalize(manager, &json!("26118915-6090-4610-87e4-49d8ca9f808d")),
            Ok(json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"}))
        );
        // displayName is readOnly: the service provider fills it in.
        assert_eq!(
            normalize(manager, &json!({"value": "26118915", "displayName": "John Smith", "$ref": null})),
            Ok(json!({"value": "26118915"}))
        );
        // Multi-valued complex attributes take objects only.
        assert_eq!(
            normalize_single(user_attribute("emails"), &json!("bjensen@example.com")),
            Err(ValueError::WrongType { attribute: "emails", expected: "an object", found: "a string" })
        );
    }

    #[test]
    fn members_from_entra_and_okta() {
        let members = ResourceType::Group.find_attribute("members").unwrap().attribute;
        assert_eq!(
            normalize(members, &json!([{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}])),
            Ok(json!([{"value": "f648f8d5ea4e4cd38e9c"}]))
        );
        assert_eq!(
            normalize(members, &json!({"value": "00u1dhhb1fkIGP7RL1d8", "display": "bjensen@example.com"})),
            Ok(json!([{"value": "00u1dhhb1fkIGP7RL1d8"}]))
        );
        assert_eq!(
            normalize(members, &json!([{"value": "f648", "nickname": "x"}])),
            Err(ValueError::UnknownSubAttribute { attribute: "members", name: "nickname".into() })
        );
    }

    #[test]
    fn types_are_checked() {
        assert_eq!(normalize(user_attribute("userName"), &json!("bjensen")), Ok(json!("bjensen")));
        assert_eq!(normalize(user_attribute("userName"), &json!(null)), Ok(json!(null)));
        assert_eq!(
            normalize(user_attribute("userName"), &json!(["bjensen"])),
            Err(ValueError::WrongType { attribute: "userName", expected: "a string", found: "an array" })
        );
        assert_eq!(
            normalize(user_attribute("name"), &json!({"givenName": 7})),
            Err(ValueError::WrongType { attribute: "givenName", expected: "a string", found: "a number" })
        );
        let count = Attribute { kind: AttributeType::Integer, ..*user_attribute("title") };
        assert_eq!(normalize(&count, &json!(3)), Ok(json!(3)));
        assert!(normalize(&count, &json!(3.5)).is_err());
        let ratio = Attribute { kind: AttributeType::Decimal, ..*user_attribute("title") };
        assert_eq!(normalize(&ratio, &json!(3.5)), Ok(json!(3.5)));
        assert!(normalize(&ratio, &json!("3.5")).is_err());
    }
}
