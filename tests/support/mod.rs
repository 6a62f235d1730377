//! Shared helpers of the end-to-end tests: the built binary, the built rule modules, scratch
//! directories.

#![allow(dead_code, reason = "Each test binary uses a different subset.")]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// The `muster` binary cargo built for these tests.
pub fn muster() -> Command {
    Command::new(env!("CARGO_BIN_EXE_muster"))
}

/// Runs `muster` with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    muster().args(args).output().expect("the muster binary runs")
}

/// Path of a stock rule module built by `scripts/build-policies` (`user_rules`, …).
pub fn module(artifact: &str) -> String {
    let path = muster_harness::subject::built_artifact(artifact);
    assert!(path.exists(), "{} is missing: run scripts/build-policies", path.display());
    path.display().to_string()
}

/// The fixtures directory of a stock policy crate (`user-rules`, …).
pub fn fixtures(policy: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies").join(policy).join("fixtures").display().to_string()
}

/// A fresh, empty scratch directory under the system temp dir.
pub fn scratch_dir(label: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "muster-e2e-{label}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Writes `contents` to `name` in `dir`, returning the path as a string.
pub fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write scratch file");
    path.display().to_string()
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
