//! Results of a fixture run, rendered for people.

use std::fmt::{self, Write};

use muster_wire::{Outcome, trace::TraceStep};

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The fixture file.
    pub file: String,
    /// The case's name.
    pub case: String,
    /// What did not match (empty when the case passed).
    pub mismatches: Vec<String>,
    /// The trace of the evaluation, when there was one.
    pub trace: Vec<TraceStep>,
    /// The rules that decided (the user's, or each provider group's), when any did.
    pub decided_by: Vec<String>,
}

/// What an evaluation leaves to show: its trace and the rules that decided.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    pub(crate) trace: Vec<TraceStep>,
    pub(crate) decided_by: Vec<String>,
}

impl CaseResult {
    pub(crate) fn passed(file: &str, case: &str, evidence: Evidence) -> Self {
        Self::failed(file, case, Vec::new(), evidence)
    }

    pub(crate) fn failed(file: &str, case: &str, mismatches: Vec<String>, evidence: Evidence) -> Self {
        let Evidence { trace, decided_by } = evidence;
        Self { file: file.to_owned(), case: case.to_owned(), mismatches, trace, decided_by }
    }

    pub(crate) fn broken(file: &str, case: &str, problem: String) -> Self {
        Self::failed(file, case, vec![problem], Evidence::default())
    }

    /// Whether every expectation held.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// All case results of one run against one subject.
#[derive(Debug, Clone)]
pub struct Report {
    /// The subject the cases ran against.
    pub subject: String,
    /// One result per case, in order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    pub(crate) fn new(subject: String) -> Self {
        Self { subject, cases: Vec::new() }
    }

    pub(crate) fn push(&mut self, result: CaseResult) {
        self.cases.push(result);
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.ok())
    }

    /// Whether there were cases and all of them passed.
    pub fn all_passed(&self) -> bool {
        !self.cases.is_empty() && self.failures().next().is_none()
    }

    /// Panics with the rendered report unless every case passed (for `#[test]`s).
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.all_passed(), "\n{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in self.failures() {
            writeln!(f, "FAIL {} › {} [{}]", failure.file, failure.case, self.subject)?;
            for mismatch in &failure.mismatches {
                for line in mismatch.lines() {
                    writeln!(f, "    {line}")?;
                }
            }
            if !failure.trace.is_empty() {
                writeln!(f, "  trace:")?;
                f.write_str(&render_trace(&failure.trace, "    "))?;
            }
        }
        let failed = self.failures().count();
        let total = self.cases.len();
        if total == 0 {
            writeln!(f, "no cases ran [{}]", self.subject)
        } else {
            writeln!(f, "{total} cases: {} passed, {failed} failed [{}]", total - failed, self.subject)
        }
    }
}

/// Renders a trace one step a line: `[rule] ✓ check`, `✗` for a miss, `·` for a note.
pub fn render_trace(trace: &[TraceStep], indent: &str) -> String {
    let mut text = String::new();
    for step in trace {
        let mark = match step.outcome {
            Outcome::Matched => '✓',
            Outcome::NotMatched => '✗',
            Outcome::Note => '·',
        };
        let rule = step.rule.as_deref().map(|r| format!("[{r}] ")).unwrap_or_default();
        let _ = writeln!(text, "{indent}{mark} {rule}{}", step.check);
    }
    text
}
