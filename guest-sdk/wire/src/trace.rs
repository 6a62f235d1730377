//! The steps a module records to explain its decision.

use serde::{Deserialize, Serialize};

/// How a traced check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The condition or rule matched.
    Matched,
    /// The condition or rule did not match.
    NotMatched,
    /// A remark that is neither (a fallback taken, a decision made).
    Note,
}

/// One step of a trace: which rule, what was checked, how it came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The rule the step belongs to, if any.
    pub rule: Option<String>,
    /// What was checked or decided, in words (`department equals "Sales"`).
    pub check: String,
    /// How it came out.
    pub outcome: Outcome,
}
