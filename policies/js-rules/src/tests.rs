//! Unit tests of the policy, natively.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use muster_guest::{Context, Trace, User};

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
    eprintln!("{}", err.message);
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
