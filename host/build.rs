//! Embeds the admin console in the `muster` binary.
//!
//! `scripts/build-console` builds the console (`host/console/`, a Vite app) into
//! `host/console/dist`. This script writes `$OUT_DIR/console_assets.rs`: one `(path, bytes)` entry
//! per file of `dist`, each `include_bytes!` of the file, which `src/api/console.rs` serves under
//! `/console/`. Without a `dist` (no Node on the machine, or the console not built yet) the table is
//! empty and `/console` answers a page saying how to build it: `cargo build` never needs Node.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let console = manifest_dir.join("console");
    let dist = console.join("dist");
    // Cargo scans a directory for changed files. Before the first console build watch the
    // console's folder, so the `dist` the build creates there is noticed.
    let watched = if dist.is_dir() { &dist } else { &console };
    println!("cargo:rerun-if-changed={}", watched.display());

    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &mut files);
    }
    files.sort();
    let mut table = String::from(
        "/// The built console's files: the path under `/console/` and the file's bytes.\n\
         pub(super) static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&dist).expect("a file of dist is under dist");
        let url_path: Vec<String> =
            relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
        table.push_str(&format!("    ({:?}, include_bytes!({:?})),\n", url_path.join("/"), file.display().to_string()));
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("console_assets.rs");
    fs::write(&out, table).expect("write console_assets.rs");
}

/// Every file under `dir`, recursively.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read the console's dist directory") {
        let path = entry.expect("read a dist entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
