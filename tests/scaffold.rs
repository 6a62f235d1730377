//! A rule author's first module, end to end: `muster new` outside the workspace and inside it,
//! `scripts/build-policies`, `muster test` through the engine, the crate's own `cargo test`
//! (natively and through the engine), the stale-module refusal, a folder of JavaScript rules
//! (`muster new --lang js`) passing its fixtures on the js-rules module, and the README's
//! "Writing a rule module" and "Rules in JavaScript" walk-throughs run exactly as written.
//!
//! The scaffolded crates build natively into `target/scaffold`, a target directory of their
//! own (shared by every test here, so the engine is compiled once): the crate is its own
//! workspace and cannot reuse the checkout's `target/debug` (see the README).
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use support::{muster, scratch_dir, stderr, stdout};

/// The muster checkout these tests were built from.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// The target directory the scaffolded crates build into natively.
fn scaffold_target() -> PathBuf {
    checkout().join("target/scaffold")
}

/// `cargo`, the one running these tests.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.env("CARGO_TARGET_DIR", scaffold_target());
    command
}

/// Runs `command`, panicking with its output unless it succeeds.
fn succeed(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(output.status.success(), "{what} failed:\n{}{}", stdout(&output), stderr(&output));
    output
}

/// `scripts/build-policies --manifest-path CRATE/Cargo.toml`; returns the module it built.
fn build_module(crate_dir: &Path) -> PathBuf {
    let output = succeed(
        Command::new(checkout().join("scripts/build-policies"))
            .arg("--manifest-path")
            .arg(crate_dir.join("Cargo.toml")),
        "scripts/build-policies --manifest-path",
    );
    let module = PathBuf::from(stdout(&output).lines().last().expect("the module's path").trim());
    assert!(module.is_file(), "{} was not built", module.display());
    module
}

/// Appends a line to `path`: a source change the built module does not hold.
fn append(path: &Path, line: &str) {
    let mut text = std::fs::read_to_string(path).unwrap();
    text.push_str(line);
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_module_made_outside_the_workspace_passes_its_fixtures_natively_and_through_the_engine() {
    let dir = scratch_dir("scaffold").join("scaffold-rules");
    assert!(!dir.starts_with(checkout()), "the crate must live outside the checkout");
    let sdk = checkout();
    let new = succeed(
        muster().args(["new", "scaffold-rules", "--kind", "both", "--dir"]).arg(&dir).arg("--sdk").arg(&sdk),
        "muster new --dir",
    );
    assert!(stdout(&new).contains("--manifest-path"), "it says how to build: {}", stdout(&new));
    for file in ["Cargo.toml", "Cargo.lock", "src/lib.rs", "tests/fixtures.rs"] {
        assert!(dir.join(file).is_file(), "muster new wrote no {file}");
    }
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("#[serde(deny_unknown_fields)]"), "{lib}");

    // Through the engine, from the command line.
    let module = build_module(&dir);
    assert_eq!(module.file_name().unwrap(), "scaffold_rules.wasm");
    let output = muster().arg("test").arg("--module").arg(&module).arg(dir.join("fixtures")).output().unwrap();
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains(" 0 failed"), "{}", stdout(&output));

    // The crate's own tests: its fixtures natively and through the engine, offline, on its own
    // lock file.
    let crate_test = || cargo().args(["test", "--offline", "--locked"]).current_dir(&dir).output().unwrap();
    let output = crate_test();
    assert!(output.status.success(), "cargo test of the new crate:\n{}{}", stdout(&output), stderr(&output));
    for test in ["fixtures_pass_natively", "fixtures_pass_through_the_engine"] {
        assert!(stdout(&output).contains(&format!("test {test} ... ok")), "{test} ran: {}", stdout(&output));
    }

    // A source change the module does not hold: the engine test refuses the stale module and
    // says how to rebuild it; `muster test --build` rebuilds it, after which both pass again.
    append(&dir.join("src/lib.rs"), "\n// A change after the module was built.\n");
    let output = crate_test();
    assert!(!output.status.success(), "a stale module must not pass:\n{}", stdout(&output));
    let report = format!("{}{}", stdout(&output), stderr(&output));
    assert!(report.contains("scaffold_rules.wasm is older than") && report.contains("src/lib.rs"), "{report}");
    assert!(report.contains(&format!("--manifest-path {}", dir.join("Cargo.toml").display())), "{report}");
    assert!(report.contains("test fixtures_pass_natively ... ok"), "the native run is unaffected: {report}");

    let output = muster().arg("test").arg("--build").arg(&dir).output().unwrap();
    assert!(output.status.success(), "muster test --build:\n{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains(" 0 failed [wasm scaffold_rules.wasm]"), "{}", stdout(&output));
    let output = crate_test();
    assert!(output.status.success(), "after the rebuild:\n{}{}", stdout(&output), stderr(&output));
}

#[test]
fn javascript_rules_made_by_muster_new_pass_their_fixtures_on_the_js_rules_module() {
    let scratch = scratch_dir("scaffold-js");
    for (kind, files) in [
        ("user", &["rules.js", "muster.d.ts", "config.json", "example-input.json", "fixtures/users.json"][..]),
        ("group", &["rules.js", "config.json", "example-input.json", "fixtures/groups.json"][..]),
        ("both", &["rules.js", "fixtures/users.json", "fixtures/groups.json"][..]),
    ] {
        let dir = scratch.join(format!("{kind}-rules"));
        let new = succeed(
            muster().args(["new", "acme-js", "--lang", "js", "--kind", kind, "--dir"]).arg(&dir),
            "muster new --lang js",
        );
        assert!(stdout(&new).contains("muster test --script rules.js fixtures/"), "{}", stdout(&new));
        for file in files {
            assert!(dir.join(file).is_file(), "muster new --lang js --kind {kind} wrote no {file}");
        }
        assert!(!dir.join("Cargo.toml").exists(), "JavaScript rules are not a crate");
        let rules = std::fs::read_to_string(dir.join("rules.js")).unwrap();
        assert_eq!(rules.contains("export function decideUser"), kind != "group", "{rules}");
        assert_eq!(rules.contains("export function decideGroup"), kind != "user", "{rules}");

        // Every fixture case passes, the refused configs included, through the real engine.
        let test = succeed(
            muster().args(["test", "--verbose", "--script", "rules.js", "fixtures"]).current_dir(&dir),
            "muster test --script",
        );
        assert!(stdout(&test).contains(" 0 failed"), "{}", stdout(&test));
        let refused = if kind == "group" { "a rule needs a name" } else { "a rule's pattern must compile" };
        assert!(stdout(&test).contains(refused), "{}", stdout(&test));

        // The example input, on the example config.
        let eval = succeed(
            muster()
                .args(["eval", "--script", "rules.js", "--settings", "config.json", "--input", "example-input.json"])
                .current_dir(&dir),
            "muster eval --script",
        );
        let decision: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
        if kind != "group" {
            assert_eq!(decision["user"]["organization"], "acme-sales", "{decision}");
        }
        if kind != "user" {
            let marked = &decision["groups"]["groups"];
            assert_eq!(marked[0]["group"], "sales-emea", "{decision}");
            assert_eq!(marked[0]["organizations"], serde_json::json!(["acme-sales"]), "{decision}");
            assert_eq!(marked[1]["organizations"], serde_json::json!(["acme"]), "{decision}");
        }
    }
    // The config is the script's to check: a broken one is refused at its place.
    let dir = scratch.join("user-rules");
    std::fs::write(
        dir.join("config.json"),
        r#"{"organization": "acme", "rules": [{"name": "x", "pattern": "(", "organization": "y"}]}"#,
    )
    .unwrap();
    let output = muster()
        .args(["eval", "--script", "rules.js", "--settings", "config.json", "--input", "example-input.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("config.rules[0].pattern"), "{}", stderr(&output));

    // Not under policies/, where every directory must be a crate.
    let output = muster()
        .args(["new", "acme-js", "--lang", "js", "--dir"])
        .arg(checkout().join("policies/acme-js"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("policies/"), "{}", stderr(&output));
    assert!(!checkout().join("policies/acme-js").exists(), "nothing is left under policies/");
}

/// A copy of the checkout's files (tracked and untracked, not ignored: no `target/`).
fn copy_of_checkout(label: &str) -> PathBuf {
    let copy = scratch_dir(label).join("muster");
    let listing = succeed(
        Command::new("git")
            .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
            .current_dir(checkout()),
        "git ls-files",
    );
    for file in listing.stdout.split(|&byte| byte == 0).filter(|name| !name.is_empty()) {
        let file = Path::new(std::str::from_utf8(file).unwrap());
        let (from, to) = (checkout().join(file), copy.join(file));
        if !from.is_file() {
            continue; // deleted in the work tree but still in the index
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    copy
}

/// The lock file without the `[[package]]` entry of `name`.
fn without_package(lock: &str, name: &str) -> String {
    let entry = format!("name = \"{name}\"\n");
    lock.split("\n\n").filter(|block| !block.contains(&entry)).collect::<Vec<_>>().join("\n\n")
}

#[test]
fn a_module_made_inside_the_workspace_is_a_member_that_builds_and_passes_its_fixtures() {
    // On a copy of the checkout: the real workspace is left as it is.
    let copy = copy_of_checkout("scaffold-member");
    let lock_before = std::fs::read_to_string(copy.join("Cargo.lock")).unwrap();
    succeed(muster().args(["new", "member-rules"]).current_dir(&copy), "muster new (member)");
    let dir = copy.join("policies/member-rules");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("muster-guest.workspace = true") && !manifest.contains("[workspace]"), "{manifest}");
    assert!(!dir.join("Cargo.lock").exists(), "a member has no lock file of its own");

    // The workspace's lock gained the new crate and changed nothing else.
    let lock_after = std::fs::read_to_string(copy.join("Cargo.lock")).unwrap();
    assert!(lock_after.contains("name = \"member-rules\""), "Cargo.lock lacks the new crate");
    assert_eq!(without_package(&lock_after, "member-rules"), lock_before, "nothing else in Cargo.lock changed");
    let metadata = succeed(
        cargo().args(["metadata", "--offline", "--locked", "--no-deps", "--format-version", "1"]).current_dir(&copy),
        "cargo metadata --locked",
    );
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    let members = metadata["packages"].as_array().unwrap();
    assert!(members.iter().any(|package| package["name"] == "member-rules"), "not a workspace member");

    // Built the way the README says, into this checkout's target/wasm (the copy's build script
    // would build std for wasm all over again), and its fixtures run both ways.
    let module = build_module(&dir);
    let output = cargo()
        .args(["test", "--offline", "--locked", "-p", "member-rules"])
        .env("MUSTER_WASM_DIR", module.parent().unwrap())
        .current_dir(&copy)
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo test -p member-rules:\n{}{}", stdout(&output), stderr(&output));
    for test in ["fixtures_pass_natively", "fixtures_pass_through_the_engine"] {
        assert!(stdout(&output).contains(&format!("test {test} ... ok")), "{test} ran: {}", stdout(&output));
    }
}

/// The shell commands of the README's section `heading` (its `sh` blocks, up to the next `## `
/// heading), in order.
fn readme_walkthrough(heading: &str) -> String {
    let readme = std::fs::read_to_string(checkout().join("README.md")).unwrap();
    let section = readme.split(&format!("\n## {heading}\n")).nth(1).expect("the README has the section");
    let section = section.split("\n## ").next().unwrap();
    let mut script = String::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.trim_end() == "```sh" {
            for line in lines.by_ref().take_while(|line| line.trim_end() != "```") {
                script.push_str(line);
                script.push('\n');
            }
        }
    }
    script
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let script = readme_walkthrough("Writing a rule module");
    for step in ["muster new", "scripts/build-policies", "muster test", "muster eval", "cargo test"] {
        assert!(script.contains(step), "the walk-through has no `{step}`:\n{script}");
    }
    let out = run_walkthrough(&script, "readme-home");
    assert!(out.contains("\"organization\": \"acme-sales\""), "muster eval's decision: {out}");
    assert!(out.contains("test fixtures_pass_through_the_engine ... ok"), "{out}");
}

#[test]
fn the_readme_javascript_walkthrough_runs_as_written() {
    let script = readme_walkthrough("Rules in JavaScript");
    for step in ["muster new", "--lang js", "muster test --script", "muster eval --script"] {
        assert!(script.contains(step), "the walk-through has no `{step}`:\n{script}");
    }
    let out = run_walkthrough(&script, "readme-js-home");
    assert!(out.contains(" 0 failed") && !out.contains(" 0 passed"), "muster test's report: {out}");
    assert!(out.contains("\"organization\": \"acme-sales\""), "muster eval's decision: {out}");
}

/// Runs a README walk-through with bash from the checkout, `~` a scratch home named `home`;
/// returns its standard output, panicking with its output unless it succeeds.
fn run_walkthrough(script: &str, home: &str) -> String {
    // `~` is a scratch home (cargo and rustup keep their own); `muster` is the binary under
    // test; the crate's `cargo test` builds where the other scaffold tests build.
    let home = scratch_dir(home);
    let real_home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(|| real_home.join(".cargo"), PathBuf::from);
    let rustup_home = std::env::var_os("RUSTUP_HOME").map_or_else(|| real_home.join(".rustup"), PathBuf::from);
    let bin = Path::new(env!("CARGO_BIN_EXE_muster")).parent().unwrap().to_owned();
    let path =
        std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())))
            .unwrap();
    let output = Command::new("bash")
        .args(["-x", "-e", "-u", "-o", "pipefail", "-c", script])
        .current_dir(checkout())
        .env("HOME", &home)
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", scaffold_target())
        .output()
        .unwrap();
    assert!(output.status.success(), "the walk-through failed:\n{}{}", stdout(&output), stderr(&output));
    stdout(&output)
}
