//! Regular expressions run by the host.
//!
//! Inside the sandbox a [`Regex`] is a handle to an expression the host compiled with Rust's
//! linear-time `regex` crate (compiled once per module version, not per evaluation), so rule
//! modules stay small and a pattern cannot take exponential time. Natively (tests, the
//! harness) the same crate runs in-process with the same limits, so both agree.
//!
//! A `Regex` (de)serializes as its pattern, so settings can hold compiled expressions: a bad
//! pattern is reported, with its place in the document, when the settings are validated.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A pattern the host refused, with the `regex` crate's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexError(pub String);

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegexError {}

/// A compiled regular expression (Rust `regex` syntax).
#[derive(Clone)]
pub struct Regex {
    pattern: String,
    compiled: backend::Compiled,
}

impl Regex {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Self, RegexError> {
        if pattern.len() > muster_wire::abi::REGEX_MAX_PATTERN_LEN {
            return Err(RegexError(format!(
                "pattern is {} bytes long; the limit is {}",
                pattern.len(),
                muster_wire::abi::REGEX_MAX_PATTERN_LEN
            )));
        }
        Ok(Self { pattern: pattern.to_owned(), compiled: backend::compile(pattern)? })
    }

    /// Whether the expression matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        backend::is_match(&self.compiled, text)
    }

    /// The pattern this expression was compiled from.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Regex").field(&self.pattern).finish()
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Serialize for Regex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.pattern)
    }
}

impl<'de> Deserialize<'de> for Regex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pattern = String::deserialize(deserializer)?;
        Regex::new(&pattern).map_err(|e| serde::de::Error::custom(format!("invalid regex: {e}")))
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use super::RegexError;

    pub type Compiled = regex::Regex;

    pub fn compile(pattern: &str) -> Result<Compiled, RegexError> {
        regex::RegexBuilder::new(pattern)
            .size_limit(muster_wire::abi::REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| RegexError(e.to_string()))
    }

    pub fn is_match(compiled: &Compiled, text: &str) -> bool {
        compiled.is_match(text)
    }
}

#[cfg(target_arch = "wasm32")]
mod backend {
    use super::RegexError;

    /// A handle into the host's table of compiled expressions for this evaluation.
    pub type Compiled = i32;

    pub fn compile(pattern: &str) -> Result<Compiled, RegexError> {
        crate::ffi::regex_compile(pattern).map_err(RegexError)
    }

    pub fn is_match(compiled: &Compiled, text: &str) -> bool {
        crate::ffi::regex_is_match(*compiled, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_and_reports_bad_patterns() {
        let re = Regex::new(r"^sales-(emea|apac)$").unwrap();
        assert!(re.is_match("sales-emea"));
        assert!(!re.is_match("sales-us"));
        let err = Regex::new("(unclosed").unwrap_err();
        assert!(err.0.contains("unclosed group"), "{err}");
    }

    #[test]
    fn refuses_overlong_patterns() {
        let long = "a".repeat(muster_wire::abi::REGEX_MAX_PATTERN_LEN + 1);
        assert!(Regex::new(&long).unwrap_err().0.contains("limit"));
    }

    #[test]
    fn deserializes_from_its_pattern() {
        let re: Regex = serde_json::from_str(r#""^a+$""#).unwrap();
        assert_eq!(re.as_str(), "^a+$");
        let err = serde_json::from_str::<Regex>(r#""[""#).unwrap_err();
        assert!(err.to_string().contains("invalid regex"), "{err}");
    }
}
