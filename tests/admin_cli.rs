//! The admin CLI (`muster upload`, `versions`, `activate`, …) run as an admin runs it: the real
//! binary against a real running server, with real module and settings files.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/server.rs"]
mod server;
mod support;

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::{Output, Stdio},
};

use fixture::{Fixture, REALM, ada_claims, bob_claims, user_rules_v2};
use serde_json::{Value, json};
use server::{Backend, TestServer};
use support::{module, muster, scratch_dir, stderr, stdout, write};

/// An admin's shell: the server, tenant and realm in the environment, the key in a file.
struct Admin {
    server: String,
    tenant: String,
    token_file: PathBuf,
    dir: PathBuf,
}

impl Admin {
    fn new(fx: &Fixture, label: &str) -> Admin {
        let dir = scratch_dir(label);
        let token_file = PathBuf::from(write(&dir, "admin-token", &format!("{}\n", fx.tenant.admin)));
        Admin { server: fx.server.url().to_owned(), tenant: fx.tenant.id.clone(), token_file, dir }
    }

    /// Runs `muster <args>` with `--token-file`, the rest from the environment.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, None)
    }

    fn run_with_input(&self, args: &[&str], input: Option<&str>) -> Output {
        let mut command = muster();
        command
            .args(args)
            .arg("--token-file")
            .arg(&self.token_file)
            .env("MUSTER_SERVER", &self.server)
            .env("MUSTER_TENANT", &self.tenant)
            .env("MUSTER_REALM", REALM)
            .env_remove("MUSTER_TOKEN")
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the muster binary runs");
        if let Some(input) = input {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed, returning its standard output.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(output.status.code(), Some(0), "muster {args:?}: {}{}", stdout(&output), stderr(&output));
        stdout(&output)
    }

    /// Runs a command with `--json`, returning its output parsed.
    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(&[args, &["--json"]].concat());
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("muster {args:?} --json: {e}: {text}"))
    }

    fn file(&self, name: &str, contents: &str) -> String {
        write(&self.dir, name, contents)
    }
}

/// One line on standard error, `error: …` containing `needle`, nothing on standard output, and
/// the exit code.
#[track_caller]
fn assert_failure(output: &Output, code: i32, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{needle:?} in {err}");
    assert!(stdout(output).is_empty(), "{}", stdout(output));
}

fn start(label: &str) -> (TestServer, Fixture) {
    let server = TestServer::start(Backend::Sqlite, label);
    let fx = Fixture::new(&server, "acme");
    (server, fx)
}

#[test]
fn a_session_from_upload_to_rollback() {
    let (_server, fx) = start("admin-session");
    let admin = Admin::new(&fx, "admin-session");
    let (status, login) = fx.login(&ada_claims());
    assert_eq!(status, 200, "{login}");
    let ada = login["user_id"].as_str().unwrap().to_owned();
    let (status, _) = fx.login(&bob_claims());
    assert_eq!(status, 200);

    // Upload version 2 of the user rules from files: the CLI base64-encodes the module.
    let settings = admin.file("v2.json", &user_rules_v2().to_string());
    let wasm = module("user_rules");
    let uploaded =
        admin.ok(&["upload", "--kind", "user", "--module", &wasm, "--settings", &settings, "--note", "EMEA"]);
    assert!(uploaded.starts_with("uploaded user rules version 2 ("), "{uploaded}");
    let (_, stored) = fx.server.get(&format!("{}/modules/user/versions/2", fx.realm_path()), fx.admin());
    assert_eq!(stored["note"], "EMEA", "{stored}");
    assert_eq!(stored["size"].as_u64(), Some(std::fs::metadata(&wasm).unwrap().len()), "the module's bytes arrived");

    // The versions: 1 active, 2 not yet.
    let table = admin.ok(&["versions", "--kind", "user"]);
    let row = |version: &str| table.lines().find(|l| l.split_whitespace().next() == Some(version)).unwrap().to_owned();
    assert!(row("1").contains("active") && row("1").contains("initial rules"), "{table}");
    assert!(!row("2").contains("active") && row("2").contains("EMEA"), "{table}");

    // A dry run of Ada on the candidate, then of an ad-hoc user from standard input.
    let dry = admin.ok(&["dry-run", "--user", &ada, "--kind", "user", "--version", "2"]);
    assert!(dry.contains("organization: acme-emea (rule sales v2)"), "{dry}");
    assert!(dry.contains("user rules: version 2"), "{dry}");
    assert!(dry.contains("matched") && dry.contains("sales v2:"), "the trace: {dry}");
    let output = admin.run_with_input(
        &["dry-run", "--input", "-"],
        Some(r#"{"user_name": "eve@acme.com", "attributes": {"department": ["Engineering"]}}"#),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("organization: acme-engineering (rule engineering)"), "{}", stdout(&output));

    // The impact of version 2: Ada moves to acme-emea, Bob from blocked to the fallback.
    let impact = admin.ok(&["impact", "--kind", "user", "2"]);
    assert!(
        impact.starts_with("user rules version 2 against the active version: 2 of 2 users would change"),
        "{impact}"
    );
    assert!(impact.contains("ada@acme.com") && impact.contains("organization acme-sales → acme-emea"), "{impact}");
    assert!(impact.contains("bob@example.org") && impact.contains("No organization (blocked) → acme"), "{impact}");

    // Activate it; a login now decides with it.
    assert_eq!(admin.ok(&["activate", "--kind", "user", "2"]).trim(), "activated user rules version 2 (was 1)");
    assert!(
        admin
            .ok(&["versions", "--kind", "user"])
            .lines()
            .any(|l| l.trim_start().starts_with("2 ") && l.contains("active"))
    );
    let (status, login) = fx.login(&ada_claims());
    assert_eq!((status, &login["organization"]), (200, &json!("acme-emea")), "{login}");
    let decision = login["decision_id"].as_str().unwrap().to_owned();

    // The decision is listed, shown with its trace, and replays identically.
    let list = admin.ok(&["decisions", "--user", &ada, "--trigger", "login"]);
    let first = list.lines().nth(1).unwrap();
    assert!(first.contains(&decision) && first.contains("acme-emea (rule sales v2)"), "newest first: {list}");
    assert_eq!(list.lines().count(), 3, "header and Ada's two logins: {list}");
    // A page at a time: the next page's command keeps the filters.
    let page = admin.ok(&["decisions", "--user", &ada, "--trigger", "login", "--limit", "1"]);
    let hint = page.lines().last().unwrap();
    let next = hint.strip_prefix("more decisions: muster ").unwrap_or_else(|| panic!("a next-page hint: {page}"));
    assert!(next.contains(&format!(" --user {ada} --trigger login --limit 1 --before ")), "{hint}");
    let second = admin.ok(&next.split(' ').collect::<Vec<_>>());
    let rows = second.lines().filter(|line| line.starts_with("  ") && !line.trim_start().starts_with("ID")).count();
    assert!(!second.contains(&decision) && rows == 1, "the older login, one row: {second}");
    let shown =
        admin.ok(&["decisions", "show", &decision]).split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    assert!(shown.contains("ada@acme.com") && shown.contains("organization: acme-emea (rule sales v2)"), "{shown}");
    assert!(shown.contains("user rules: version 2") && shown.contains("trace (user rules):"), "{shown}");
    let replay = admin.ok(&["replay", &decision]);
    assert!(replay.contains("identical: the same output and trace as recorded"), "{replay}");
    let candidate = admin.ok(&["replay", &decision, "--kind", "user", "--version", "1"]);
    assert!(
        candidate.contains("a different output") && candidate.contains("replayed: acme-sales (rule sales)"),
        "{candidate}"
    );

    // Roll back: version 1 is active again, and a login decides with it.
    assert_eq!(admin.ok(&["rollback", "--kind", "user"]).trim(), "rolled user rules back to version 1 (was 2)");
    let (_, login) = fx.login(&ada_claims());
    assert_eq!(login["organization"], "acme-sales", "{login}");
}

/// Rules that fail leave records the CLI shows as failures: `decisions --failed`, `decisions
/// show`, a backtest and a replay on a version that works, and rollback's 409 once the history
/// is walked back to its start.
#[test]
fn failed_decisions_are_listed_shown_backtested_and_replayed() {
    let (_server, fx) = start("admin-failures");
    let admin = Admin::new(&fx, "admin-failures");
    let (status, _) = fx.login(&ada_claims());
    assert_eq!(status, 200);
    let trapping = wat::parse_str(
        r#"(module
  (memory (export "memory") 1)
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "muster_user_rules") (param i32 i32) (result i64) unreachable))"#,
    )
    .unwrap();
    let wasm = admin.dir.join("traps.wasm");
    std::fs::write(&wasm, trapping).unwrap();
    admin.ok(&["upload", "--kind", "user", "--module", wasm.to_str().unwrap(), "--note", "traps"]);
    admin.ok(&["activate", "--kind", "user", "2"]);
    let (status, refused) = fx.login(&ada_claims());
    assert_eq!(status, 422, "{refused}");
    let failed = refused["error"]["decision_id"].as_str().unwrap().to_owned();

    let listed = admin.ok(&["decisions", "--failed", "true"]);
    assert_eq!(listed.lines().count(), 2, "the header and the one failure: {listed}");
    let row = listed.lines().nth(1).unwrap();
    assert!(row.contains(&failed) && row.contains("failed: trap: ") && row.contains("not applied"), "{listed}");
    let made = admin.ok(&["decisions", "--failed", "false"]);
    assert!(!made.contains(&failed) && made.lines().count() == 2, "Ada's first login only: {made}");
    let shown = admin.ok(&["decisions", "show", &failed]);
    let failure_line = shown.lines().find(|line| line.trim_start().starts_with("failed:")).unwrap_or_default();
    assert!(failure_line.contains("trap: ") && failure_line.contains("user rules version 2 failed"), "{shown}");
    assert!(!shown.contains("organization:"), "a failure has no decision to show: {shown}");

    let backtest = admin.ok(&["backtest", "--kind", "user", "1"]);
    assert!(backtest.contains("over 2 recorded decisions: 1 would have ended differently, 0 failed"), "{backtest}");
    assert!(backtest.contains(&format!("{failed} ")) && backtest.contains("failed (trap) → acme-sales"), "{backtest}");
    let replay = admin.ok(&["replay", &failed, "--kind", "user", "--version", "1"]);
    assert!(replay.contains("recorded: no output: the rules failed"), "{replay}");
    assert!(replay.contains("replayed: acme-sales (rule sales)"), "{replay}");
    assert!(replay.contains("what changed (failure, user_trace"), "{replay}");

    // 1 → 2 → rollback to 1: the next rollback says why there is nothing to roll back to.
    assert_eq!(admin.ok(&["rollback", "--kind", "user"]).trim(), "rolled user rules back to version 1 (was 2)");
    let output = admin.run(&["rollback", "--kind", "user"]);
    assert_failure(&output, 1, "conflict: nothing to roll back to: user rules version 1 is the oldest entry");
    assert!(stderr(&output).contains("activate version 2 to return to it"), "{}", stderr(&output));
}

#[test]
fn json_prints_the_servers_answer_unchanged() {
    let (_server, fx) = start("admin-json");
    let admin = Admin::new(&fx, "admin-json");
    let versions = admin.json(&["versions", "--kind", "user"]);
    let (_, direct) = fx.server.get(&format!("{}/modules/user/versions", fx.realm_path()), fx.admin());
    assert_eq!(versions, direct);
    assert_eq!(versions["active"], 1);

    let (_, login) = fx.login(&ada_claims());
    let shown = admin.json(&["decisions", "show", login["decision_id"].as_str().unwrap()]);
    assert_eq!(shown["id"], login["decision_id"]);
    let listed = admin.json(&["decisions"]);
    assert_eq!(listed["decisions"][0]["id"], login["decision_id"]);
    let impact = admin.json(&["impact", "--kind", "user", "1"]);
    assert_eq!((impact["evaluated"].as_i64(), impact["changed"].as_i64()), (Some(1), Some(0)), "{impact}");
}

#[test]
fn shadow_runs_a_candidate_beside_the_active_version_and_deprovision_deactivates() {
    let (_server, fx) = start("admin-shadow");
    let admin = Admin::new(&fx, "admin-shadow");
    let settings = admin.file("v2.json", &user_rules_v2().to_string());
    admin.ok(&["upload", "--kind", "user", "--module", &module("user_rules"), "--settings", &settings]);
    let set = admin.ok(&["shadow", "--kind", "user", "2"]);
    assert_eq!(set.trim(), "user rules version 2 runs in shadow beside the active version 1");
    let table = admin.ok(&["versions", "--kind", "user"]);
    assert!(table.lines().any(|l| l.trim_start().starts_with("2 ") && l.contains("shadow")), "{table}");
    let (_, login) = fx.login(&ada_claims());
    let ada = login["user_id"].as_str().unwrap().to_owned();
    let summary = admin.ok(&["shadow"]);
    assert!(summary.starts_with("in shadow: user rules version 2, group rules none"), "{summary}");
    // The shadow evaluation runs after the answer: wait until it is recorded.
    let mut listed = String::new();
    for _ in 0..100 {
        listed = admin.ok(&["decisions", "--shadow", "true", "--differs", "true"]);
        if listed.lines().count() > 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(listed.contains("acme-emea (rule sales v2)") && listed.contains("shadow, differs"), "{listed}");
    assert_eq!(admin.ok(&["shadow", "--kind", "user", "--clear"]).trim(), "no user rules version runs in shadow");

    let done = admin.ok(&["deprovision", &ada, "--reason", "left the company"]);
    assert!(done.starts_with(&format!("deactivated ada@acme.com ({ada}): 1 session(s) revoked")), "{done}");
    let (_, user) = fx.server.get(&format!("{}/users/{ada}", fx.realm_path()), fx.admin());
    assert_eq!(user["status"], "deactivated", "{user}");
    let again = admin.ok(&["deprovision", &ada]);
    assert_eq!(again.trim(), format!("user {ada} was deactivated already: nothing changed"));
}

#[test]
fn upload_script_puts_javascript_rules_in_the_realm_and_refusals_name_their_place() {
    let (_server, fx) = start("admin-script");
    let admin = Admin::new(&fx, "admin-script");
    let script = admin.file(
        "rules.js",
        "export function validateConfig(config) {\n  if (!config?.sales) throw new ConfigError(\"sales\", \"must name an organization\");\n}\n\
         export function decideUser(user, context) {\n  return { organization: context.config.sales, rule: \"sales\" };\n}\n",
    );
    let config = admin.file("config.json", r#"{"sales": "acme-emea"}"#);
    let uploaded = admin.ok(&["upload", "--kind", "user", "--script", &script, "--settings", &config, "--note", "js"]);
    assert!(uploaded.starts_with("uploaded user rules version 2 ("), "{uploaded}");
    let (_, stored) = fx.server.get(&format!("{}/modules/user/versions/2", fx.realm_path()), fx.admin());
    assert_eq!(stored["settings"]["config"], json!({"sales": "acme-emea"}), "{stored}");
    assert!(stored["settings"]["script"].as_str().unwrap().contains("decideUser"), "{stored}");
    assert_eq!(stored["size"].as_u64(), Some(std::fs::metadata(module("js_rules")).unwrap().len()), "{stored}");
    admin.ok(&["activate", "--kind", "user", "2"]);
    let (status, login) = fx.login(&ada_claims());
    assert_eq!((status, &login["organization"]), (200, &json!("acme-emea")), "{login}");

    // The script refuses a config without the organization: one line naming the place, exit 1.
    let empty = admin.file("empty.json", "{}");
    let output = admin.run(&["upload", "--kind", "user", "--script", &script, "--settings", &empty]);
    assert_failure(&output, 1, "config.sales");
    // A script that is not JavaScript: its line and column, and the line itself.
    let broken = admin.file("broken.js", "export function decideUser(user) { if (user ==) {} }\n");
    let output = admin.run(&["upload", "--kind", "user", "--script", &broken]);
    assert_failure(&output, 1, "error: unprocessable: settings refused at script: line 1, column 47: SyntaxError");
    assert!(
        stderr(&output).contains("1 | export function decideUser(user) { if (user ==) {} }"),
        "{}",
        stderr(&output)
    );
    // A missing script is a usage error; nothing was stored.
    assert_failure(
        &admin.run(&["upload", "--kind", "user", "--script", "/nonexistent/rules.js"]),
        2,
        "cannot read script",
    );
    let (_, versions) = fx.server.get(&format!("{}/modules/user/versions", fx.realm_path()), fx.admin());
    assert_eq!(versions["versions"].as_array().unwrap().len(), 2, "{versions}");
}

#[test]
fn a_refused_request_exits_1_with_the_servers_error_in_one_line() {
    let (_server, fx) = start("admin-refused");
    let admin = Admin::new(&fx, "admin-refused");
    let wrong = admin.file("wrong-token", "mk_not-a-key\n");
    let output = muster()
        .args(["versions", "--kind", "user", "--server", fx.server.url(), "--tenant", "acme", "--realm", REALM])
        .args(["--token-file", &wrong])
        .output()
        .unwrap();
    assert_failure(&output, 1, "error: unauthorized: ");
    assert_failure(&admin.run(&["activate", "--kind", "user", "7"]), 1, "error: not_found: ");
    assert_failure(&admin.run(&["decisions", "--trigger", "lunch"]), 1, "error: bad_request: ");
    let bogus = admin.file("bogus.wasm", "not webassembly");
    assert_failure(&admin.run(&["upload", "--kind", "user", "--module", &bogus]), 1, "error: unprocessable: ");
}

#[test]
fn an_unreachable_server_exits_3() {
    let dir = scratch_dir("admin-unreachable");
    let token = write(&dir, "token", "mk_x");
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let output = muster()
        .args(["versions", "--kind", "user", "--tenant", "acme", "--realm", REALM, "--token-file", &token])
        .args(["--server", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_failure(&output, 3, &format!("cannot reach http://127.0.0.1:{port}"));
}

#[test]
fn bad_input_is_a_usage_error_exiting_2() {
    let dir = scratch_dir("admin-usage");
    let token = write(&dir, "token", "mk_x");
    let base = ["--server", "http://127.0.0.1:9", "--tenant", "acme", "--realm", REALM];
    let run = |args: &[&str]| muster().args(args).args(base).env_remove("MUSTER_TOKEN").output().unwrap();

    let missing = "/nonexistent/m.wasm";
    let output = run(&["upload", "--kind", "user", "--module", missing, "--token-file", &token]);
    assert_failure(&output, 2, &format!("cannot read module {missing}"));
    let wasm = module("user_rules");
    let not_json = write(&dir, "settings.json", "{not json");
    let output = run(&["upload", "--kind", "user", "--module", &wasm, "--settings", &not_json, "--token-file", &token]);
    assert_failure(&output, 2, &format!("settings {not_json} is not JSON"));
    assert_failure(
        &run(&["versions", "--kind", "user"]),
        2,
        "no admin key: give --token-file <PATH> or set MUSTER_TOKEN",
    );
    let output = run(&["versions", "--kind", "user", "--token-file", Path::new(&dir).join("absent").to_str().unwrap()]);
    assert_failure(&output, 2, "cannot read --token-file");
    // clap's own usage errors exit 2 too.
    assert_eq!(run(&["activate", "--kind", "user", "two"]).status.code(), Some(2));
    assert_eq!(run(&["dry-run"]).status.code(), Some(2));
}

#[test]
fn help_documents_the_exit_codes_and_why_there_is_no_token_option() {
    let output = muster().args(["upload", "--help"]).output().unwrap();
    let help = stdout(&output);
    assert!(help.contains("Exit codes:") && help.contains("3  the server could not be reached"), "{help}");
    assert!(help.contains("MUSTER_TOKEN") && help.contains("(`ps`)"), "{help}");
    let output = muster().args(["upload", "--token", "mk_x"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "no --token option: {}", stderr(&output));
}
