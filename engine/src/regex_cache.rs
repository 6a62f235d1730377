//! Regular expressions compiled once per module, shared by all its evaluations, and the price
//! of matching one.
//!
//! A match is priced before it runs, from the pattern and the length of the text alone, so the
//! fuel an evaluation consumes stays deterministic and a match the budget cannot pay for is
//! refused before it starts. The price must bound the real work, so which engine runs is
//! decided the same way:
//!
//! * a pattern whose *complete* DFA fits in [`DFA_SIZE_LIMIT`] (nearly every pattern rules use:
//!   anchored names, e-mail domains, small alternations) is matched by that DFA, one table
//!   lookup per byte whatever the text: [`DFA_FUEL_PER_BYTE`];
//! * any other pattern (its DFA blows up, as `a[ab]{2000}$` does, or it has a Unicode `\b` and
//!   the text is not ASCII) goes to the `regex` crate, whose worst case (a lazy DFA that thrashes
//!   its cache, then the PikeVM) costs time proportional to the text length times the number of
//!   positions in the pattern: [`FALLBACK_FUEL_PER_BYTE_AND_POSITION`] for each.
//!
//! One unit of fuel stands for about a nanosecond of host work on the machine the constants
//! were measured on, the rate the default limits pair fuel and time at (200 M units, 250 ms).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use muster_wire::abi::{REGEX_MAX_PATTERN_LEN, REGEX_SIZE_LIMIT};
use regex::Regex;
use regex_automata::{
    Input, MatchKind,
    dfa::{Automaton, StartKind, dense},
    nfa::thompson::{self, WhichCaptures},
    util::syntax,
};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Most distinct patterns kept per module; further ones are compiled per evaluation.
const MAX_CACHED_PATTERNS: usize = 4096;

/// Fuel charged for every match, whatever the engine: the host call, the handle lookup and the
/// UTF-8 check.
pub const REGEX_MATCH_BASE_FUEL: u64 = 50;
/// Fuel per byte of text matched by a pattern's complete DFA. Measured: 1.5–4 ns a byte.
pub const DFA_FUEL_PER_BYTE: u64 = 2;
/// Fuel per byte of text and per position of the pattern (see [`positions`]) when the `regex`
/// crate matches. Measured worst cases (random `a`/`b` text, patterns such as `a[ab]{20}$`,
/// `[ab]{3000}x`, `a[ab]{14000}$`): 5–12 ns per byte and position.
pub const FALLBACK_FUEL_PER_BYTE_AND_POSITION: u64 = 12;
/// Largest complete DFA built for a pattern, in bytes (and the bound on the memory its
/// construction may use). Patterns whose DFA is larger are matched by the `regex` crate.
pub const DFA_SIZE_LIMIT: usize = 64 << 10;

/// A compiled expression and what matching it costs.
#[derive(Debug)]
pub struct CompiledRegex {
    /// The `regex` crate's compiled form: the fallback engine.
    regex: Regex,
    /// The complete forward DFA, when it fits in [`DFA_SIZE_LIMIT`].
    dfa: Option<dense::DFA<Vec<u32>>>,
    /// Whether the pattern has a Unicode word boundary, which the DFA can only decide on ASCII.
    unicode_word_boundary: bool,
    /// Positions of the pattern: see [`positions`].
    positions: u64,
}

/// How a match will run, and its price in fuel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchPlan {
    /// Fuel the match costs.
    pub fuel: u64,
    /// Whether the complete DFA runs (else the `regex` crate does).
    pub by_dfa: bool,
}

impl CompiledRegex {
    fn new(pattern: &str) -> Result<Self, String> {
        if pattern.len() > REGEX_MAX_PATTERN_LEN {
            return Err(format!("pattern is {} bytes long; the limit is {REGEX_MAX_PATTERN_LEN}", pattern.len()));
        }
        // The `regex` crate decides what is a valid pattern and words the errors, exactly as the
        // guest SDK does natively.
        let regex =
            regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| e.to_string())?;
        // It accepted the pattern, so with the same syntax and size limit these succeed too.
        let syntax = syntax::Config::new().utf8(true);
        let hir = syntax::parse_with(pattern, &syntax).map_err(|e| e.to_string())?;
        let nfa = thompson::Compiler::new()
            .syntax(syntax)
            .configure(
                thompson::Config::new()
                    .utf8(true)
                    .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                    .which_captures(WhichCaptures::None),
            )
            .build_from_hir(&hir)
            .map_err(|e| e.to_string())?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Unanchored)
                    .match_kind(MatchKind::All)
                    .unicode_word_boundary(true)
                    .minimize(false)
                    .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                    .determinize_size_limit(Some(DFA_SIZE_LIMIT)),
            )
            .build_from_nfa(&nfa)
            .ok();
        Ok(Self {
            regex,
            dfa,
            unicode_word_boundary: nfa.look_set_any().contains_word_unicode(),
            positions: positions(&hir),
        })
    }

    /// How matching `text` will run and what it costs; decided from the pattern, the length of
    /// `text` and whether it is ASCII, never from the state of any cache.
    pub fn plan(&self, text: impl AsRef<[u8]>) -> MatchPlan {
        let text = text.as_ref();
        let len = text.len() as u64;
        if self.dfa.is_some() && (!self.unicode_word_boundary || text.is_ascii()) {
            MatchPlan {
                fuel: REGEX_MATCH_BASE_FUEL.saturating_add(len.saturating_mul(DFA_FUEL_PER_BYTE)),
                by_dfa: true,
            }
        } else {
            MatchPlan { fuel: self.fallback_fuel(len), by_dfa: false }
        }
    }

    /// The price of a match by the `regex` crate over `len` bytes. One more byte than the text
    /// is counted, for the work at its end and for an empty text.
    fn fallback_fuel(&self, len: u64) -> u64 {
        let per_byte =
            self.positions.saturating_mul(FALLBACK_FUEL_PER_BYTE_AND_POSITION).saturating_add(DFA_FUEL_PER_BYTE);
        REGEX_MATCH_BASE_FUEL.saturating_add(len.saturating_add(1).saturating_mul(per_byte))
    }

    /// Whether the expression matches anywhere in `text`, by the engine `plan` chose. `None`
    /// if the DFA gave up after all (it cannot, given the plan), so the caller can charge for
    /// the fallback before running it with [`CompiledRegex::fallback_is_match`].
    pub fn is_match(&self, plan: MatchPlan, text: &str) -> Option<bool> {
        match (&self.dfa, plan.by_dfa) {
            (Some(dfa), true) => dfa.try_search_fwd(&Input::new(text).earliest(true)).ok().map(|m| m.is_some()),
            _ => Some(self.regex.is_match(text)),
        }
    }

    /// The price of matching `text` with the `regex` crate.
    pub fn fallback_plan(&self, text: impl AsRef<[u8]>) -> MatchPlan {
        MatchPlan { fuel: self.fallback_fuel(text.as_ref().len() as u64), by_dfa: false }
    }

    /// Whether the expression matches anywhere in `text`, by the `regex` crate.
    pub fn fallback_is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// The number of positions of a pattern: literal bytes and character classes, each repetition
/// counted as many times as it may repeat (an unbounded one once more than its minimum), each
/// assertion once. The matching work per byte of text, in the worst case, is proportional to it:
/// it bounds how many states of the pattern's automaton can be alive at once, which is what the
/// lazy DFA's state construction and the PikeVM pay for on every byte.
fn positions(hir: &Hir) -> u64 {
    match hir.kind() {
        HirKind::Empty => 0,
        HirKind::Literal(literal) => literal.0.len() as u64,
        HirKind::Class(Class::Unicode(_) | Class::Bytes(_)) | HirKind::Look(_) => 1,
        HirKind::Repetition(repetition) => {
            let copies = repetition.max.unwrap_or(repetition.min.saturating_add(1)).max(1);
            positions(&repetition.sub).saturating_mul(u64::from(copies))
        }
        HirKind::Capture(capture) => positions(&capture.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().map(positions).fold(0, u64::saturating_add)
        }
    }
}

/// Compiled expressions of one module, keyed by pattern.
#[derive(Default)]
pub struct RegexCache {
    compiled: RwLock<HashMap<String, Arc<CompiledRegex>>>,
}

impl RegexCache {
    /// The compiled form of `pattern` (or why it is refused), and whether it had to be compiled
    /// now: compiling takes up to milliseconds, looking up far less. Refused patterns are not
    /// kept, so they are compiled again every time.
    pub fn get(&self, pattern: &str) -> (Result<Arc<CompiledRegex>, String>, bool) {
        if let Some(regex) = self.compiled.read().unwrap_or_else(|e| e.into_inner()).get(pattern) {
            return (Ok(Arc::clone(regex)), false);
        }
        let regex = match CompiledRegex::new(pattern) {
            Ok(regex) => Arc::new(regex),
            Err(message) => return (Err(message), true),
        };
        let mut compiled = self.compiled.write().unwrap_or_else(|e| e.into_inner());
        if compiled.len() < MAX_CACHED_PATTERNS {
            compiled.insert(pattern.to_owned(), Arc::clone(&regex));
        }
        (Ok(regex), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_once_and_reports_errors() {
        let cache = RegexCache::default();
        let (a, compiled) = cache.get("^a+$");
        assert!(compiled);
        let (b, compiled) = cache.get("^a+$");
        assert!(!compiled);
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        assert!(cache.get("(").0.unwrap_err().contains("unclosed group"));
        assert!(cache.get("(").1, "refused patterns are compiled every time");
        assert!(cache.get(&"a".repeat(REGEX_MAX_PATTERN_LEN + 1)).0.unwrap_err().contains("limit"));
        assert!(cache.get("a{1000}{1000}").0.unwrap_err().contains("size limit"));
    }

    fn compiled(pattern: &str) -> CompiledRegex {
        CompiledRegex::new(pattern).unwrap()
    }

    /// Both engines, on the given plan and on the fallback, agree with the `regex` crate.
    #[track_caller]
    fn assert_agrees(pattern: &str, text: &str) {
        let regex = compiled(pattern);
        let expected = Regex::new(pattern).unwrap().is_match(text);
        let plan = regex.plan(text);
        assert_eq!(regex.is_match(plan, text), Some(expected), "{pattern:?} on {text:?} ({plan:?})");
        assert_eq!(regex.fallback_is_match(text), expected, "{pattern:?} on {text:?} (fallback)");
    }

    #[test]
    fn the_dfa_decides_like_the_regex_crate() {
        let patterns = [
            "",
            "a",
            "^a+$",
            "^$",
            r"^sales-emea(-.*)?$",
            r"^eng-(platform|infra)(-|$)",
            r"(?i)manager|lead|head of",
            r"(^|\.)initech\.(com|io)$",
            r"^CC-7[0-9]{3}$",
            r"(?i)^(chief|vp|vice president)\b",
            r"\bmanager\b",
            r"\Bana\B",
            r"(?-u:\b)x(?-u:\b)",
            r"(?m)^b$",
            r"(?m)a$",
            r"\Aab\z",
            r"(?s).",
            r".",
            r"\d{2,}",
            r"(?i)straße",
            r"é+",
            r"[^a]",
            r"\w+@acme\.com$",
        ];
        let texts = [
            "",
            "a",
            "aaa",
            "b",
            "\n",
            "a\nb",
            "ab",
            "sales-emea",
            "sales-emea-north",
            "sales-emeax",
            "eng-platform-core",
            "eng-infra",
            "eng-infrastructure",
            "Engineering Manager",
            "team lead",
            "x.initech.io",
            "initech.com.evil",
            "CC-7123",
            "CC-71234",
            "VP Sales",
            "vpn",
            "the manager's",
            "managers",
            "bananas",
            "x",
            " x ",
            "é x é",
            "12",
            "STRASSE",
            "Straße",
            "éé",
            "ada@acme.com",
            "Señor manager",
            "añb",
        ];
        for pattern in patterns {
            for text in texts {
                assert_agrees(pattern, text);
            }
        }
    }

    #[test]
    fn everyday_patterns_run_on_the_dfa_at_a_small_price() {
        for (pattern, text) in [
            (r"^eng-(platform|infra)(-|$)", "eng-platform-core"),
            (r"(?i)manager|lead|head of", "Engineering Manager"),
            (r"(^|\.)initech\.(com|io)$", "acme.com"),
            (r"(?i)^(chief|vp|vice president)\b", "Engineering Manager"),
            (r"^sales-emea(-.*)?$", "sales-emea-north"),
        ] {
            let plan = compiled(pattern).plan(text);
            assert!(plan.by_dfa, "{pattern}");
            assert_eq!(plan.fuel, REGEX_MATCH_BASE_FUEL + DFA_FUEL_PER_BYTE * text.len() as u64, "{pattern}");
        }
    }

    #[test]
    fn a_large_unicode_class_is_priced_by_its_positions_not_its_size() {
        // `\w` compiles to hundreds of automaton states; its DFA does not fit, but it is one
        // position: an e-mail address costs about 2000 units (docs/abi.md says so).
        let regex = compiled(r"^\w+@acme\.com$");
        assert_eq!(regex.positions, 13);
        let plan = regex.plan("ada@acme.com");
        assert!(!plan.by_dfa);
        assert_eq!(plan.fuel, 50 + 13 * (2 + 12 * 13));
        assert_eq!(regex.is_match(plan, "ada@acme.com"), Some(true));
    }

    #[test]
    fn patterns_whose_dfa_blows_up_are_priced_per_byte_and_position() {
        let regex = compiled("a[ab]{2000}(?m:$)");
        assert!(regex.dfa.is_none());
        assert_eq!(regex.positions, 2002);
        let plan = regex.plan("ab".repeat(512));
        assert!(!plan.by_dfa);
        assert_eq!(plan.fuel, REGEX_MATCH_BASE_FUEL + 1025 * (2002 * FALLBACK_FUEL_PER_BYTE_AND_POSITION + 2));
        // A megabyte of text costs more than any sensible budget; the price saturates.
        assert!(regex.plan("a".repeat(1 << 20)).fuel > 20_000_000_000);
        assert_eq!(compiled(&format!("a{{{}}}", u32::MAX >> 20)).fallback_fuel(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_unicode_word_boundary_on_non_ascii_text_goes_to_the_fallback() {
        let regex = compiled(r"\bmanager\b");
        assert!(regex.plan("the manager").by_dfa);
        let plan = regex.plan("Señor manager");
        assert!(!plan.by_dfa);
        assert_eq!(plan, regex.fallback_plan("Señor manager"));
        assert_eq!(regex.is_match(plan, "Señor manager"), Some(true));
    }

    #[test]
    fn positions_count_what_can_be_alive_at_once() {
        for (pattern, expected) in [
            ("", 0),
            ("abc", 3),
            ("[ab]", 1),
            (r"\w", 1),
            ("a|bc", 3),
            ("(ab)*", 2),
            ("a+", 2),
            ("a{3,}", 4),
            ("a{2,5}", 5),
            ("(?:ab){0,3}", 6),
            ("^a$", 3),
            ("é", 2),
        ] {
            let hir = syntax::parse_with(pattern, &syntax::Config::new().utf8(true)).unwrap();
            assert_eq!(positions(&hir), expected, "{pattern}");
        }
    }
}
