//! Why a subject gave no decision: the one failure type of natively run and engine-run rules.

use std::time::Duration;

use muster_wire::SettingsError;

/// Why a subject gave no decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The settings were refused.
    InvalidSettings(SettingsError),
    /// The subject does not implement the rules asked for.
    NotImplemented(&'static str),
    /// The rules panicked (natively), with the panic's message.
    Panicked(String),
    /// The rules were still running at the deadline (natively: an endless loop?).
    TimedOut(Duration),
    /// Anything else (a trap, a malformed response, an engine limit).
    Error(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::InvalidSettings(e) => write!(f, "settings rejected {e}"),
            Failure::NotImplemented(what) => write!(f, "does not implement {what}"),
            Failure::Panicked(message) => write!(f, "panicked: {message}"),
            Failure::TimedOut(timeout) => write!(
                f,
                "did not finish within {timeout:?} (an endless loop?); the run went on without it \
                 (Native::with_case_timeout sets the deadline)"
            ),
            Failure::Error(message) => f.write_str(message),
        }
    }
}
