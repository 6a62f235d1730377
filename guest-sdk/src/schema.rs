//! Publishing the JSON Schema of a policy's settings (feature `schema`).
//!
//! The schema is derived from the settings' Rust types with [`schemars`], never written by hand:
//!
//! ```
//! use muster_guest::prelude::*;
//! use muster_guest::schema::{self, JsonSchema};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! #[schemars(crate = "muster_guest::schema::schemars")]
//! #[serde(deny_unknown_fields)]
//! pub struct Settings {
//!     /// Where every user goes.
//!     #[schemars(transform = schema::organization)]
//!     organization: String,
//! }
//! # pub struct Everyone;
//! # impl Policy for Everyone { type Settings = Settings; }
//! # impl UserRules for Everyone {
//! #     fn decide_user(s: &Settings, _: &User, _: &Context, _: &mut Trace) -> UserDecision {
//! #         UserDecision::organization(&s.organization)
//! #     }
//! # }
//! muster_guest::export!(Everyone { user_rules, settings_schema });
//!
//! let published: serde_json::Value = serde_json::from_str(&schema::settings_schema::<Everyone>()).unwrap();
//! assert_eq!(published["properties"]["organization"]["x-muster-organization"], true);
//! ```
//!
//! `settings_schema` in [`export!`](crate::export) exports it as `muster_settings_schema`; the
//! host stores it with each version and serves it with the version. Fields marked with
//! [`organization`] name organizations of the tenant: the host refuses settings that name one
//! the tenant does not have.

pub use schemars::{self, JsonSchema, Schema};

use crate::Policy;
pub use muster_wire::abi::ORGANIZATION_KEYWORD;

/// Marks a field as naming organizations of the tenant (a string, an optional string, or a list
/// of them): `#[schemars(transform = muster_guest::schema::organization)]`. It adds
/// `"x-muster-organization": true` ([`ORGANIZATION_KEYWORD`]) to the field's schema.
pub fn organization(schema: &mut Schema) {
    schema.insert(ORGANIZATION_KEYWORD.to_owned(), true.into());
}

/// The JSON Schema of `P::Settings`, as JSON text: what `muster_settings_schema` answers.
pub fn settings_schema<P: Policy>() -> String
where
    P::Settings: JsonSchema,
{
    schemars::schema_for!(P::Settings).as_value().to_string()
}

impl JsonSchema for crate::Regex {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Regex".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> Schema {
        schemars::json_schema!({ "type": "string", "format": "regex" })
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use super::*;

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        #[schemars(transform = organization)]
        fallback: Option<String>,
        rules: Vec<Rule>,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Rule {
        pattern: crate::Regex,
        #[schemars(transform = organization)]
        organizations: Vec<String>,
    }

    struct Marked;
    impl Policy for Marked {
        type Settings = Settings;
    }

    #[test]
    fn the_schema_is_derived_from_the_types_and_marks_organization_fields() {
        let schema: Value = serde_json::from_str(&settings_schema::<Marked>()).unwrap();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["rules"]));
        assert_eq!(schema["properties"]["fallback"][ORGANIZATION_KEYWORD], true);
        let rule = &schema["$defs"]["Rule"];
        assert_eq!(rule["properties"]["organizations"][ORGANIZATION_KEYWORD], true);
        assert_eq!(rule["properties"]["organizations"]["items"]["type"], "string");
        assert_eq!(rule["properties"]["pattern"], json!({ "type": "string", "format": "regex" }));
        assert!(rule["properties"]["pattern"].get(ORGANIZATION_KEYWORD).is_none());
    }

    #[test]
    fn the_runtime_answers_the_schema_as_a_response() {
        let response: muster_wire::Response<String> =
            muster_wire::codec::decode(&crate::runtime::settings_schema::<Marked>(&[])).unwrap();
        assert_eq!(response.result.unwrap(), settings_schema::<Marked>());
    }
}
