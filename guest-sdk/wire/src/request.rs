//! What the host sends to a module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What caused an evaluation. Rules may look at it, though most decide the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An interactive login through the realm's identity provider.
    #[default]
    Login,
    /// A SCIM request created the user.
    ScimCreate,
    /// A SCIM request changed the user's attributes.
    ScimUpdate,
    /// A SCIM request changed the user's provider-group memberships.
    ScimGroupChange,
    /// A SCIM request reactivated a deactivated user.
    ScimReactivate,
    /// A test-panel evaluation or impact preview that changes nothing (replays and backtests
    /// re-run the recorded context instead).
    DryRun,
}

/// Where and why an evaluation happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Context {
    /// The realm (identity-provider integration) the user belongs to.
    #[serde(default)]
    pub realm: String,
    /// What caused the evaluation.
    #[serde(default)]
    pub trigger: Trigger,
}

/// A user as the rules see it: what the identity provider said, plus internal groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct User {
    /// The unique user name (usually the sign-in e-mail address).
    pub user_name: String,
    /// The identity provider's stable id for the user (SCIM `externalId`, the login's provider
    /// user id).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The primary e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Free-form, multi-valued attributes (claims), keyed by attribute name.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Names of the provider (IdP) groups the user is a member of.
    #[serde(default)]
    pub provider_groups: Vec<String>,
    /// Names of the internal (Muster-managed) groups the user is a member of.
    #[serde(default)]
    pub internal_groups: Vec<String>,
}

impl User {
    /// All values of an attribute; empty when the user does not have it.
    pub fn attribute(&self, name: &str) -> &[String] {
        self.attributes.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first value of an attribute, if any.
    pub fn first_attribute(&self, name: &str) -> Option<&str> {
        self.attribute(name).first().map(String::as_str)
    }

    /// The domain part of the e-mail address (falling back to the user name), lower-cased.
    pub fn email_domain(&self) -> Option<String> {
        let address = self.email.as_deref().unwrap_or(&self.user_name);
        address.rsplit_once('@').map(|(_, domain)| domain.to_ascii_lowercase())
    }

    /// Whether the user is a member of the named provider group.
    pub fn in_provider_group(&self, group: &str) -> bool {
        self.provider_groups.iter().any(|g| g == group)
    }

    /// Whether the user is a member of the named internal group.
    pub fn in_internal_group(&self, group: &str) -> bool {
        self.internal_groups.iter().any(|g| g == group)
    }
}

/// The request of a user-rules evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRequest {
    /// Realm and trigger.
    pub context: Context,
    /// The module's prepared settings (see `abi::PREPARE_SETTINGS`), encoded as one byte
    /// string (length and raw bytes) so decoding them is a copy, not a loop.
    #[serde(with = "serde_bytes")]
    pub settings: Vec<u8>,
    /// The user to decide about.
    pub user: User,
}

/// The request of a group-rules evaluation: all provider groups of one login or SCIM event,
/// decided in one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRequest {
    /// Realm and trigger.
    pub context: Context,
    /// The module's prepared settings, as one byte string.
    #[serde(with = "serde_bytes")]
    pub settings: Vec<u8>,
    /// Names of the provider groups to mark with organizations.
    pub groups: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            user_name: "Ada@Example.COM".into(),
            attributes: BTreeMap::from([("department".into(), vec!["Sales".into(), "EMEA".into()])]),
            provider_groups: vec!["sales-emea".into()],
            ..User::default()
        }
    }

    #[test]
    fn attribute_helpers_read_multi_valued_attributes() {
        let user = user();
        assert_eq!(user.attribute("department"), ["Sales", "EMEA"]);
        assert_eq!(user.first_attribute("department"), Some("Sales"));
        assert!(user.attribute("missing").is_empty());
    }

    #[test]
    fn email_domain_falls_back_to_user_name_and_is_lower_case() {
        let mut user = user();
        assert_eq!(user.email_domain().as_deref(), Some("example.com"));
        user.email = Some("ada@Contractor.io".into());
        assert_eq!(user.email_domain().as_deref(), Some("contractor.io"));
    }

    #[test]
    fn requests_round_trip_through_the_codec() {
        let request = UserRequest {
            context: Context { realm: "entra".into(), trigger: Trigger::ScimUpdate },
            settings: vec![1, 2, 3],
            user: user(),
        };
        let bytes = crate::codec::encode(&request).unwrap();
        assert_eq!(crate::codec::decode::<UserRequest>(&bytes).unwrap(), request);
        assert!(crate::codec::decode::<UserRequest>(&bytes[..bytes.len() - 1]).is_err());
    }
}
