//! Unit tests of the policy, natively.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use muster_guest::{Context, Trace, User, UserDecision};

use super::*;

fn settings(script: &str) -> Settings {
    Settings { script: script.to_owned(), config: None }
}

#[test]
fn the_published_settings_schema_is_the_settings_types_schema() {
    muster_guest::schema::assert_published::<JsRules>(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.schema.json"));
}

#[test]
fn a_syntax_error_names_line_column_and_the_line() {
    let err =
        JsRules::validate_settings(&settings("export function decideUser(u) {\n  let x = 1;\n  if (x ==) {}\n}\n"))
            .unwrap_err();
    assert_eq!(err.path, "script");
    assert!(err.message.starts_with("line 3, column "), "{}", err.message);
    assert!(err.message.contains("SyntaxError"), "{}", err.message);
    assert!(err.message.ends_with("  3 |   if (x ==) {}"), "{}", err.message);
}

#[test]
fn a_user_decision_comes_from_decide_user() {
    let s = settings(
        r#"export function decideUser(user, context) {
        if (trace.check("acme", "e-mail at acme.com", emailDomain(user) === "acme.com")) {
            return { organization: "acme", rule: "acme", groups: ["staff"] };
        }
        trace.note(null, "nobody else");
        return { organization: null };
    }"#,
    );
    let user = User { user_name: "Ada@ACME.com".into(), ..User::default() };
    let mut trace = Trace::new();
    let decision = JsRules::try_decide_user(&s, &user, &Context::default(), &mut trace).unwrap();
    assert_eq!(decision.organization.as_deref(), Some("acme"));
    assert_eq!(decision.groups, ["staff"]);
    assert_eq!(trace.steps().len(), 1);
}

fn decide(script: &str) -> Result<UserDecision, String> {
    JsRules::try_decide_user(&settings(script), &User::default(), &Context::default(), &mut Trace::new())
}

#[test]
fn natively_an_endless_loop_is_interrupted() {
    let err = decide("export function decideUser() { for (;;) {} }").unwrap_err();
    assert!(err.contains("InternalError: interrupted"), "{err}");
}

#[test]
fn natively_deep_recursion_is_a_range_error() {
    let err =
        decide("export function decideUser() { const down = (n) => down(n + 1) + 1; return down(0); }").unwrap_err();
    assert!(err.contains("RangeError: Maximum call stack size exceeded"), "{err}");
}

#[test]
fn the_script_is_loaded_once_per_settings() {
    let script = "let calls = 0;\nexport function decideUser() { calls += 1; return { organization: `${calls}` }; }";
    assert_eq!(decide(script).unwrap().organization.as_deref(), Some("1"));
    assert_eq!(decide(script).unwrap().organization.as_deref(), Some("2"));
    let other = format!("{script}\n// another version");
    assert_eq!(decide(&other).unwrap().organization.as_deref(), Some("1"));
}

#[test]
fn the_user_the_script_sees_has_every_field_and_attribute_as_its_own() {
    let script =
        "export function decideUser(u) { return { organization: JSON.stringify([u, Object.keys(u.attributes)]) }; }";
    let user = User {
        user_name: "ada@acme.com".into(),
        email: None,
        external_id: Some("x1".into()),
        attributes: [("__proto__".to_owned(), vec!["a".to_owned()]), ("title".to_owned(), vec![])].into(),
        provider_groups: vec!["g".into()],
        internal_groups: vec![],
    };
    let seen = |user: &User| {
        JsRules::try_decide_user(&settings(script), user, &Context::default(), &mut Trace::new()).unwrap().organization
    };
    let mut plain = user.clone();
    plain.attributes.remove("__proto__");
    assert_eq!(
        seen(&plain).as_deref(),
        Some(
            r#"[{"userName":"ada@acme.com","externalId":"x1","email":null,"attributes":{"title":[]},"providerGroups":["g"],"internalGroups":[]},["title"]]"#
        )
    );
    assert_eq!(
        seen(&user).as_deref(),
        Some(
            r#"[{"userName":"ada@acme.com","externalId":"x1","email":null,"attributes":{"__proto__":["a"],"title":[]},"providerGroups":["g"],"internalGroups":[]},["__proto__","title"]]"#
        )
    );
}

fn with_config(script: &str, config: serde_json::Value) -> Result<(), SettingsError> {
    JsRules::validate_settings(&Settings { script: script.to_owned(), config: Some(config) })
}

const CHECKS_ORGANIZATION: &str = r#"
export function validateConfig(config) {
    if (typeof config.organization !== "string") throw new ConfigError("organization", "must be a string");
    if (config.rules?.[1] === "") throw new ConfigError("rules[1]", "must not be empty");
    if (config.whole) throw new ConfigError("", "is wrong as a whole");
}
export function decideUser(user, context) { return { organization: context.config.organization }; }
"#;

#[test]
fn validate_config_refuses_the_config_at_the_path_it_names() {
    with_config(CHECKS_ORGANIZATION, serde_json::json!({"organization": "acme"})).unwrap();
    let err = with_config(CHECKS_ORGANIZATION, serde_json::json!({"organization": 7})).unwrap_err();
    assert_eq!((err.path.as_str(), err.message.as_str()), ("config.organization", "must be a string"));
    let err =
        with_config(CHECKS_ORGANIZATION, serde_json::json!({"organization": "a", "rules": ["x", ""]})).unwrap_err();
    assert_eq!(err.path, "config.rules[1]");
    let err = with_config(CHECKS_ORGANIZATION, serde_json::json!({"organization": "a", "whole": true})).unwrap_err();
    assert_eq!((err.path.as_str(), err.message.as_str()), ("config", "is wrong as a whole"));
}

#[test]
fn validate_config_failing_otherwise_refuses_the_whole_config_with_what_was_thrown() {
    let typo = "export function validateConfig(c) { c.missing.field; }\nexport function decideUser() {}";
    let err = with_config(typo, serde_json::json!({})).unwrap_err();
    assert_eq!(err.path, "config");
    assert!(err.message.starts_with("TypeError: ") && err.message.contains("rules.js:1:"), "{}", err.message);
    let string = "export function validateConfig() { throw \"no\"; }\nexport function decideUser() {}";
    let err = with_config(string, serde_json::json!({})).unwrap_err();
    assert_eq!(err.path, "script");
    assert!(err.message.contains("validateConfig threw a string, not an Error"), "{}", err.message);
}

#[test]
fn validate_config_sees_the_frozen_config_and_runs_at_every_load() {
    let mutates = "export function validateConfig(c) { c.x = 1; }\nexport function decideUser() {}";
    let err = with_config(mutates, serde_json::json!({})).unwrap_err();
    assert_eq!(err.path, "config");
    assert!(err.message.contains("TypeError"), "{}", err.message);
    // Loading the version (what the host snapshots) checks the config too.
    let err = JsRules::on_load(&Settings { script: CHECKS_ORGANIZATION.to_owned(), config: None }).unwrap_err();
    assert_eq!(err.path, "config");
}
