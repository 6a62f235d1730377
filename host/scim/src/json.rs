//! Case-insensitive access to the members of a JSON object: SCIM attribute names compare
//! without regard to case (RFC 7643 §2.1), so `userName`, `username` and `USERNAME` are one
//! attribute. Writers store the schema's spelling and drop other spellings.

use serde_json::{Map, Value};

/// The member named `name`, in any case; an exact match wins over others.
pub(super) fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| object.iter().find_map(|(key, value)| key.eq_ignore_ascii_case(name).then_some(value)))
}

/// The member named `name`, in any case, for changing; an exact match wins over others.
pub(super) fn get_mut<'a>(object: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = if object.contains_key(name) {
        name.to_owned()
    } else {
        object.keys().find(|key| key.eq_ignore_ascii_case(name))?.clone()
    };
    object.get_mut(&key)
}

/// Removes every spelling of `name`; returns the value of the exact spelling if there was one,
/// otherwise the value of another.
pub(super) fn remove(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let mut exact = object.remove(name);
    let other_keys: Vec<String> = object.keys().filter(|key| key.eq_ignore_ascii_case(name)).cloned().collect();
    for key in other_keys {
        let value = object.remove(&key);
        if exact.is_none() {
            exact = value;
        }
    }
    exact
}

/// Sets `name` (the schema's spelling) to `value`, dropping other spellings.
pub(super) fn insert(object: &mut Map<String, Value>, name: &str, value: Value) {
    remove(object, name);
    object.insert(name.to_owned(), value);
}

/// Whether `value` counts as unassigned: null, an empty string, an empty array or an empty
/// object (RFC 7643 §2.5 treats null and empty arrays alike; an empty string or object carries
/// no value either).
pub(super) fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.iter().all(is_unassigned),
        Value::Object(members) => members.values().all(is_unassigned),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(members) => members,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn lookups_ignore_case_and_prefer_the_exact_spelling() {
        let user = object(json!({"userName": "bjensen", "USERNAME": "shadow", "Active": true}));
        assert_eq!(get(&user, "userName"), Some(&json!("bjensen")));
        assert_eq!(get(&user, "active"), Some(&json!(true)));
        assert_eq!(get(&user, "title"), None);
    }

    #[test]
    fn writes_keep_one_spelling() {
        let mut user = object(json!({"DisplayName": "Babs", "displayname": "Barbara"}));
        insert(&mut user, "displayName", json!("Babs Jensen"));
        assert_eq!(Value::Object(user.clone()), json!({"displayName": "Babs Jensen"}));

        *get_mut(&mut user, "DISPLAYNAME").unwrap() = json!("B. Jensen");
        assert_eq!(remove(&mut user, "displayname"), Some(json!("B. Jensen")));
        assert!(user.is_empty());
    }

    #[test]
    fn unassigned_values() {
        for value in [json!(null), json!(""), json!([]), json!({}), json!([null]), json!({"value": null})] {
            assert!(is_unassigned(&value), "{value}");
        }
        for value in [json!(false), json!(0), json!("x"), json!([{"value": "a"}]), json!({"givenName": "Barbara"})] {
            assert!(!is_unassigned(&value), "{value}");
        }
    }
}
