//! How `muster test` prints a report: for people, as JSON, or as JUnit XML for CI.

use std::fmt::Write as _;

use muster_harness::{Coverage, Report, report::render_trace};
use serde_json::json;

/// The output formats of `muster test`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    /// Failures with expected against actual and the trace, a summary, the coverage.
    Text,
    /// One JSON document: every case, the counts, the coverage.
    Json,
    /// JUnit XML: one test suite, one test case per fixture case.
    Junit,
}

/// Renders `report` (and its coverage) in `format`; `verbose` lists passing cases in text.
pub fn render(format: Format, report: &Report, coverage: &Coverage, verbose: bool) -> String {
    match format {
        Format::Text => text(report, coverage, verbose),
        Format::Json => json(report, coverage),
        Format::Junit => junit(report),
    }
}

fn text(report: &Report, coverage: &Coverage, verbose: bool) -> String {
    let mut out = String::new();
    if verbose {
        for case in report.cases.iter().filter(|case| case.ok()) {
            let _ = writeln!(out, "ok   {} › {}", case.file, case.case);
        }
    }
    let _ = write!(out, "{report}{coverage}");
    out
}

fn json(report: &Report, coverage: &Coverage) -> String {
    let cases: Vec<_> = report
        .cases
        .iter()
        .map(|case| {
            json!({
                "file": case.file,
                "case": case.case,
                "passed": case.ok(),
                "mismatches": case.mismatches,
                "decided_by": case.decided_by,
                "trace": case.trace,
            })
        })
        .collect();
    let failed = report.failures().count();
    let document = json!({
        "subject": report.subject,
        "passed": report.cases.len() - failed,
        "failed": failed,
        "cases": cases,
        "coverage": coverage,
    });
    format!("{document:#}\n")
}

fn junit(report: &Report) -> String {
    let failed = report.failures().count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
        escape(&report.subject),
        report.cases.len()
    );
    for case in &report.cases {
        let _ = write!(out, "  <testcase classname=\"{}\" name=\"{}\"", escape(&case.file), escape(&case.case));
        if case.ok() {
            out.push_str("/>\n");
            continue;
        }
        let message = case.mismatches.first().map(String::as_str).unwrap_or("failed");
        let mut details = case.mismatches.join("\n");
        if !case.trace.is_empty() {
            details.push_str("\ntrace:\n");
            details.push_str(&render_trace(&case.trace, "  "));
        }
        let _ = writeln!(
            out,
            ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
            escape(message),
            escape(&details)
        );
    }
    out.push_str("</testsuite>\n");
    out
}

/// Text as XML character data or attribute value.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}
