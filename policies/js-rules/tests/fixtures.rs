//! The fixture files, run natively and through the real engine on the compiled module; and the
//! JavaScript twins of two Rust stock modules, run against those modules' own fixture files.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};

use muster_harness::{Scripted, Subject, Wasm};
use muster_wire::{Context, User};

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

/// js-rules running the JavaScript twin of the stock module `module`: the module's own fixture
/// files run against it unchanged, their settings handed to the script as `context.config`.
fn twin<S: Subject>(subject: S, module: &str) -> Scripted<S> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("twins").join(format!("{module}.js"));
    Scripted::new(subject, std::fs::read_to_string(&path).unwrap(), path.display().to_string())
}

/// Runs every case of `module`'s fixture files, its settings-error cases included: the twin's
/// `validateConfig` refuses what the module refuses, at the same place.
fn run_module_fixtures(subject: &impl Subject, module: &str) -> muster_harness::Report {
    let fixtures: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(module).join("fixtures");
    subject.run([fixtures])
}

#[test]
fn the_contractors_fixtures_pass_against_its_javascript_twin() {
    run_module_fixtures(&twin(native(), "contractors"), "contractors").assert_passed();
    run_module_fixtures(&twin(Wasm::built("js_rules"), "contractors"), "contractors").assert_passed();
}

#[test]
fn the_default_organization_fixtures_pass_against_its_javascript_twin() {
    run_module_fixtures(&twin(native(), "default-organization"), "default-organization").assert_passed();
    run_module_fixtures(&twin(Wasm::built("js_rules"), "default-organization"), "default-organization").assert_passed();
}

#[test]
fn a_twin_traces_what_its_rust_module_traces() {
    let rust = muster_harness::native!(contractors::Contractors { user_rules });
    let twin = twin(native(), "contractors");
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
