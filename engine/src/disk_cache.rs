//! Compiled code on disk, so a restart does not recompile.
//!
//! Entries live in one directory, opened once with `cap-std` so the cache can touch nothing
//! outside it. An entry's name is the module's SHA-256 digest plus a fingerprint of the engine
//! (wasmtime version and every setting that shapes compiled code), so an upgrade or a changed
//! limit never loads stale code. Writes go to a temporary name first and are renamed into
//! place, so a crash leaves no half-written entry.

use std::{
    hash::Hasher,
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
};

use cap_std::{ambient_authority, fs::Dir};
use sha2::{Digest, Sha256};

use crate::EngineError;

/// The on-disk cache of compiled modules for one engine configuration.
pub struct DiskCache {
    dir: Dir,
    fingerprint: String,
}

impl DiskCache {
    /// Opens (creating it if needed) the cache directory for `engine`.
    pub fn open(path: &Path, engine: &wasmtime::Engine) -> Result<Self, EngineError> {
        let cache_dir = |source| EngineError::CacheDir { path: path.display().to_string(), source };
        std::fs::create_dir_all(path).map_err(cache_dir)?;
        let dir = Dir::open_ambient_dir(path, ambient_authority()).map_err(cache_dir)?;
        Ok(Self { dir, fingerprint: fingerprint(engine) })
    }

    /// The compiled bytes stored for the module with `digest`, if any.
    pub fn read(&self, digest: &str) -> Option<Vec<u8>> {
        self.dir.read(self.entry_name(digest)).ok()
    }

    /// Stores compiled bytes for the module with `digest`. Failing to write only costs a
    /// recompilation later, so errors are returned for logging, not fatal.
    pub fn write(&self, digest: &str, compiled: &[u8]) -> std::io::Result<()> {
        static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);
        let name = self.entry_name(digest);
        let temp = format!(".{name}.{}.{}.tmp", std::process::id(), NEXT_TEMP.fetch_add(1, Ordering::Relaxed));
        self.dir.write(&temp, compiled)?;
        self.dir.rename(&temp, &self.dir, &name).inspect_err(|_| {
            let _ = self.dir.remove_file(&temp);
        })
    }

    /// Removes the entry for `digest` (used when it turns out to be unloadable).
    pub fn remove(&self, digest: &str) {
        let _ = self.dir.remove_file(self.entry_name(digest));
    }

    fn entry_name(&self, digest: &str) -> String {
        format!("{digest}-{}.cwasm", self.fingerprint)
    }
}

/// A short digest of everything about `engine` that decides whether compiled code fits it.
fn fingerprint(engine: &wasmtime::Engine) -> String {
    struct Sha256Hasher(Sha256);
    impl Hasher for Sha256Hasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha256Hasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}
