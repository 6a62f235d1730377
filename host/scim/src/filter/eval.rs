//! Evaluating a parsed filter against a resource in its SCIM JSON form (extension attributes
//! in an object under the extension's URN).
//!
//! * Attribute names are looked up case-insensitively.
//! * Strings compare case-insensitively unless the attribute is caseExact; dateTimes compare as
//!   strings (the same offset in both is assumed, as Entra ID and Okta send `Z` times).
//! * A multi-valued attribute matches if any of its values does; so an absent attribute
//!   matches no comparison, not even `ne`. `eq null` matches an absent attribute, `ne null` a
//!   present one.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{Filter, Literal, Operator};
use crate::json;
use crate::schema::{Attribute, AttributePath};

impl Filter {
    /// Whether `resource` (or, inside a value filter, one element of a multi-valued attribute)
    /// matches the filter.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::Present(path) => is_present(path, resource),
            Filter::Compare { path, operator, value: Literal::Null } => match operator {
                Operator::Equal => !is_present(path, resource),
                _ => is_present(path, resource),
            },
            Filter::Compare { path, operator, value } => {
                values_at(path, resource).into_iter().any(|actual| compare(path.target(), actual, *operator, value))
            }
            Filter::ValuePath { path, filter } => {
                values_at(path, resource).into_iter().any(|element| filter.matches(element))
            }
            Filter::Not(filter) => !filter.matches(resource),
            Filter::And(filters) => filters.iter().all(|filter| filter.matches(resource)),
            Filter::Or(filters) => filters.iter().any(|filter| filter.matches(resource)),
        }
    }
}

fn is_present(path: &AttributePath, resource: &Value) -> bool {
    values_at(path, resource).into_iter().any(|value| !json::is_unassigned(value))
}

/// The values `path` names in `object`, arrays flattened: `emails.value` gives every address.
fn values_at<'v>(path: &AttributePath, object: &'v Value) -> Vec<&'v Value> {
    let Some(object) = object.as_object() else { return Vec::new() };
    let container = match path.extension {
        Some(extension) => json::get(object, extension.id).and_then(Value::as_object),
        None => Some(object),
    };
    let Some(value) = container.and_then(|container| json::get(container, path.attribute.name)) else {
        return Vec::new();
    };
    let values = flatten(value);
    match path.sub_attribute {
        None => values,
        Some(sub_attribute) => values
            .into_iter()
            .filter_map(Value::as_object)
            .filter_map(|element| json::get(element, sub_attribute.name))
            .flat_map(flatten)
            .collect(),
    }
}

fn flatten(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Whether `actual` compares with `expected` as `operator` says. Values of another JSON type
/// than the literal (which the parser made fit the attribute's type) never match.
fn compare(attribute: &Attribute, actual: &Value, operator: Operator, expected: &Literal) -> bool {
    match (actual, expected) {
        (Value::String(actual), Literal::String(expected)) => {
            compare_text(actual, expected, attribute.case_exact, operator)
        }
        (Value::Bool(actual), Literal::Boolean(expected)) => match operator {
            Operator::Equal => actual == expected,
            Operator::NotEqual => actual != expected,
            _ => false,
        },
        (Value::Number(actual), Literal::Number(expected)) => {
            !operator.is_substring() && compare_numbers(actual, expected).is_some_and(|order| ordered(operator, order))
        }
        _ => false,
    }
}

fn compare_text(actual: &str, expected: &str, case_exact: bool, operator: Operator) -> bool {
    let (actual, expected): (Cow<'_, str>, Cow<'_, str>) = if case_exact {
        (actual.into(), expected.into())
    } else {
        (actual.to_lowercase().into(), expected.to_lowercase().into())
    };
    match operator {
        Operator::Contains => actual.contains(expected.as_ref()),
        Operator::StartsWith => actual.starts_with(expected.as_ref()),
        Operator::EndsWith => actual.ends_with(expected.as_ref()),
        _ => ordered(operator, actual.cmp(&expected)),
    }
}

/// Integers compare exactly, anything else as floating point.
fn compare_numbers(actual: &Number, expected: &Number) -> Option<Ordering> {
    match (actual.as_i64(), expected.as_i64()) {
        (Some(actual), Some(expected)) => Some(actual.cmp(&expected)),
        _ => actual.as_f64()?.partial_cmp(&expected.as_f64()?),
    }
}

/// Whether `order` (of actual to expected) satisfies an equality or ordering operator.
fn ordered(operator: Operator, order: Ordering) -> bool {
    match operator {
        Operator::Equal => order == Ordering::Equal,
        Operator::NotEqual => order != Ordering::Equal,
        Operator::GreaterThan => order == Ordering::Greater,
        Operator::GreaterOrEqual => order != Ordering::Less,
        Operator::LessThan => order == Ordering::Less,
        Operator::LessOrEqual => order != Ordering::Greater,
        Operator::Contains | Operator::StartsWith | Operator::EndsWith => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{AttributeType, ResourceType};

    /// A user as Entra ID provisions it.
    fn barbara() -> Value {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen",
            "userName": "Barbara.Jensen@Contoso.com",
            "active": true,
            "displayName": "Babs Jensen",
            "title": "Tour Guide",
            "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
            "emails": [
                {"value": "barbara.jensen@contoso.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            },
            "meta": {
                "resourceType": "User",
                "created": "2024-01-23T04:56:22Z",
                "lastModified": "2024-05-13T04:42:34Z"
            }
        })
    }

    fn user_matches(filter: &str) -> bool {
        let filter = Filter::parse(filter, ResourceType::User).unwrap_or_else(|error| panic!("{filter}: {error}"));
        filter.matches(&barbara())
    }

    #[test]
    fn case_exactness_follows_the_schema() {
        assert!(user_matches(r#"userName eq "barbara.jensen@contoso.com""#));
        assert!(user_matches(r#"emails.value eq "BARBARA.JENSEN@CONTOSO.COM""#));
        assert!(user_matches(r#"externalId eq "bjensen""#));
        assert!(!user_matches(r#"externalId eq "BJensen""#));
        assert!(!user_matches(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
        // Attribute names are case-insensitive in the filter and in the resource.
        assert!(user_matches(r#"USERNAME eq "Barbara.Jensen@Contoso.com""#));
        let mut shouting = barbara();
        shouting["DisplayName"] = shouting["displayName"].take();
        shouting.as_object_mut().unwrap().remove("displayName");
        assert!(Filter::parse(r#"displayName sw "babs""#, ResourceType::User).unwrap().matches(&shouting));
    }

    #[test]
    fn substring_and_ordering_operators() {
        assert!(user_matches(r#"title co "guide""#));
        assert!(user_matches(r#"title sw "Tour""#));
        assert!(user_matches(r#"title ew "GUIDE""#));
        assert!(!user_matches(r#"title sw "Guide""#));
        assert!(user_matches(r#"meta.lastModified gt "2024-05-01T00:00:00Z""#));
        assert!(user_matches(r#"meta.lastModified ge "2024-05-13T04:42:34Z""#));
        assert!(!user_matches(r#"meta.lastModified lt "2024-05-13T04:42:34Z""#));
        assert!(user_matches(r#"meta.created le "2024-01-23T04:56:22Z""#));
        assert!(user_matches(r#"title ne "Manager""#));
    }

    #[test]
    fn multi_valued_attributes_match_if_any_value_does() {
        assert!(user_matches(r#"emails.value ew "@jensen.org""#));
        assert!(user_matches(r#"emails co "contoso.com""#));
        assert!(user_matches(r#"emails.type eq "home""#));
        assert!(user_matches(r#"emails[type eq "work" and value co "@contoso.com"]"#));
        assert!(!user_matches(r#"emails[type eq "home" and value co "@contoso.com"]"#));
        assert!(user_matches(r#"emails[primary eq true]"#));
        assert!(user_matches(r#"emails[not (primary pr)]"#));
    }

    #[test]
    fn booleans_and_logic() {
        assert!(user_matches("active eq true"));
        assert!(user_matches(r#"active eq "True""#));
        assert!(!user_matches("active ne true"));
        assert!(user_matches(r#"userType eq "Employee" or active eq true"#));
        assert!(!user_matches(r#"userType eq "Employee" and active eq true"#));
        assert!(user_matches(r#"not (userType eq "Employee") and (title pr or nickName pr)"#));
    }

    #[test]
    fn presence_and_null() {
        assert!(user_matches("name.givenName pr"));
        assert!(user_matches("emails pr"));
        assert!(!user_matches("phoneNumbers pr"));
        assert!(!user_matches("nickName pr"));
        assert!(user_matches("nickName eq null"));
        assert!(user_matches("title ne null"));
        // An absent attribute matches no comparison, `ne` included.
        assert!(!user_matches(r#"nickName ne "Babs""#));
        let mut blank = barbara();
        blank["title"] = json!("");
        blank["emails"] = json!([]);
        let filter = Filter::parse("title pr or emails pr", ResourceType::User).unwrap();
        assert!(!filter.matches(&blank));
    }

    #[test]
    fn extension_attributes_live_under_their_urn() {
        assert!(user_matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#
        ));
        assert!(user_matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#
        ));
        assert!(!user_matches(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr"#));
        assert!(user_matches(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen""#));
    }

    #[test]
    fn group_membership_query() {
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
            "displayName": "Tour Guides",
            "members": [{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"}]
        });
        let query =
            r#"id eq "e9e30dba-f08f-4109-8486-d5c6a331660a" and members eq "2819c223-7f76-453a-919d-413861904646""#;
        assert!(Filter::parse(query, ResourceType::Group).unwrap().matches(&group));
        let other = r#"members[value eq "902c246b-6245-4190-8e05-00816be7344a"]"#;
        assert!(!Filter::parse(other, ResourceType::Group).unwrap().matches(&group));
    }

    #[test]
    fn unexpected_shapes_do_not_match() {
        let odd = json!({"userName": 42, "emails": "not-an-array", "active": "yes", "name": ["Barbara"]});
        for filter in [r#"userName eq "42""#, "active eq true", r#"name.givenName pr"#, r#"emails[type eq "work"]"#] {
            assert!(!Filter::parse(filter, ResourceType::User).unwrap().matches(&odd), "{filter}");
        }
        assert!(!Filter::parse("userName pr", ResourceType::User).unwrap().matches(&json!(["not", "an", "object"])));
    }

    #[test]
    fn numbers_compare_by_value() {
        let score = Attribute {
            kind: AttributeType::Integer,
            ..*ResourceType::User.find_attribute("title").unwrap().attribute
        };
        let number = |text: &str| serde_json::from_str::<Number>(text).unwrap();
        assert!(compare(&score, &json!(10), Operator::GreaterThan, &Literal::Number(number("9.5"))));
        assert!(compare(
            &score,
            &json!(9_007_199_254_740_993_i64),
            Operator::GreaterThan,
            &Literal::Number(number("9007199254740992"))
        ));
        assert!(compare(&score, &json!(2.5), Operator::Equal, &Literal::Number(number("2.5"))));
        assert!(!compare(&score, &json!("10"), Operator::Equal, &Literal::Number(number("10"))));
        assert!(!compare(&score, &json!(10), Operator::Contains, &Literal::Number(number("1"))));
    }
}
