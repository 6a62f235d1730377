//! The error of a filter that does not parse or does not fit the schema.

/// A filter that does not parse or does not fit the schema: the SCIM `invalidFilter` detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position})")]
pub struct FilterError {
    /// Where the problem is: a 0-based offset in characters.
    pub position: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> FilterError {
        FilterError { position, message: message.into() }
    }
}
