//! What a fixture run left unexercised: rules that never decided, conditions that never matched.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use muster_wire::Outcome;
use serde::Serialize;

use crate::Report;

/// Which rules and conditions the cases of a [`Report`] did not exercise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Rules named in some trace that decided no case, sorted.
    pub rules_never_deciding: Vec<String>,
    /// Conditions checked in some case but matched in none, as `[rule] condition`, sorted.
    pub conditions_never_matching: Vec<String>,
}

impl Coverage {
    /// The coverage of every case in `report` (passed or failed).
    pub fn of(report: &Report) -> Self {
        let mut named = BTreeSet::new();
        let mut decided = BTreeSet::new();
        let mut matched: BTreeMap<String, bool> = BTreeMap::new();
        for case in &report.cases {
            decided.extend(case.decided_by.iter().map(String::as_str));
            for step in &case.trace {
                if let Some(rule) = &step.rule {
                    named.insert(rule.as_str());
                }
                if step.outcome != Outcome::Note {
                    let condition = match &step.rule {
                        Some(rule) => format!("[{rule}] {}", step.check),
                        None => step.check.clone(),
                    };
                    *matched.entry(condition).or_default() |= step.outcome == Outcome::Matched;
                }
            }
        }
        Self {
            rules_never_deciding: named.difference(&decided).map(|rule| (*rule).to_owned()).collect(),
            conditions_never_matching: matched.into_iter().filter(|(_, hit)| !hit).map(|(c, _)| c).collect(),
        }
    }
}

impl fmt::Display for Coverage {
    /// Two lines: the rules that never decided, the conditions that never matched.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rules_never_deciding.as_slice() {
            [] => writeln!(f, "coverage: every rule in the traces decided a case")?,
            rules => writeln!(f, "coverage: rules that decided no case: {}", rules.join(", "))?,
        }
        match self.conditions_never_matching.as_slice() {
            [] => writeln!(f, "coverage: every condition checked matched in some case"),
            conditions => {
                writeln!(f, "coverage: conditions that matched in no case:")?;
                conditions.iter().try_for_each(|condition| writeln!(f, "    {condition}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use muster_wire::trace::TraceStep;

    use super::*;
    use crate::report::{CaseResult, Evidence};

    fn step(rule: &str, check: &str, outcome: Outcome) -> TraceStep {
        TraceStep { rule: Some(rule.to_owned()), check: check.to_owned(), outcome }
    }

    #[test]
    fn rules_that_never_decide_and_conditions_that_never_match_are_named() {
        let mut report = Report::new("test".to_owned());
        let evidence = |trace, decided: &[&str]| Evidence {
            trace,
            decided_by: decided.iter().map(|rule| (*rule).to_owned()).collect(),
        };
        report.push(CaseResult::passed(
            "f.json",
            "a",
            evidence(vec![step("sales", "is sales", Outcome::Matched)], &["sales"]),
        ));
        report.push(CaseResult::passed(
            "f.json",
            "b",
            evidence(
                vec![
                    step("sales", "is sales", Outcome::NotMatched),
                    step("legal", "is legal", Outcome::NotMatched),
                    step("legal", "a note", Outcome::Note),
                ],
                &[],
            ),
        ));
        let coverage = Coverage::of(&report);
        assert_eq!(coverage.rules_never_deciding, ["legal"]);
        assert_eq!(coverage.conditions_never_matching, ["[legal] is legal"]);
    }
}
