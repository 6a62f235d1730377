//! Compiled code on disk, so a restart does not recompile.
//!
//! Entries live in one directory, opened once with `cap-std` so the cache can touch nothing
//! outside it. An entry's name is the module's SHA-256 digest plus a fingerprint of the engine
//! (wasmtime version and every setting that shapes compiled code), so an upgrade or a changed
//! limit never loads stale code. Writes go to a temporary name first and are renamed into
//! place, so a crash leaves no half-written entry.
//!
//! The directory holds at most a budget of bytes ([`EngineConfig::cache_max_bytes`]): an
//! entry's access time is set when it is written and each time it is read (its modification
//! time stays that of its writing), and after a write (and when the cache is opened) the
//! entries least recently used are removed until the rest fit. Entries of other engine fingerprints, which nothing reads any more, go first.
//!
//! [`EngineConfig::cache_max_bytes`]: crate::EngineConfig::cache_max_bytes

use std::{
    fs::FileTimes,
    hash::Hasher,
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
    time::SystemTime,
};

use cap_std::{ambient_authority, fs::Dir};
use sha2::{Digest, Sha256};

use crate::EngineError;

/// The on-disk cache of compiled modules for one engine configuration.
pub struct DiskCache {
    dir: Dir,
    fingerprint: String,
    max_bytes: u64,
}

/// The suffix of every entry's name.
const ENTRY_SUFFIX: &str = ".cwasm";

impl DiskCache {
    /// Opens (creating it if needed) the cache directory for `engine`, holding at most
    /// `max_bytes` of entries (older ones beyond it are removed now).
    pub fn open(path: &Path, engine: &wasmtime::Engine, max_bytes: u64) -> Result<Self, EngineError> {
        let cache_dir = |source| EngineError::CacheDir { path: path.display().to_string(), source };
        std::fs::create_dir_all(path).map_err(cache_dir)?;
        let dir = Dir::open_ambient_dir(path, ambient_authority()).map_err(cache_dir)?;
        let cache = Self { dir, fingerprint: fingerprint(engine), max_bytes };
        cache.evict();
        Ok(cache)
    }

    /// The compiled bytes stored for the module with `digest`, if any; reading an entry makes
    /// it the most recently used.
    pub fn read(&self, digest: &str) -> Option<Vec<u8>> {
        let name = self.entry_name(digest);
        let compiled = self.dir.read(&name).ok()?;
        self.touch(&name);
        Some(compiled)
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
        })?;
        self.touch(&name);
        self.evict();
        Ok(())
    }

    /// Removes the entry for `digest` (used when it turns out to be unloadable).
    pub fn remove(&self, digest: &str) {
        let _ = self.dir.remove_file(self.entry_name(digest));
    }

    fn entry_name(&self, digest: &str) -> String {
        format!("{digest}-{}{ENTRY_SUFFIX}", self.fingerprint)
    }

    /// Marks the entry `name` as used now, in its access time. The time is set explicitly (the
    /// clock's full resolution, not the file system's coarser one, and whatever the mount's
    /// `atime` policy), so uses in quick succession keep their order. Failing only makes the
    /// entry look older.
    fn touch(&self, name: &str) {
        if let Ok(file) = self.dir.open(name) {
            let _ = file.into_std().set_times(FileTimes::new().set_accessed(SystemTime::now()));
        }
    }

    /// Removes the least recently used entries until the others fit in the budget.
    fn evict(&self) {
        let Ok(listing) = self.dir.entries() else { return };
        let mut entries: Vec<_> = listing
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let name = entry.file_name().into_string().ok()?;
                let metadata = entry.metadata().ok()?;
                if !(name.ends_with(ENTRY_SUFFIX) && !name.starts_with('.') && metadata.is_file()) {
                    return None;
                }
                let used = metadata.accessed().ok()?;
                let stale = !name.contains(&self.fingerprint);
                Some((!stale, used, name, metadata.len()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(.., size)| size).sum();
        if total <= self.max_bytes {
            return;
        }
        entries.sort();
        for (_, _, name, size) in entries {
            if total <= self.max_bytes {
                break;
            }
            if self.dir.remove_file(&name).is_ok() {
                total -= size;
            }
        }
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
