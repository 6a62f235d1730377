//! Testing a list of values (an attribute's, the user's groups, the e-mail domain) and
//! describing tests and values for the trace.

use std::fmt::Write;

use crate::settings::Test;

/// Most values of an attribute a trace step lists before summarising the rest.
pub const LISTED_VALUES: usize = 8;

impl Test {
    /// Whether `values` pass the test: `Some` with the first passing value (or with `""` for
    /// `present`), `None` when they do not.
    pub fn passes<'v>(&self, values: &'v [String]) -> Option<&'v str> {
        match self {
            Test::Equals(expected) => first(values, |v| v == expected),
            Test::EqualsIgnoreCase(expected) => first(values, |v| equals_ignore_case(v, expected)),
            Test::In(expected) => first(values, |v| expected.iter().any(|e| e == v)),
            Test::Regex(regex) => first(values, |v| regex.is_match(v)),
            Test::Present(present) => (values.is_empty() != *present).then_some(""),
        }
    }

    /// Appends a readable description of the test (`equals "Sales"`).
    pub fn describe(&self, out: &mut String) {
        match self {
            Test::Equals(value) => push_quoted(out, "equals ", value, ""),
            Test::EqualsIgnoreCase(value) => push_quoted(out, "equals ", value, " ignoring case"),
            Test::In(values) => {
                out.push_str("in ");
                push_list(out, values);
            }
            Test::Regex(regex) => push_quoted(out, "matches regex ", regex.as_str(), ""),
            Test::Present(true) => out.push_str("is present"),
            Test::Present(false) => out.push_str("is absent"),
        }
    }
}

/// The first value that passes `pass`.
fn first(values: &[String], pass: impl Fn(&str) -> bool) -> Option<&str> {
    values.iter().map(String::as_str).find(|v| pass(v))
}

/// Case-insensitive equality by Unicode lower-casing, without allocating.
fn equals_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii())
            && a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase)))
}

/// Appends ` (values: ["a", "b"])`, at most [`LISTED_VALUES`] of them, or ` (no values)`.
pub(crate) fn list_values(out: &mut String, values: &[String]) {
    if values.is_empty() {
        out.push_str(" (no values)");
        return;
    }
    out.push_str(" (values: ");
    push_list(out, &values[..values.len().min(LISTED_VALUES)]);
    if values.len() > LISTED_VALUES {
        push_count(out, " and ", values.len() - LISTED_VALUES, " more");
    }
    out.push(')');
}

/// Appends each of `parts`.
pub(crate) fn push_parts(out: &mut String, parts: &[&str]) {
    parts.iter().for_each(|part| out.push_str(part));
}

/// Appends `before`, the number, `after`.
pub(crate) fn push_count(out: &mut String, before: &str, count: usize, after: &str) {
    out.push_str(before);
    let _ = write!(out, "{count}");
    out.push_str(after);
}

/// Appends `["a", "b"]`.
fn push_list(out: &mut String, values: &[String]) {
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        push_quoted(out, if i == 0 { "" } else { ", " }, value, "");
    }
    out.push(']');
}

/// Appends `before"value"after` (the value as it is, unescaped).
pub(crate) fn push_quoted(out: &mut String, before: &str, value: &str, after: &str) {
    out.push_str(before);
    out.push('"');
    out.push_str(value);
    out.push('"');
    out.push_str(after);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignoring_case_covers_non_ascii_letters() {
        assert!(equals_ignore_case("Sales", "sALES"));
        assert!(equals_ignore_case("Überseeverkauf", "überseeVERKAUF"));
        assert!(!equals_ignore_case("Sales", "Sale"));
    }

    #[test]
    fn tests_pass_when_any_value_passes() {
        let values = vec!["EMEA".to_owned(), "Sales".to_owned()];
        assert_eq!(Test::Equals("Sales".into()).passes(&values), Some("Sales"));
        assert_eq!(Test::Equals("sales".into()).passes(&values), None);
        assert_eq!(Test::In(vec!["x".into(), "EMEA".into()]).passes(&values), Some("EMEA"));
        assert!(Test::Present(true).passes(&values).is_some());
        assert!(Test::Present(false).passes(&[]).is_some());
        assert!(Test::Present(true).passes(&[]).is_none());
    }
}
