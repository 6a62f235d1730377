//! The fixture files, run natively and through the real engine on the compiled module; and the
//! JavaScript twins of two Rust stock modules, run against those modules' own fixture files.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};

use muster_harness::{Failure, Subject, Wasm, subject::Traced};
use muster_wire::{Context, GroupDecision, User, UserDecision};

fn native() -> muster_harness::Native {
    muster_harness::native!(js_rules::JsRules { user_rules, group_rules })
}

#[test]
fn fixtures_pass_natively() {
    native().run(["fixtures"]).assert_passed();
}

#[test]
fn fixtures_pass_through_the_engine() {
    Wasm::built("js_rules").run(["fixtures"]).assert_passed();
}

/// js-rules running one script, the fixture's settings document handed to it as `config`: a
/// fixture file written for a Rust module runs, unchanged, against the module's JavaScript twin.
struct Twin<S> {
    subject: S,
    script: String,
}

impl<S: Subject> Twin<S> {
    fn new(subject: S, twin: &str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("twins").join(format!("{twin}.js"));
        Self { subject, script: std::fs::read_to_string(path).unwrap() }
    }

    /// Runs the decision cases of `module`'s fixture files: its settings-error cases are about
    /// its own settings format, which the twin does not check.
    fn run_module_fixtures(&self, module: &str) -> muster_harness::Report {
        let fixtures: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(module).join("fixtures");
        muster_harness::run_fixtures_where(self, &[fixtures], |case| case.expect_settings_error.is_none())
    }
}

impl<S: Subject> Subject for Twin<S> {
    fn label(&self) -> String {
        format!("{} (JavaScript twin)", self.subject.label())
    }

    fn prepare(&self, settings_json: &[u8]) -> Result<Vec<u8>, Failure> {
        let config: serde_json::Value = serde_json::from_slice(settings_json).unwrap();
        let settings = serde_json::json!({ "script": self.script, "config": config });
        self.subject.prepare(&serde_json::to_vec(&settings).unwrap())
    }

    fn user(&self, settings: &[u8], context: &Context, user: &User) -> Result<Traced<UserDecision>, Failure> {
        self.subject.user(settings, context, user)
    }

    fn groups(&self, settings: &[u8], context: &Context, groups: &[String]) -> Result<Traced<GroupDecision>, Failure> {
        self.subject.groups(settings, context, groups)
    }
}

#[test]
fn the_contractors_fixtures_pass_against_its_javascript_twin() {
    Twin::new(native(), "contractors").run_module_fixtures("contractors").assert_passed();
    Twin::new(Wasm::built("js_rules"), "contractors").run_module_fixtures("contractors").assert_passed();
}

#[test]
fn the_default_organization_fixtures_pass_against_its_javascript_twin() {
    Twin::new(native(), "default-organization").run_module_fixtures("default-organization").assert_passed();
    Twin::new(Wasm::built("js_rules"), "default-organization")
        .run_module_fixtures("default-organization")
        .assert_passed();
}

#[test]
fn a_twin_traces_what_its_rust_module_traces() {
    let rust = muster_harness::native!(contractors::Contractors { user_rules });
    let twin = Twin::new(native(), "contractors");
    let settings = br#"{"employee_domains":["acme.com"],"contractor_domains":["partners.acme.io"],
        "employees":"acme","contractors":"acme-contractors","blocked_departments":["Legal"]}"#;
    let (rust_settings, twin_settings) = (rust.prepare(settings).unwrap(), twin.prepare(settings).unwrap());
    for (email, department) in [("ada@acme.com", "Engineering"), ("bo@partners.acme.io", "Legal"), ("cy@else.org", "")]
    {
        let user = User {
            user_name: email.into(),
            attributes: [("department".to_owned(), vec![department.to_owned()])].into(),
            ..User::default()
        };
        let context = Context::default();
        assert_eq!(
            rust.user(&rust_settings, &context, &user).unwrap(),
            twin.user(&twin_settings, &context, &user).unwrap()
        );
    }
}
