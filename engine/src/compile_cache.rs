//! Compiled functions kept in memory, so a compile reuses the machine code of every function it
//! has already compiled (Cranelift's incremental compilation cache).
//!
//! A version's settings snapshot ([`crate::Engine::snapshot_settings`]) is the module it was
//! taken from with other data segments: the same functions. Without this cache its compile
//! redoes all of them, which doubled the time from upload to first decision; with it, the
//! snapshot's compile translates each function, finds its code here and skips code
//! generation. A new version of a module whose code did not change benefits the same way.
//!
//! Entries are keyed by Cranelift's SHA-256 of a function's compiled form, so a hit is the same
//! code the compiler would produce. One cache serves every tenant: sharing it reveals nothing
//! but a shorter compile of a function some module already had. The cache holds at most its
//! budget of bytes (keys and values), the least recently used entries going first; a budget of 0
//! turns it off.

use std::{
    borrow::Cow,
    fmt,
    sync::{Mutex, MutexGuard},
};

use lru::LruCache;
use wasmtime::CacheStore;

/// Cranelift's cache of compiled functions, bounded by bytes.
pub struct CompiledFunctions {
    budget: usize,
    held: Mutex<Held>,
}

struct Held {
    entries: LruCache<Vec<u8>, Vec<u8>>,
    bytes: usize,
}

impl CompiledFunctions {
    /// An empty cache holding at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Self { budget, held: Mutex::new(Held { entries: LruCache::unbounded(), bytes: 0 }) }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        // The cache's state is consistent after every statement: a panic elsewhere while the
        // lock was held leaves nothing half-done.
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for CompiledFunctions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.held();
        f.debug_struct("CompiledFunctions")
            .field("budget", &self.budget)
            .field("entries", &held.entries.len())
            .field("bytes", &held.bytes)
            .finish()
    }
}

impl CacheStore for CompiledFunctions {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let mut held = self.held();
        held.entries.get(key).map(|value| Cow::Owned(value.clone()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let size = key.len() + value.len();
        if size > self.budget {
            return false;
        }
        let mut held = self.held();
        if let Some(old) = held.entries.put(key.to_vec(), value) {
            held.bytes -= key.len() + old.len();
        }
        held.bytes += size;
        while held.bytes > self.budget {
            match held.entries.pop_lru() {
                Some((key, value)) => held.bytes -= key.len() + value.len(),
                None => break,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_fits_and_evicts_the_least_recently_used() {
        let cache = CompiledFunctions::new(25);
        assert!(cache.insert(b"a", vec![1; 9]));
        assert!(cache.insert(b"b", vec![2; 9]));
        assert_eq!(cache.get(b"a").as_deref(), Some(&[1; 9][..]), "a is now the most recently used");
        assert!(cache.insert(b"c", vec![3; 9]), "30 bytes are over the budget: b goes");
        assert_eq!(cache.get(b"b"), None);
        assert!(cache.get(b"a").is_some() && cache.get(b"c").is_some());
        assert_eq!(cache.held().bytes, 20);
    }

    #[test]
    fn replacing_an_entry_counts_its_bytes_once() {
        let cache = CompiledFunctions::new(100);
        assert!(cache.insert(b"a", vec![1; 40]));
        assert!(cache.insert(b"a", vec![2; 10]));
        assert_eq!(cache.held().bytes, 11);
        assert_eq!(cache.get(b"a").as_deref(), Some(&[2; 10][..]));
    }

    #[test]
    fn an_entry_larger_than_the_budget_is_refused_and_a_zero_budget_holds_nothing() {
        let cache = CompiledFunctions::new(10);
        assert!(!cache.insert(b"a", vec![0; 10]));
        assert_eq!(cache.get(b"a"), None);
        assert!(!CompiledFunctions::new(0).insert(b"k", vec![1]));
    }

    /// A counting view of the cache: how many lookups found code.
    #[derive(Debug)]
    struct Counted(CompiledFunctions, std::sync::atomic::AtomicUsize);

    impl CacheStore for Counted {
        fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
            let found = self.0.get(key)?;
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(found)
        }

        fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
            self.0.insert(key, value)
        }
    }

    /// A module of two functions whose memory starts with `data`.
    fn module_with_data(data: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
                (memory (export "memory") 1)
                (data (i32.const 16) "{data}")
                (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
                (func (export "first") (result i32) i32.const 16 i32.load8_u))"#
        ))
        .unwrap()
    }

    #[test]
    fn a_module_with_the_same_functions_and_other_data_reuses_every_function() {
        let counted = std::sync::Arc::new(Counted(CompiledFunctions::new(1 << 20), Default::default()));
        let mut config = wasmtime::Config::new();
        config.enable_incremental_compilation(counted.clone()).unwrap();
        let engine = wasmtime::Engine::new(&config).unwrap();
        wasmtime::Module::new(&engine, module_with_data("settings a")).unwrap();
        assert_eq!(counted.1.load(std::sync::atomic::Ordering::Relaxed), 0, "nothing to reuse yet");
        let snapshot = wasmtime::Module::new(&engine, module_with_data("settings b")).unwrap();
        assert!(counted.1.load(std::sync::atomic::Ordering::Relaxed) >= 2, "both functions came from the cache");
        // The reused code runs as compiled.
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &snapshot, &[]).unwrap();
        let double = instance.get_typed_func::<i32, i32>(&mut store, "double").unwrap();
        assert_eq!(double.call(&mut store, 21).unwrap(), 42);
        let first = instance.get_typed_func::<(), i32>(&mut store, "first").unwrap();
        assert_eq!(first.call(&mut store, ()).unwrap(), i32::from(b's'));
    }
}
