//! Recording why a decision came out as it did.

use muster_wire::{Outcome, TraceStep};

/// The trace of one evaluation: each rule looked at, each condition, whether it matched.
///
/// [`Trace::check`] returns the outcome it records, so a condition and its explanation are
/// written once: `if trace.check(rule, "department is Sales", dept == "Sales") { … }`.
#[derive(Debug, Default)]
pub struct Trace {
    steps: Vec<TraceStep>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a checked condition of `rule` and returns `matched`.
    pub fn check(&mut self, rule: &str, check: impl Into<String>, matched: bool) -> bool {
        let outcome = if matched { Outcome::Matched } else { Outcome::NotMatched };
        self.push(Some(rule), check.into(), outcome);
        matched
    }

    /// Records a remark, optionally about a rule (a fallback taken, a decision made).
    pub fn note(&mut self, rule: Option<&str>, note: impl Into<String>) {
        self.push(rule, note.into(), Outcome::Note);
    }

    /// The steps recorded so far.
    pub fn steps(&self) -> &[TraceStep] {
        &self.steps
    }

    /// Consumes the trace, returning its steps.
    pub fn into_steps(self) -> Vec<TraceStep> {
        self.steps
    }

    fn push(&mut self, rule: Option<&str>, check: String, outcome: Outcome) {
        self.steps.push(TraceStep { rule: rule.map(str::to_owned), check, outcome });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_returns_and_records_the_outcome() {
        let mut trace = Trace::new();
        assert!(trace.check("r1", "a", true));
        assert!(!trace.check("r1", "b", false));
        trace.note(None, "fallback");
        let outcomes: Vec<_> = trace.steps().iter().map(|s| s.outcome).collect();
        assert_eq!(outcomes, [Outcome::Matched, Outcome::NotMatched, Outcome::Note]);
        assert_eq!(trace.steps()[0].rule.as_deref(), Some("r1"));
        assert_eq!(trace.into_steps()[2].rule, None);
    }
}
