//! Where a new crate sits relative to the muster checkout.

use std::path::{Component, Path, PathBuf};

use anyhow::bail;

use crate::commands::checkout::Checkout;

/// How a new crate relates to the checkout's workspace.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Placement {
    /// Directly under `policies/`: a member of the workspace.
    Member,
    /// Outside the checkout: a workspace of its own.
    Standalone,
}

impl Placement {
    /// Whether a crate in `dir` (absolute, existing or not) is a workspace member or stands
    /// alone; refuses a place inside the checkout that the workspace would not take.
    pub fn of(checkout: &Checkout, dir: &Path) -> anyhow::Result<Self> {
        let dir = resolve(dir);
        let Ok(inside) = dir.strip_prefix(checkout.root()) else {
            return Ok(Placement::Standalone);
        };
        let parts: Vec<_> = inside.components().collect();
        match parts.as_slice() {
            [Component::Normal(policies), Component::Normal(_)] if *policies == "policies" => Ok(Placement::Member),
            _ => bail!(
                "{} is inside the muster checkout {} but not directly under policies/: the workspace \
                 only takes policies/<name>; use --dir policies/<name> or a directory outside the checkout",
                dir.display(),
                checkout.root().display()
            ),
        }
    }
}

/// `path` with its longest existing ancestor canonicalized (symbolic links resolved), so that
/// it compares with the checkout's canonical root.
pub fn resolve(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut base = path;
    loop {
        if let Ok(canonical) = base.canonicalize() {
            return rest.iter().rev().fold(canonical, |acc, part| acc.join(part));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                base = parent;
            }
            _ => return path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout() -> Checkout {
        Checkout::find(Some(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))).expect("this checkout")
    }

    #[test]
    fn a_crate_directly_under_policies_is_a_member() {
        let checkout = checkout();
        let dir = checkout.root().join("policies/not-there-yet");
        assert_eq!(Placement::of(&checkout, &dir).unwrap(), Placement::Member);
    }

    #[test]
    fn a_crate_outside_the_checkout_stands_alone() {
        let checkout = checkout();
        let dir = std::env::temp_dir().join("muster-new-placement/deeper/crate");
        assert_eq!(Placement::of(&checkout, &dir).unwrap(), Placement::Standalone);
    }

    #[test]
    fn elsewhere_inside_the_checkout_is_refused() {
        let checkout = checkout();
        for dir in ["host/my-rules", "policies/a/b", "policies"] {
            let error = Placement::of(&checkout, &checkout.root().join(dir)).unwrap_err().to_string();
            assert!(error.contains("not directly under policies/"), "{dir}: {error}");
        }
    }
}
