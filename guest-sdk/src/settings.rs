//! Parsing, validating and preparing a tenant's settings document.
//!
//! When a module is activated the host calls `prepare_settings` once with the JSON document;
//! the SDK parses it into the policy's `Settings` type (reporting the exact path of a problem),
//! runs [`Policy::validate_settings`], and returns a compact encoding that every later
//! evaluation decodes instead of re-parsing JSON. Types postcard can encode (externally tagged
//! enums, plain structs) get the fast binary form; other serde types (internally tagged or
//! untagged enums) fall back to JSON transparently.

use serde::de::DeserializeOwned;

use crate::Policy;
pub use muster_wire::SettingsError;

/// First byte of prepared settings: how the rest is encoded.
const FORMAT_POSTCARD: u8 = 0;
const FORMAT_JSON: u8 = 1;

/// Builds a [`SettingsError`] at `path` (for instance `rules[2].organization`).
pub fn error_at(path: impl Into<String>, message: impl Into<String>) -> SettingsError {
    SettingsError { path: path.into(), message: message.into() }
}

/// Parses and validates a settings document, returning its prepared form.
pub fn prepare<P: Policy>(json: &[u8]) -> Result<Vec<u8>, SettingsError> {
    let settings: P::Settings = parse_json(json)?;
    P::validate_settings(&settings)?;
    let binary = muster_wire::codec::encode(&settings)
        .ok()
        .filter(|bytes| muster_wire::codec::decode::<P::Settings>(bytes).is_ok());
    let prepared = match binary {
        Some(bytes) => [&[FORMAT_POSTCARD][..], &bytes].concat(),
        None => [&[FORMAT_JSON][..], json].concat(),
    };
    Ok(prepared)
}

/// Decodes prepared settings (the output of [`prepare`]).
pub fn load<P: Policy>(prepared: &[u8]) -> Result<P::Settings, SettingsError> {
    match prepared.split_first() {
        Some((&FORMAT_POSTCARD, bytes)) => {
            muster_wire::codec::decode(bytes).map_err(|e| error_at("", format!("prepared settings are corrupt: {e}")))
        }
        Some((&FORMAT_JSON, json)) => parse_json(json),
        _ => Err(error_at("", "prepared settings are empty or of an unknown format")),
    }
}

/// Parses `json`, naming a problem by its path in the document (`rules[2].when.all[0]`). A
/// problem of the document's content says nothing of line and column: the path names it in
/// the author's own document, however it was laid out (the host may hand over a re-serialized
/// copy). Only a document that is not JSON at all keeps them.
fn parse_json<T: DeserializeOwned>(json: &[u8]) -> Result<T, SettingsError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let error = e.into_inner();
        let message = if error.is_data() { without_position(&error) } else { error.to_string() };
        error_at(path, message)
    })?;
    deserializer.end().map_err(|e| error_at("", e.to_string()))?;
    Ok(value)
}

/// A serde_json error's message without its ` at line L column C` suffix.
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    message.strip_suffix(&suffix).map(str::to_owned).unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Plain {
        organization: String,
        rules: Vec<Rule>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Rule {
        Equals { attribute: String, value: String },
        Regex { pattern: crate::Regex },
    }

    impl Policy for Plain {
        type Settings = Plain;
        fn validate_settings(settings: &Plain) -> Result<(), SettingsError> {
            if settings.organization.is_empty() {
                return Err(error_at("organization", "must not be empty"));
            }
            Ok(())
        }
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "kind")]
    enum Tagged {
        A { x: u32 },
    }

    struct TaggedPolicy;
    impl Policy for TaggedPolicy {
        type Settings = Tagged;
    }

    #[test]
    fn prepared_settings_round_trip_in_binary_form() {
        let json =
            br#"{"organization":"acme","rules":[{"equals":{"attribute":"d","value":"x"}},{"regex":{"pattern":"^a"}}]}"#;
        let prepared = prepare::<Plain>(json).unwrap();
        assert_eq!(prepared[0], FORMAT_POSTCARD);
        let loaded = load::<Plain>(&prepared).unwrap();
        assert_eq!(loaded.organization, "acme");
        assert_eq!(loaded.rules.len(), 2);
    }

    #[test]
    fn types_postcard_cannot_encode_fall_back_to_json() {
        let prepared = prepare::<TaggedPolicy>(br#"{"kind":"A","x":3}"#).unwrap();
        assert_eq!(prepared[0], FORMAT_JSON);
        assert_eq!(load::<TaggedPolicy>(&prepared).unwrap(), Tagged::A { x: 3 });
    }

    #[test]
    fn errors_name_the_path_of_the_problem() {
        let err = prepare::<Plain>(br#"{"organization":"a","rules":[{"regex":{"pattern":"("}}]}"#).unwrap_err();
        assert_eq!(err.path, "rules[0].regex.pattern");
        assert!(err.message.contains("invalid regex"), "{err}");

        let err = prepare::<Plain>(br#"{"organization":"","rules":[]}"#).unwrap_err();
        assert_eq!((err.path.as_str(), err.message.as_str()), ("organization", "must not be empty"));

        let err = prepare::<Plain>(br#"{"organization":"a"}"#).unwrap_err();
        assert_eq!((err.path.as_str(), err.message.as_str()), ("", "missing field `rules`"));

        let err =
            prepare::<Plain>(br#"{"organization":"a","rules":[{"equals":{"attribute":"d","value":5}}]}"#).unwrap_err();
        assert_eq!(err.path, "rules[0].equals.value");
        assert_eq!(err.message, "invalid type: integer `5`, expected a string");

        let err = prepare::<Plain>(b"{not json").unwrap_err();
        assert!(err.message.contains("key must be a string"), "{err}");
    }

    #[test]
    fn corrupt_prepared_settings_are_an_error_not_a_panic() {
        assert!(load::<Plain>(&[]).is_err());
        assert!(load::<Plain>(&[7, 1, 2]).is_err());
        assert!(load::<Plain>(&[FORMAT_POSTCARD, 0xff, 0xff]).is_err());
    }
}
