//! What the rules see of a user: the one definition, used by every trigger and every preview.

use std::collections::BTreeMap;

use muster_scim::schema::ENTERPRISE_USER_SCHEMA;
use muster_store::model::UserRecord;
use muster_wire::{Context, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The canonical input of a decision: what the rules saw, exactly. Stored with every decision
/// record, so a replay or a backtest runs on the same input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalInput {
    /// Realm and trigger.
    pub context: Context,
    /// The user as the rules saw it.
    pub user: User,
}

/// What the rules see of a stored user: the attributes SCIM provisioned, with the claims of
/// the user's last login on top (the identity provider's freshest word), the provider groups
/// it last reported, and the internal groups the login service last reported.
///
/// A live trigger first writes its change into the user (a login's claims, a SCIM write, a
/// membership change), then calls this; a dry run or an impact preview calls it on the stored
/// user as it is. Both therefore see the same thing.
pub fn rules_input(user: &UserRecord) -> User {
    let mut attributes = user.scim.as_ref().map(scim_attributes).unwrap_or_default();
    attributes.extend(user.attributes.iter().map(|(name, values)| (name.clone(), values.clone())));
    User {
        user_name: user.user_name.clone(),
        external_id: user.external_id.clone(),
        email: user.email.clone(),
        attributes,
        provider_groups: user.provider_groups.clone(),
        internal_groups: user.internal_groups.clone(),
    }
}

/// The attributes the rules see of a user's SCIM document, each a list of strings: the core
/// ones people write rules on, and the enterprise extension's.
pub fn scim_attributes(document: &Value) -> BTreeMap<String, Vec<String>> {
    let mut attributes = BTreeMap::new();
    let mut put = |name: &str, value: Option<&Value>| {
        let values: Vec<String> = match value {
            Some(Value::String(text)) => vec![text.clone()],
            Some(Value::Bool(flag)) => vec![flag.to_string()],
            Some(Value::Number(number)) => vec![number.to_string()],
            Some(Value::Object(members)) => {
                members.get("value").and_then(Value::as_str).map(str::to_owned).into_iter().collect()
            }
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| item.get("value").and_then(Value::as_str).or_else(|| item.as_str()))
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        if !values.is_empty() {
            attributes.insert(name.to_owned(), values);
        }
    };
    for name in ["displayName", "nickName", "title", "userType", "locale", "preferredLanguage", "timezone", "emails"] {
        put(name, document.get(name));
    }
    let name = document.get("name");
    put("givenName", name.and_then(|n| n.get("givenName")));
    put("familyName", name.and_then(|n| n.get("familyName")));
    if let Some(enterprise) = document.get(ENTERPRISE_USER_SCHEMA) {
        for attribute in ["employeeNumber", "costCenter", "organization", "division", "department", "manager"] {
            put(attribute, enterprise.get(attribute));
        }
    }
    attributes
}

#[cfg(test)]
mod tests {
    use muster_store::model::Realm;
    use serde_json::json;

    use super::*;

    fn realm() -> Realm {
        Realm::new("acme", "entra", "Entra", None, 0)
    }

    #[test]
    fn scim_attributes_and_login_claims_are_seen_together_claims_winning() {
        let mut user = UserRecord::new_active(&realm(), "ada@acme.com", 0);
        user.scim = Some(json!({
            "title": "Engineer",
            "name": {"givenName": "Ada"},
            ENTERPRISE_USER_SCHEMA: {"department": "Engineering", "manager": {"value": "m-1"}},
        }));
        user.attributes = BTreeMap::from([("title".to_owned(), vec!["Engineering Manager".to_owned()])]);
        user.provider_groups = vec!["platform".into()];
        user.internal_groups = vec!["on-call".into()];
        let input = rules_input(&user);
        assert_eq!(input.attributes["department"], ["Engineering"]);
        assert_eq!(input.attributes["manager"], ["m-1"]);
        assert_eq!(input.attributes["givenName"], ["Ada"]);
        assert_eq!(input.attributes["title"], ["Engineering Manager"], "the last login's claim is on top");
        assert_eq!(input.provider_groups, ["platform"]);
        assert_eq!(input.internal_groups, ["on-call"]);
    }

    #[test]
    fn a_login_only_user_is_seen_as_its_claims() {
        let mut user = UserRecord::new_active(&realm(), "bob@acme.com", 0);
        user.attributes = BTreeMap::from([("department".to_owned(), vec!["Sales".to_owned()])]);
        assert_eq!(rules_input(&user).attributes, user.attributes);
    }
}
