//! `muster new`: a new rule-module crate that builds and passes its own fixtures, or (with
//! `--lang js`) a folder of JavaScript rules for the stock js-rules module ([`script`]).
//!
//! Inside a muster checkout the crate goes under `policies/` (a workspace member through the
//! `policies/*` glob) and the workspace's `Cargo.lock` is brought up to date; anywhere else it is
//! its own workspace, depending on the checkout's SDK and harness by path, with a `Cargo.lock` of
//! its own. Either way the lock file is written offline, from the local registry cache, by
//! `cargo update --workspace --offline`.

mod placement;
mod script;
mod templates;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use anyhow::{Context as _, bail};

use self::{placement::Placement, templates::Kind};
use crate::commands::checkout::Checkout;

/// Create a new rule-module crate: Cargo.toml, an example policy, a fixture file and the test
/// that runs it natively and through the engine. With `--lang js`: a folder of JavaScript rules
/// (rules.js, muster.d.ts for editors, config.json, fixtures, an example input), nothing to
/// compile.
#[derive(clap::Args)]
pub struct NewArgs {
    /// The crate's name: lower-case letters, digits, `-` and `_`, starting with a letter
    /// (`acme-rules`; the library, and so the `.wasm`, is `acme_rules`).
    name: String,
    /// Where to create the crate [default: `policies/<name>` in the muster checkout; with
    /// `--lang js`, `<name>` in the current directory]. A directory outside the checkout gets a
    /// crate that is its own workspace.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// The language of the rules: a Rust crate compiled to Wasm, or JavaScript run by the stock
    /// js-rules module (docs/javascript.md).
    #[arg(long, value_enum, default_value_t = Language::Rust)]
    lang: Language,
    /// Which rules the module implements.
    #[arg(long, value_enum, default_value_t = Kind::User)]
    kind: Kind,
    /// The muster checkout whose SDK (`guest-sdk/`) and harness the crate uses [default: the
    /// checkout holding the current directory, else the one this binary was built from].
    #[arg(long, value_name = "CHECKOUT")]
    sdk: Option<PathBuf>,
}

/// The language a new module's rules are written in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Language {
    /// A Rust crate using the guest SDK, compiled to Wasm.
    Rust,
    /// A JavaScript file run by the stock js-rules module.
    Js,
}

/// Runs `muster new`: writes the crate (or the JavaScript folder), updates the lock file,
/// prints what to run next.
pub fn run(args: NewArgs) -> anyhow::Result<ExitCode> {
    templates::check_name(&args.name)?;
    let checkout = Checkout::find(args.sdk.as_deref())?;
    if args.lang == Language::Js {
        return new_script(&args, &checkout);
    }
    let dir = match &args.dir {
        Some(dir) => std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?,
        None => checkout.root().join("policies").join(&args.name),
    };
    let placement = Placement::of(&checkout, &dir)?;
    if placement == Placement::Standalone && checkout.root().join("policies").join(&args.name).exists() {
        bail!(
            "{:?} is the name of a stock module (policies/{0}): its .wasm would replace that one in \
             target/wasm; choose another name",
            args.name
        );
    }
    let created = prepare_dir(&dir)?;
    let outcome = write_crate(&args, &checkout, placement, &dir);
    if outcome.is_err() {
        // Leave nothing half-made behind: an unbuildable crate under policies/ would break the
        // workspace for everyone.
        if created {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            remove_contents(&dir);
        }
    }
    let lock_dir = outcome?;
    print_next_steps(&args, &checkout, placement, &dir, &lock_dir);
    Ok(ExitCode::SUCCESS)
}

/// `muster new --lang js`: the JavaScript folder, in `--dir` or `./<name>`.
fn new_script(args: &NewArgs, checkout: &Checkout) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    let dir = std::path::absolute(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    script::check_place(checkout, &placement::resolve(&dir))?;
    let created = prepare_dir(&dir)?;
    if let Err(error) = script::write(&args.name, args.kind, &dir) {
        if created {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            remove_contents(&dir);
        }
        return Err(error);
    }
    script::print_next_steps(&args.name, args.kind, &dir);
    Ok(ExitCode::SUCCESS)
}

/// Creates `dir`, or accepts it when it exists and is empty; says whether it was created.
fn prepare_dir(dir: &Path) -> anyhow::Result<bool> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("{} is not a directory", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} already exists and is not empty", dir.display());
        }
        return Ok(false);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(true)
}

/// Removes what `muster new` wrote into a directory that existed (empty) before.
fn remove_contents(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    }
}

/// Writes the crate's files and brings the lock file up to date; returns the directory whose
/// `Cargo.lock` was updated.
fn write_crate(args: &NewArgs, checkout: &Checkout, placement: Placement, dir: &Path) -> anyhow::Result<PathBuf> {
    let sdk = match placement {
        Placement::Member => None,
        Placement::Standalone => Some(checkout.root()),
    };
    for (path, contents) in templates::render(&args.name, args.kind, sdk)? {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let lock_dir = match placement {
        Placement::Member => checkout.root().to_owned(),
        Placement::Standalone => {
            // Seeded with the checkout's lock, the new crate resolves to the very versions the
            // workspace was tested with, offline.
            let seed = checkout.root().join("Cargo.lock");
            if seed.exists() {
                std::fs::copy(&seed, dir.join("Cargo.lock"))
                    .with_context(|| format!("cannot copy {} into {}", seed.display(), dir.display()))?;
            }
            dir.to_owned()
        }
    };
    update_lock(&lock_dir)?;
    Ok(lock_dir)
}

/// `cargo update --workspace --offline` in `dir`: adds the new crate to the lock file without
/// upgrading anything else, from the local registry cache.
fn update_lock(dir: &Path) -> anyhow::Result<()> {
    let output = Command::new("cargo")
        .args(["update", "--workspace", "--offline", "--quiet"])
        .current_dir(dir)
        .output()
        .context("cannot run cargo (is it on PATH?)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().find(|line| line.starts_with("error")).unwrap_or("cargo failed").trim();
        bail!("`cargo update --workspace --offline` in {} failed: {reason}", dir.display());
    }
    Ok(())
}

fn print_next_steps(args: &NewArgs, checkout: &Checkout, placement: Placement, dir: &Path, lock_dir: &Path) {
    let build = checkout.build_policies();
    println!("created {} ({} rules) in {}", args.name, args.kind, dir.display());
    println!("updated {} (cargo update --workspace --offline)", lock_dir.join("Cargo.lock").display());
    println!("next:");
    match placement {
        Placement::Member => {
            println!("  {} {}", build.display(), args.name);
            println!("  cargo test -p {}", args.name);
        }
        Placement::Standalone => {
            println!("  {} --manifest-path {}", build.display(), dir.join("Cargo.toml").display());
            println!("  cd {} && cargo test", dir.display());
        }
    }
}
