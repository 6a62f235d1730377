//! `muster eval` and `muster test`, run as a user runs them: the real binary on real modules.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod support;

use serde_json::{Value, json};
use support::{fixtures, module, run, scratch_dir, stderr, stdout, write};

const SALES_RULES: &str = r#"{
  "rules": [
    {"name": "sales", "organization": "acme-sales",
     "when": {"attribute": {"name": "department", "equals": "Sales"}}}
  ],
  "groups": [
    {"name": "managers", "group": "all-managers", "when": {"attribute": {"name": "title", "regex": "(?i)manager"}}}
  ]
}"#;

fn eval(module_path: &str, settings: Option<&str>, input: &str) -> std::process::Output {
    let dir = scratch_dir("eval");
    let input = write(&dir, "input.json", input);
    let mut args = vec!["eval", "--module", module_path, "--input", &input];
    let settings_path;
    if let Some(settings) = settings {
        settings_path = write(&dir, "settings.json", settings);
        args.extend(["--settings", &settings_path]);
    }
    run(&args)
}

#[test]
fn eval_prints_the_decision_and_its_trace_as_json() {
    let output = eval(
        &module("user_rules"),
        Some(SALES_RULES),
        r#"{"user": {"user_name": "ada@acme.com", "attributes": {"department": ["Sales"], "title": ["Sales Manager"]}}}"#,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).expect("stdout is JSON");
    assert_eq!(json["user"]["organization"], "acme-sales");
    assert_eq!(json["user"]["rule"], "sales");
    assert_eq!(json["user"]["blocked"], false);
    assert_eq!(json["user"]["groups"], serde_json::json!(["all-managers"]));
    let trace = json["user"]["trace"].as_array().expect("a trace");
    assert!(trace.iter().any(|step| step["rule"] == "sales" && step["outcome"] == "matched"), "{trace:?}");
    assert!(json["user"]["fuel"].as_u64().unwrap() > 0);
    assert_eq!(json["module"].as_str().unwrap().len(), 64, "the module's SHA-256 digest");
}

#[test]
fn eval_reports_no_organization_as_blocked() {
    let output = eval(&module("user_rules"), Some(SALES_RULES), r#"{"user": {"user_name": "bob@acme.com"}}"#);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["user"]["organization"], Value::Null);
    assert_eq!(json["user"]["blocked"], true);
}

#[test]
fn eval_marks_the_users_provider_groups_with_a_group_rules_module() {
    let output = eval(
        &module("default_organization"),
        Some(r#"{"organization": "acme"}"#),
        r#"{"user": {"user_name": "ada@acme.com", "provider_groups": ["sales", "ops"]}}"#,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let groups: Vec<&str> =
        json["groups"]["groups"].as_array().unwrap().iter().map(|g| g["group"].as_str().unwrap()).collect();
    assert_eq!(groups, ["sales", "ops"]);
    assert_eq!(json["groups"]["groups"][1]["organizations"], serde_json::json!(["acme"]));
}

/// Every failure is one line on stderr, starting with `error:`, and a non-zero exit.
fn assert_one_error_line(output: &std::process::Output, needle: &str) {
    assert!(!output.status.success());
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
    assert!(stdout(output).is_empty());
}

#[test]
fn eval_names_the_bad_setting_in_one_line() {
    let output = eval(
        &module("user_rules"),
        Some(r#"{"rules": [{"name": "x", "organization": "", "when": {"provider_group": {"equals": "a"}}}]}"#),
        r#"{"user": {"user_name": "ada@acme.com"}}"#,
    );
    assert_one_error_line(&output, "rules[0].organization");
}

#[test]
fn eval_refuses_a_file_that_is_not_webassembly_in_one_line() {
    let dir = scratch_dir("not-wasm");
    let bogus = write(&dir, "bogus.wasm", "{\"not\": \"wasm\"}");
    let output = eval(&bogus, None, r#"{"user": {"user_name": "a"}}"#);
    assert_one_error_line(&output, "not a valid WebAssembly module");
}

#[test]
fn eval_refuses_malformed_input_in_one_line() {
    let output = eval(&module("user_rules"), Some(SALES_RULES), r#"{"user": {"user_name": 42}}"#);
    assert_one_error_line(&output, "input.json is not valid");
    let output = eval(&module("user_rules"), Some(SALES_RULES), r#"{"groups": ["a"]}"#);
    assert_one_error_line(&output, "nothing to evaluate");
}

/// `muster eval --input -` reads the input from standard input.
fn eval_stdin(input: &str) -> std::process::Output {
    use std::io::Write as _;
    let dir = scratch_dir("eval-stdin");
    let settings = write(&dir, "settings.json", SALES_RULES);
    let mut child = support::muster()
        .args(["eval", "--module", &module("user_rules"), "--settings", &settings, "--input", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn eval_reads_the_input_from_standard_input() {
    let output = eval_stdin(r#"{"user": {"user_name": "ada@acme.com", "attributes": {"department": ["Sales"]}}}"#);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["user"]["organization"], "acme-sales");
    let output = eval_stdin(r#"{"user": {"user_name": 42}}"#);
    assert_one_error_line(&output, "input from standard input is not valid");
}

#[test]
fn eval_names_a_missing_file() {
    let output = run(&["eval", "--module", "/nonexistent/m.wasm", "--input", "/nonexistent/u.json"]);
    assert_one_error_line(&output, "/nonexistent/");
}

#[test]
fn test_command_passes_the_stock_fixtures_through_the_engine() {
    for (artifact, policy) in [
        ("default_organization", "default-organization"),
        ("user_rules", "user-rules"),
        ("group_rules", "group-rules"),
        ("contractors", "contractors"),
    ] {
        let output = run(&["test", "--module", &module(artifact), &fixtures(policy)]);
        assert!(output.status.success(), "{policy}: {}{}", stdout(&output), stderr(&output));
        assert!(stdout(&output).contains(" 0 failed"), "{}", stdout(&output));
    }
}

#[test]
fn test_command_fails_with_a_readable_diff_and_the_trace() {
    let dir = scratch_dir("failing-fixture");
    write(
        &dir,
        "wrong.json",
        r#"{"settings": {"organization": "acme"},
            "cases": [{"name": "expects the wrong organization",
                       "user": {"user_name": "ada@acme.com"}, "expect": {"organization": "globex"}}]}"#,
    );
    let output = run(&["test", "--module", &module("default_organization"), &dir.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(report.contains("FAIL") && report.contains("expects the wrong organization"), "{report}");
    assert!(report.contains(r#"organization: expected "globex", got "acme""#), "{report}");
    assert!(report.contains("every user goes to acme"), "the trace is shown: {report}");
    assert!(report.contains("1 cases: 0 passed, 1 failed"), "{report}");
}

/// A fixture file for the default-organization module: one case that passes, one that fails.
const ONE_PASSES_ONE_FAILS: &str = r#"{"settings": {"organization": "acme"},
    "cases": [
      {"name": "ada goes to acme", "user": {"user_name": "ada@acme.com"}, "expect": {"organization": "acme"}},
      {"name": "bob is expected at globex", "user": {"user_name": "bob@acme.com"}, "expect": {"organization": "globex"}}
    ]}"#;

/// `muster test` on the default-organization module and `ONE_PASSES_ONE_FAILS`, with `extra` flags.
fn test_one_passing_one_failing(label: &str, extra: &[&str]) -> std::process::Output {
    let dir = scratch_dir(label);
    let fixture = write(&dir, "mixed.json", ONE_PASSES_ONE_FAILS);
    let module = module("default_organization");
    let mut args = vec!["test", "--module", &module, &fixture];
    args.extend(extra);
    run(&args)
}

#[test]
fn test_command_lists_passing_cases_only_when_verbose() {
    let quiet = stdout(&test_one_passing_one_failing("quiet", &[]));
    assert!(!quiet.contains("ada goes to acme"), "{quiet}");
    let output = test_one_passing_one_failing("verbose", &["-v"]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    let ok_line = report.lines().find(|line| line.contains("ada goes to acme")).expect("the passing case is listed");
    assert!(ok_line.starts_with("ok ") && ok_line.contains("mixed.json"), "{report}");
    assert!(report.contains("FAIL") && report.contains("bob is expected at globex"), "{report}");
}

#[test]
fn test_command_runs_only_the_cases_matching_run() {
    let output = test_one_passing_one_failing("run-ada", &["--run", "ada goes"]);
    assert!(output.status.success(), "the failing case was left out: {}", stdout(&output));
    assert!(stdout(&output).contains("1 cases: 1 passed, 0 failed"), "{}", stdout(&output));
    let output = test_one_passing_one_failing("run-none", &["--run", "nobody is called this"]);
    assert_eq!(output.status.code(), Some(1), "no case ran: {}", stdout(&output));
    assert!(stdout(&output).contains("no cases ran"), "{}", stdout(&output));
}

#[test]
fn test_command_reports_as_json() {
    let output = test_one_passing_one_failing("json", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("stdout is one JSON document");
    assert_eq!((report["passed"].as_u64(), report["failed"].as_u64()), (Some(1), Some(1)), "{report:#}");
    assert_eq!(report["subject"], "wasm default_organization.wasm");
    let cases = report["cases"].as_array().unwrap();
    let bob = cases.iter().find(|case| case["case"] == "bob is expected at globex").expect("bob's case");
    assert_eq!(bob["passed"], false);
    assert_eq!(bob["mismatches"][0], r#"organization: expected "globex", got "acme""#);
    assert!(!bob["trace"].as_array().unwrap().is_empty(), "the trace is kept: {bob}");
    assert!(report["coverage"].is_object(), "{report:#}");
}

#[test]
fn test_command_reports_as_junit() {
    let output = test_one_passing_one_failing("junit", &["--format", "junit"]);
    assert_eq!(output.status.code(), Some(1));
    let xml = stdout(&output);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), "{xml}");
    assert!(xml.contains(r#"<testsuite name="wasm default_organization.wasm" tests="2" failures="1">"#), "{xml}");
    assert!(xml.contains(r#"name="ada goes to acme"/>"#), "{xml}");
    assert!(
        xml.contains(r#"<failure message="organization: expected &quot;globex&quot;, got &quot;acme&quot;">"#),
        "{xml}"
    );
    assert!(xml.trim_end().ends_with("</testsuite>"), "{xml}");
}

#[test]
fn test_command_watch_runs_again_when_a_fixture_changes() {
    use std::io::BufRead as _;
    let dir = scratch_dir("watch");
    let passing = r#"{"settings": {"organization": "acme"},
        "cases": [{"name": "ada goes to acme", "user": {"user_name": "ada@acme.com"}, "expect": {"organization": "acme"}}]}"#;
    let fixture = write(&dir, "watched.json", passing);
    let mut child = support::muster()
        .args(["test", "--watch", "--module", &module("default_organization"), &fixture])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).try_for_each(|line| lines.send(line)));
    let next_summary = || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = received.recv_timeout(left).expect("a summary line within a minute");
            if line.contains(" cases: ") {
                return line;
            }
        }
    };
    let first = next_summary();
    assert!(first.starts_with("1 cases: 1 passed, 0 failed"), "{first}");
    // Still running, and running again once the fixture changes.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "--watch keeps running");
    write(
        &dir,
        "watched.json",
        &passing.replace(r#""expect": {"organization": "acme"}"#, r#""expect": {"organization": "initech"}"#),
    );
    let second = next_summary();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(second.starts_with("1 cases: 0 passed, 1 failed"), "{second}");
}

#[test]
fn test_command_refuses_a_module_older_than_the_sources_of_the_crate_holding_the_fixtures() {
    // A crate `my-rules` with its fixtures, and "its" module (the stock default-organization
    // module under the crate's library name).
    let dir = scratch_dir("stale");
    let crate_dir = dir.join("my-rules");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    std::fs::create_dir_all(crate_dir.join("fixtures")).unwrap();
    write(&crate_dir, "Cargo.toml", "[package]\nname = \"my-rules\"\n");
    write(&crate_dir, "src/lib.rs", "// the rules\n");
    let fixtures = crate_dir.join("fixtures");
    write(&fixtures, "f.json", ONE_PASSES_ONE_FAILS);
    let built = dir.join("my_rules.wasm");
    std::fs::copy(module("default_organization"), &built).unwrap();
    let set_built_at = |at: std::time::SystemTime| {
        std::fs::File::options().write(true).open(&built).unwrap().set_modified(at).unwrap();
    };
    let args = ["test", "--module", built.to_str().unwrap(), "--run", "ada", fixtures.to_str().unwrap()];

    set_built_at(std::time::SystemTime::now() - std::time::Duration::from_secs(3600));
    let output = run(&args);
    assert_one_error_line(&output, "my_rules.wasm is older than");
    let error = stderr(&output);
    // It names a source of the crate newer than the module (both are newer here).
    assert!(
        (error.contains("src/lib.rs") || error.contains("Cargo.toml")) && error.contains("rebuild it with"),
        "{error}"
    );
    assert!(error.contains(&format!("--manifest-path {}", crate_dir.join("Cargo.toml").display())), "{error}");

    set_built_at(std::time::SystemTime::now() + std::time::Duration::from_secs(60));
    let output = run(&args);
    assert!(output.status.success(), "a fresh module runs: {}{}", stdout(&output), stderr(&output));
}

/// A file of this checkout, by its path from the top.
fn checkout_file(path: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path).display().to_string()
}

#[test]
fn eval_runs_javascript_rules_on_the_stock_js_rules_module() {
    let ada: Value =
        serde_json::from_str(&std::fs::read_to_string(checkout_file("docs/demo/ada.json")).unwrap()).unwrap();
    let dir = scratch_dir("eval-script");
    let mut with_groups = ada.clone();
    with_groups["groups"] = ada["user"]["provider_groups"].clone();
    let input = write(&dir, "ada.json", &with_groups.to_string());
    let script = checkout_file("docs/demo/rules.js");
    // Without --module: the js-rules module this checkout built.
    let output = run(&["eval", "--script", &script, "--input", &input]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).expect("stdout is JSON");
    assert_eq!(json["user"]["organization"], "acme-sales");
    assert_eq!(json["user"]["rule"], "sales");
    assert_eq!(json["user"]["groups"], serde_json::json!(["all-managers"]));
    let trace = json["user"]["trace"].as_array().expect("a trace");
    assert!(
        trace.iter().any(|step| step["check"] == "department is Sales" && step["outcome"] == "matched"),
        "{trace:?}"
    );
    assert_eq!(json["groups"]["groups"][0]["organizations"], serde_json::json!(["acme-sales"]), "{json}");
    // Without `groups`, the user's provider groups are marked, as with any module.
    let output = run(&["eval", "--script", &script, "--input", &checkout_file("docs/demo/ada.json")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let defaulted: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(defaulted["groups"]["groups"], json["groups"]["groups"], "{defaulted}");
    // A script need not decide groups: one without decideGroup is asked about the user only.
    let users_only = write(&dir, "users.js", "export function decideUser() { return { organization: \"acme\" }; }\n");
    let output = run(&["eval", "--script", &users_only, "--input", &input]);
    assert!(output.status.success(), "{}", stderr(&output));
    let user_only: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!((&user_only["user"]["organization"], user_only.get("groups")), (&json!("acme"), None), "{user_only}");
    // The same decision as the Rust module with the demo's settings.
    let rust = run(&[
        "eval",
        "--module",
        &module("user_rules"),
        "--settings",
        &checkout_file("docs/demo/user-rules.json"),
        "--input",
        &input,
    ]);
    let rust: Value = serde_json::from_str(&stdout(&rust)).unwrap();
    assert_eq!(rust["user"]["organization"], json["user"]["organization"]);
    assert_eq!(rust["user"]["groups"], json["user"]["groups"]);
}

#[test]
fn eval_hands_the_settings_to_a_script_as_its_config() {
    let dir = scratch_dir("eval-script-config");
    let script = write(
        &dir,
        "rules.js",
        "export function decideUser(user, context) { return { organization: context.config.organization, rule: \"config\" }; }\n",
    );
    let config = write(&dir, "config.json", r#"{"organization": "globex"}"#);
    let input = write(&dir, "input.json", r#"{"user": {"user_name": "ada@acme.com"}}"#);
    let output =
        run(&["eval", "--script", &script, "--settings", &config, "--module", &module("js_rules"), "--input", &input]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["user"]["organization"], "globex");
}

#[test]
fn eval_reports_a_script_syntax_error_with_its_line_and_column() {
    let dir = scratch_dir("eval-script-syntax");
    let script = write(&dir, "rules.js", "export function decideUser(user) {\n  if (user ==) { return null; }\n}\n");
    let input = write(&dir, "input.json", r#"{"user": {"user_name": "ada@acme.com"}}"#);
    let output = run(&["eval", "--script", &script, "--input", &input]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(error.contains("line 2, column"), "{error}");
    assert!(error.contains("if (user ==)"), "the offending line is shown: {error}");
}

#[test]
fn test_command_runs_a_rust_modules_fixtures_against_its_javascript_twin() {
    let twin = checkout_file("policies/js-rules/twins/default-organization.js");
    let output = run(&["test", "--verbose", "--script", &twin, &fixtures("default-organization")]);
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    let report = stdout(&output);
    assert!(report.contains(" 0 failed") && !report.contains(" 0 passed"), "{report}");
    // The file's settings-error cases run too: the twin's validateConfig refuses what the module does.
    assert!(report.contains("an unknown setting is refused"), "{report}");
    // A twin that decides otherwise, and checks nothing, fails the same file.
    let dir = scratch_dir("wrong-twin");
    let wrong = write(&dir, "wrong.js", "export function decideUser() { return { organization: \"globex\" }; }\n");
    let output = run(&["test", "--script", &wrong, &fixtures("default-organization")]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains(r#"expected "acme", got "globex""#), "{}", stdout(&output));
    assert!(stdout(&output).contains("expected the settings to be refused at \"organization\""), "{}", stdout(&output));
}
