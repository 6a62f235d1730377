//! The compiled modules kept in memory, bounded by count and by the bytes of their compiled
//! code: the least recently used go first. An evicted module is reloaded from the engine's
//! disk cache on its next use. A version's settings snapshot is kept here too, under a key of
//! its own, and so is a draft's.

use std::num::NonZeroUsize;

use lru::LruCache;
use muster_engine::RuleModule;

/// A compiled module's key: tenant and digest (for a version's settings snapshot, the digest
/// followed by `@realm/kind/version`; for a draft's, by `#` and the SHA-256 of its prepared
/// settings).
pub type ModuleKey = (String, String);

/// Compiled modules by (tenant, digest), at most `capacity` of them and `max_bytes` of code.
pub struct ModuleCache {
    entries: LruCache<ModuleKey, RuleModule>,
    bytes: usize,
    max_bytes: usize,
}

impl ModuleCache {
    /// An empty cache of at most `capacity` modules and `max_bytes` of compiled code.
    pub fn new(capacity: NonZeroUsize, max_bytes: usize) -> Self {
        Self { entries: LruCache::new(capacity), bytes: 0, max_bytes }
    }

    /// The module under `key`, which becomes the most recently used.
    pub fn get(&mut self, key: &ModuleKey) -> Option<RuleModule> {
        self.entries.get(key).cloned()
    }

    /// Keeps `module` under `key` as the most recently used, then drops the least recently used
    /// modules until the rest fit in the budget. A module larger than the whole budget is not
    /// kept at all (and evicts nothing).
    pub fn put(&mut self, key: ModuleKey, module: RuleModule) {
        if module.code_bytes() > self.max_bytes {
            return;
        }
        self.bytes += module.code_bytes();
        if let Some((_, pushed_out)) = self.entries.push(key, module) {
            self.bytes -= pushed_out.code_bytes();
        }
        while self.bytes > self.max_bytes {
            match self.entries.pop_lru() {
                Some((_, evicted)) => self.bytes -= evicted.code_bytes(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
impl ModuleCache {
    fn bytes(&self) -> usize {
        self.bytes
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use muster_engine::{Engine, EngineConfig};

    use super::*;

    /// A module deciding nothing in particular; `tag` makes its bytes (and digest) its own.
    fn module(engine: &Engine, tag: u32) -> RuleModule {
        module_with(engine, tag, 0)
    }

    /// A module with `padding` more exported functions, each compiled to some code.
    fn module_with(engine: &Engine, tag: u32, padding: usize) -> RuleModule {
        let functions: String = (0..padding)
            .map(|n| format!("(func (export \"f{n}\") (param i32) (result i32) (i32.mul (i32.add (local.get 0) (i32.const {n})) (local.get 0)))\n"))
            .collect();
        let wasm = wat::parse_str(format!(
            r#"(module
              (memory (export "memory") 1)
              (global (export "tag") i32 (i32.const {tag}))
              (func (export "muster_abi_version") (result i32) (i32.const 1))
              (func (export "muster_alloc") (param i32) (result i32) (i32.const 1024))
              (func (export "muster_user_rules") (param i32 i32) (result i64) unreachable)
              {functions})"#
        ))
        .unwrap();
        engine.load(&wasm).unwrap()
    }

    fn key(module: &RuleModule) -> ModuleKey {
        ("acme".to_owned(), module.digest().to_owned())
    }

    #[test]
    fn the_least_recently_used_modules_go_once_their_code_is_over_the_budget() {
        let engine = Engine::new(EngineConfig::default()).unwrap();
        let (a, b, c) = (module(&engine, 1), module(&engine, 2), module(&engine, 3));
        let size = a.code_bytes();
        assert!(size > 0, "compiled code has a size");
        assert_eq!((b.code_bytes(), c.code_bytes()), (size, size));

        // Room for two and a half modules, by bytes; by count, for many more.
        let mut cache = ModuleCache::new(NonZeroUsize::new(100).unwrap(), size * 5 / 2);
        cache.put(key(&a), a.clone());
        cache.put(key(&b), b.clone());
        assert_eq!((cache.len(), cache.bytes()), (2, 2 * size));
        assert!(cache.get(&key(&a)).is_some(), "a is now more recent than b");
        cache.put(key(&c), c.clone());
        assert_eq!((cache.len(), cache.bytes()), (2, 2 * size));
        assert!(cache.get(&key(&b)).is_none(), "b was the least recently used");
        assert!(cache.get(&key(&a)).is_some() && cache.get(&key(&c)).is_some());

        // Putting a module again replaces it without counting it twice.
        cache.put(key(&c), c.clone());
        assert_eq!((cache.len(), cache.bytes()), (2, 2 * size));

        // A module larger than the whole budget is not kept, and leaves the others alone.
        let mut small = ModuleCache::new(NonZeroUsize::new(100).unwrap(), size * 3 / 2);
        small.put(key(&a), a.clone());
        let big = module_with(&engine, 0, 200);
        assert!(big.code_bytes() > size * 3 / 2, "{} bytes against {size}", big.code_bytes());
        small.put(key(&big), big.clone());
        assert_eq!((small.len(), small.bytes()), (1, size));
        assert!(small.get(&key(&big)).is_none() && small.get(&key(&a)).is_some());
    }

    #[test]
    fn the_count_still_bounds_the_cache() {
        let engine = Engine::new(EngineConfig::default()).unwrap();
        let (a, b) = (module(&engine, 1), module(&engine, 2));
        let mut cache = ModuleCache::new(NonZeroUsize::MIN, usize::MAX);
        cache.put(key(&a), a.clone());
        cache.put(key(&b), b.clone());
        assert_eq!((cache.len(), cache.bytes()), (1, b.code_bytes()));
        assert!(cache.get(&key(&a)).is_none());
    }
}
