//! Regular expressions compiled once per module, shared by all its evaluations.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use muster_wire::abi::{REGEX_MAX_PATTERN_LEN, REGEX_SIZE_LIMIT};
use regex::Regex;

/// Most distinct patterns kept per module; further ones are compiled per evaluation.
const MAX_CACHED_PATTERNS: usize = 4096;

/// Compiled expressions of one module, keyed by pattern.
#[derive(Default)]
pub struct RegexCache {
    compiled: RwLock<HashMap<String, Arc<Regex>>>,
}

impl RegexCache {
    /// The compiled form of `pattern`, from the cache or freshly compiled.
    pub fn get(&self, pattern: &str) -> Result<Arc<Regex>, String> {
        if let Some(regex) = self.compiled.read().unwrap_or_else(|e| e.into_inner()).get(pattern) {
            return Ok(Arc::clone(regex));
        }
        let regex = Arc::new(compile(pattern)?);
        let mut compiled = self.compiled.write().unwrap_or_else(|e| e.into_inner());
        if compiled.len() < MAX_CACHED_PATTERNS {
            compiled.insert(pattern.to_owned(), Arc::clone(&regex));
        }
        Ok(regex)
    }
}

fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > REGEX_MAX_PATTERN_LEN {
        return Err(format!("pattern is {} bytes long; the limit is {REGEX_MAX_PATTERN_LEN}", pattern.len()));
    }
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_once_and_reports_errors() {
        let cache = RegexCache::default();
        let a = cache.get("^a+$").unwrap();
        let b = cache.get("^a+$").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(cache.get("(").unwrap_err().contains("unclosed group"));
        assert!(cache.get(&"a".repeat(REGEX_MAX_PATTERN_LEN + 1)).unwrap_err().contains("limit"));
        assert!(cache.get("a{1000}{1000}").unwrap_err().contains("size limit"));
    }
}
