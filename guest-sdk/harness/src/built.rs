//! Finding the module `scripts/build-policies` built, and refusing one that is missing, misnamed
//! or older than its crate's sources.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

/// Why [`crate::Wasm::built`] found no module it could trust.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotBuilt {
    /// The module has not been built.
    #[error("{} does not exist: build the module first with `{rebuild}` (or point MUSTER_WASM_DIR at the directory holding it)", path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
        /// The command that builds it.
        rebuild: String,
    },
    /// No module of that name, but others were built: the name is probably wrong.
    #[error(
        "no module {artifact}.wasm in {}; the modules built there are: {}. `Wasm::built` takes the \
         library name, the crate's name with `-` as `_`{}",
        dir.display(), built.join(", "), ours.as_ref().map(|name| format!(" (this crate's is \"{name}\")")).unwrap_or_default()
    )]
    UnknownName {
        /// The name asked for.
        artifact: String,
        /// The directory searched.
        dir: PathBuf,
        /// The names of the modules that are there.
        built: Vec<String>,
        /// The library name of the crate under test, when cargo said which it is.
        ours: Option<String>,
    },
    /// The module is older than a source file of its crate: it does not hold the latest change.
    #[error("{} is older than {}: it does not hold your latest change; rebuild it with `{rebuild}`", path.display(), newer.display())]
    Stale {
        /// The module.
        path: PathBuf,
        /// A source file changed after it was built.
        newer: PathBuf,
        /// The command that rebuilds it.
        rebuild: String,
    },
}

/// The crate cargo is running the tests of (from `CARGO_MANIFEST_DIR`).
#[derive(Debug, Clone)]
pub(crate) struct CrateUnderTest {
    dir: PathBuf,
    package: String,
    library: String,
}

impl CrateUnderTest {
    /// The crate whose tests are running, when cargo says so and its manifest reads.
    pub(crate) fn current() -> Option<Self> {
        Self::read(Path::new(&std::env::var_os("CARGO_MANIFEST_DIR")?))
    }

    fn read(dir: &Path) -> Option<Self> {
        let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?.parse().ok()?;
        let package = manifest.get("package")?.get("name")?.as_str()?.to_owned();
        let library = manifest
            .get("lib")
            .and_then(|lib| lib.get("name"))
            .and_then(|name| name.as_str())
            .map_or_else(|| package.replace('-', "_"), str::to_owned);
        Some(Self { dir: dir.to_owned(), package, library })
    }

    /// How to rebuild this crate's module: by package inside the muster workspace, by manifest
    /// outside it.
    fn rebuild(&self) -> String {
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let checkout = checkout.canonicalize().unwrap_or(checkout);
        let dir = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        if dir.parent() == Some(&checkout.join("policies")) {
            format!("scripts/build-policies {}", self.package)
        } else {
            format!(
                "{} --manifest-path {}",
                checkout.join("scripts/build-policies").display(),
                self.dir.join("Cargo.toml").display()
            )
        }
    }
}

/// Checks the module at `path` (named `artifact`) against the crate under test.
pub(crate) fn check(path: &Path, artifact: &str, under_test: Option<&CrateUnderTest>) -> Result<(), NotBuilt> {
    let ours = under_test.filter(|krate| krate.library == artifact);
    let rebuild = || ours.map_or_else(|| "scripts/build-policies".to_owned(), CrateUnderTest::rebuild);
    let Ok(built_at) = std::fs::metadata(path).and_then(|m| m.modified()) else {
        let dir = path.parent().unwrap_or(Path::new("."));
        let built = modules_in(dir);
        if ours.is_none() && !built.is_empty() {
            let ours = under_test.map(|krate| krate.library.clone());
            return Err(NotBuilt::UnknownName { artifact: artifact.to_owned(), dir: dir.to_owned(), built, ours });
        }
        return Err(NotBuilt::Missing { path: path.to_owned(), rebuild: rebuild() });
    };
    ours.map_or(Ok(()), |krate| fresh(path, built_at, krate))
}

/// Refuses the module at `path` when it is older than a source of `krate`, its crate.
fn fresh(path: &Path, built_at: SystemTime, krate: &CrateUnderTest) -> Result<(), NotBuilt> {
    let mut sources = std::iter::once(krate.dir.join("Cargo.toml")).chain(files_under(&krate.dir.join("src")));
    match sources.find(|source| modified(source).is_some_and(|at| at > built_at)) {
        Some(newer) => Err(NotBuilt::Stale { path: path.to_owned(), newer, rebuild: krate.rebuild() }),
        None => Ok(()),
    }
}

/// Refuses the module at `path` when it was built from the crate holding `fixtures` (the
/// nearest directory above a fixture with a `Cargo.toml`, when the module is named after that
/// crate's library) and is older than that crate's `Cargo.toml` or a file under its `src/`.
/// A module of no such crate passes: its sources are not known.
pub fn check_fixtures_crate(path: &Path, fixtures: &[PathBuf]) -> Result<(), NotBuilt> {
    let Some(artifact) = path.file_stem().and_then(|stem| stem.to_str()) else { return Ok(()) };
    let Ok(built_at) = std::fs::metadata(path).and_then(|m| m.modified()) else { return Ok(()) };
    let crates = fixtures.iter().filter_map(|fixture| {
        let fixture = std::path::absolute(fixture).ok()?;
        let dir = fixture.ancestors().find(|dir| dir.join("Cargo.toml").is_file())?;
        CrateUnderTest::read(dir)
    });
    for krate in crates.filter(|krate| krate.library == artifact) {
        fresh(path, built_at, &krate)?;
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The names of the `.wasm` files in `dir`, sorted.
fn modules_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.strip_suffix(".wasm").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { pending.push(path) } else { files.push(path) }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A scratch crate `my-rules` and a module directory, side by side.
    fn scratch(label: &str) -> (PathBuf, CrateUnderTest, PathBuf) {
        let root = std::env::temp_dir().join(format!("muster-harness-built-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let crate_dir = root.join("my-rules");
        std::fs::create_dir_all(crate_dir.join("src/rules")).unwrap();
        std::fs::write(crate_dir.join("Cargo.toml"), "[package]\nname = \"my-rules\"\n").unwrap();
        std::fs::write(crate_dir.join("src/rules/mod.rs"), "").unwrap();
        let wasm_dir = root.join("wasm");
        std::fs::create_dir_all(&wasm_dir).unwrap();
        let krate = CrateUnderTest::read(&crate_dir).unwrap();
        (crate_dir, krate, wasm_dir)
    }

    fn set_modified(path: &Path, at: SystemTime) {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(at).unwrap();
    }

    #[test]
    fn the_library_name_comes_from_the_manifest() {
        let (_, krate, _) = scratch("name");
        assert_eq!((krate.package.as_str(), krate.library.as_str()), ("my-rules", "my_rules"));
    }

    #[test]
    fn a_module_newer_than_every_source_passes() {
        let (_, krate, wasm_dir) = scratch("fresh");
        let wasm = wasm_dir.join("my_rules.wasm");
        std::fs::write(&wasm, b"").unwrap();
        set_modified(&wasm, SystemTime::now() + Duration::from_secs(60));
        check(&wasm, "my_rules", Some(&krate)).unwrap();
    }

    #[test]
    fn a_module_older_than_a_nested_source_is_stale() {
        let (crate_dir, krate, wasm_dir) = scratch("stale");
        let wasm = wasm_dir.join("my_rules.wasm");
        std::fs::write(&wasm, b"").unwrap();
        set_modified(&wasm, SystemTime::now() - Duration::from_secs(60));
        for source in ["Cargo.toml", "src/rules/mod.rs"] {
            set_modified(&crate_dir.join(source), SystemTime::now() - Duration::from_secs(120));
        }
        check(&wasm, "my_rules", Some(&krate)).unwrap();
        set_modified(&crate_dir.join("src/rules/mod.rs"), SystemTime::now());
        let error = check(&wasm, "my_rules", Some(&krate)).unwrap_err();
        assert!(matches!(&error, NotBuilt::Stale { newer, .. } if newer.ends_with("src/rules/mod.rs")), "{error}");
        assert!(error.to_string().contains("--manifest-path"), "{error}");
    }

    #[test]
    fn another_crates_module_is_not_held_to_this_crates_sources() {
        let (_, krate, wasm_dir) = scratch("other");
        let wasm = wasm_dir.join("user_rules.wasm");
        std::fs::write(&wasm, b"").unwrap();
        set_modified(&wasm, SystemTime::now() - Duration::from_secs(3600));
        check(&wasm, "user_rules", Some(&krate)).unwrap();
    }

    #[test]
    fn a_wrong_name_lists_the_modules_that_exist() {
        let (_, krate, wasm_dir) = scratch("wrong");
        for name in ["user_rules.wasm", "my_rules.wasm"] {
            std::fs::write(wasm_dir.join(name), b"").unwrap();
        }
        let error = check(&wasm_dir.join("my-rules.wasm"), "my-rules", Some(&krate)).unwrap_err().to_string();
        assert!(error.contains("the modules built there are: my_rules, user_rules"), "{error}");
        assert!(error.contains("this crate's is \"my_rules\""), "{error}");
    }

    #[test]
    fn nothing_built_says_how_to_build() {
        let (_, krate, wasm_dir) = scratch("missing");
        let error = check(&wasm_dir.join("my_rules.wasm"), "my_rules", Some(&krate)).unwrap_err();
        assert!(matches!(error, NotBuilt::Missing { .. }), "{error}");
        assert!(error.to_string().contains("build-policies --manifest-path"), "{error}");
    }
}
