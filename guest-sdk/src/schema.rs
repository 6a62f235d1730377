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
//! // The crate's own test keeps `settings.schema.json` equal to what the types say:
//! // schema::assert_published::<Everyone>(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.schema.json"));
//! let published: serde_json::Value = serde_json::from_str(&schema::settings_schema::<Everyone>()).unwrap();
//! assert_eq!(published["properties"]["organization"]["x-muster-organization"], true);
//! ```
//!
//! The schema is generated natively, never inside the module (a generator would grow the module
//! by half): a test of the policy crate calls [`assert_published`], which keeps a committed
//! `settings.schema.json` equal to the types (`MUSTER_UPDATE_SCHEMA=1 cargo test` rewrites it),
//! and `export!(Everyone { user_rules, settings_schema = include_str!("../settings.schema.json") })`
//! exports that text as `muster_settings_schema`. The host stores it with each version and
//! serves it with the version. Fields marked with [`organization`] name organizations of the
//! tenant: the host refuses settings that name one the tenant does not have.

use std::path::Path;

pub use schemars::{self, JsonSchema, Schema};

use crate::Policy;
pub use muster_wire::abi::ORGANIZATION_KEYWORD;

/// Marks a field as naming organizations of the tenant (a string, an optional string, or a list
/// of them): `#[schemars(transform = muster_guest::schema::organization)]`. It adds
/// `"x-muster-organization": true` ([`ORGANIZATION_KEYWORD`]) to the field's schema.
pub fn organization(schema: &mut Schema) {
    schema.insert(ORGANIZATION_KEYWORD.to_owned(), true.into());
}

/// The environment variable that makes [`assert_published`] write the schema file.
pub const UPDATE_VARIABLE: &str = "MUSTER_UPDATE_SCHEMA";

/// The JSON Schema of `P::Settings`, as pretty-printed JSON text ending in a newline: what the
/// policy's `settings.schema.json` holds and `muster_settings_schema` answers.
pub fn settings_schema<P: Policy>() -> String
where
    P::Settings: JsonSchema,
{
    let schema = schemars::schema_for!(P::Settings);
    let mut text = serde_json::to_string_pretty(schema.as_value()).expect("a JSON value prints");
    text.push('\n');
    text
}

/// Asserts that the file at `path` holds [`settings_schema`] of `P`, for a test of the policy
/// crate whose module publishes that file; with `MUSTER_UPDATE_SCHEMA=1` in the environment it
/// writes the file instead.
///
/// # Panics
///
/// When the file is missing or stale (saying how to regenerate it), or cannot be written.
pub fn assert_published<P: Policy>(path: impl AsRef<Path>)
where
    P::Settings: JsonSchema,
{
    let path = path.as_ref();
    let generated = settings_schema::<P>();
    if std::env::var_os(UPDATE_VARIABLE).is_some_and(|value| value == "1") {
        std::fs::write(path, &generated).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        return;
    }
    let published = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        published == generated,
        "{} does not hold the settings' schema as the types now say: run `{UPDATE_VARIABLE}=1 cargo test` \
         in the policy crate and commit the file",
        path.display()
    );
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
    fn the_runtime_answers_the_published_text_as_a_response() {
        let text = settings_schema::<Marked>();
        let response: muster_wire::Response<String> =
            muster_wire::codec::decode(&crate::runtime::settings_schema(&text)).unwrap();
        assert_eq!(response.result.unwrap(), text);
    }

    #[test]
    fn a_published_file_is_checked_against_the_types() {
        let dir = std::env::temp_dir().join(format!("muster-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("settings.schema.json");
        std::fs::write(&file, settings_schema::<Marked>()).unwrap();
        assert_published::<Marked>(&file);
        std::fs::write(&file, "{}\n").unwrap();
        let stale = std::panic::catch_unwind(|| assert_published::<Marked>(&file)).unwrap_err();
        let message = stale.downcast_ref::<String>().unwrap();
        assert!(message.contains("MUSTER_UPDATE_SCHEMA=1 cargo test"), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
