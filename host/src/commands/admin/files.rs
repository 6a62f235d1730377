//! Input files of the admin commands (modules, settings, users), `-` for standard input, each
//! failure one line naming the file.

use std::{io::Read as _, path::Path};

use serde_json::Value;

use super::client::Failure;

/// The bytes of the `what` file at `path` (`-`: standard input).
pub fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    let read = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    read.map_err(|error| Failure::Usage(format!("cannot read {what} {}: {error}", name(path))))
}

/// The `what` file at `path` (`-`: standard input), parsed as JSON.
pub fn read_json(path: &Path, what: &str) -> Result<Value, Failure> {
    let bytes = read_bytes(path, what)?;
    serde_json::from_slice(&bytes)
        .map_err(|error| Failure::Usage(format!("{what} {} is not JSON: {error}", name(path))))
}

fn name(path: &Path) -> String {
    if path == Path::new("-") { "(standard input)".to_owned() } else { path.display().to_string() }
}
