//! Finding the muster checkout: the SDK new crates depend on, the scripts that build modules.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// A muster checkout: the directory holding the workspace's `Cargo.toml` and `guest-sdk/`.
pub struct Checkout {
    root: PathBuf,
}

impl Checkout {
    /// The checkout named by `--sdk`, else the one holding the current directory, else the one
    /// this binary was built from (when it is still there).
    pub fn find(sdk: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(path) = sdk {
            let root = path.canonicalize().with_context(|| format!("--sdk {}: no such directory", path.display()))?;
            if !is_checkout(&root) {
                bail!("--sdk {}: not a muster checkout (no guest-sdk/harness/Cargo.toml there)", path.display());
            }
            return Ok(Self { root });
        }
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        if let Some(root) = cwd.ancestors().find(|dir| is_checkout(dir)) {
            return Ok(Self { root: root.canonicalize().unwrap_or_else(|_| root.to_owned()) });
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        match built_from.canonicalize() {
            Ok(root) if is_checkout(&root) => Ok(Self { root }),
            _ => bail!("cannot tell where the muster checkout is: pass --sdk <path-to-muster-checkout>"),
        }
    }

    /// The checkout's top directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The checkout's `scripts/build-policies`.
    pub fn build_policies(&self) -> PathBuf {
        self.root.join("scripts/build-policies")
    }

    /// Where `scripts/build-policies` puts the module of the stock crate whose library is
    /// `artifact` (`js_rules`, say).
    pub fn built_module(&self, artifact: &str) -> PathBuf {
        self.root.join("target/wasm/wasm32-unknown-unknown/wasm-release").join(format!("{artifact}.wasm"))
    }
}

/// Whether `dir` is the top of a muster checkout.
fn is_checkout(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("guest-sdk/harness/Cargo.toml").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sdk_that_is_not_a_checkout_is_refused() {
        let error = Checkout::find(Some(&std::env::temp_dir())).err().expect("refused").to_string();
        assert!(error.contains("not a muster checkout"), "{error}");
    }
}
