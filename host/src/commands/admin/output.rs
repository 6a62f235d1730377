//! Short human output of the API's answers: tables, decisions, traces, differences.
//!
//! Answers are read as `serde_json::Value`, never as rigid structs, so a field the server adds
//! does not break the CLI, and a document the server sends as JSON text inside a string (a
//! decision's `input`, `output` and `trace`, a version's `settings`) reads the same as one it
//! sends as an object: see [`document`].

use std::{
    fmt::Write as _,
    time::{Duration, UNIX_EPOCH},
};

use serde_json::Value;

/// A JSON document the API sends either as an object or as JSON text in a string: the value
/// itself, or the string parsed (a string that is not JSON stays a string).
pub fn document(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

/// A string field, or `-` when it is absent or `null`.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Unix milliseconds as UTC to the second (`2025-01-01T10:00:00Z`), or `-`.
pub fn time(millis: &Value) -> String {
    match millis.as_u64() {
        Some(millis) => humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(millis)).to_string(),
        None => "-".to_owned(),
    }
}

/// A byte count, in the largest unit that keeps it at least 1 (`236.1 KiB`).
pub fn size(bytes: &Value) -> String {
    let Some(bytes) = bytes.as_u64() else { return "-".to_owned() };
    let mut value = bytes as f64;
    for unit in ["B", "KiB", "MiB"] {
        if value < 1024.0 {
            return if unit == "B" { format!("{bytes} B") } else { format!("{value:.1} {unit}") };
        }
        value /= 1024.0;
    }
    format!("{value:.1} GiB")
}

/// The first 12 hex digits of a digest.
pub fn short_digest(digest: &Value) -> String {
    digest.as_str().map_or_else(|| "-".to_owned(), |digest| digest.chars().take(12).collect())
}

/// A list of strings joined with `, `, or `none`.
pub fn list(values: &Value) -> String {
    let items: Vec<String> = values.as_array().into_iter().flatten().map(text).collect();
    if items.is_empty() { "none".to_owned() } else { items.join(", ") }
}

/// An organization with the rule that chose it: `acme-sales (rule sales)`, or
/// `No organization (blocked)`.
pub fn organization(organization: &Value, rule: &Value) -> String {
    let organization = match organization.as_str() {
        Some(organization) => organization.to_owned(),
        None => "No organization (blocked)".to_owned(),
    };
    match rule.as_str() {
        Some(rule) => format!("{organization} (rule {rule})"),
        None => organization,
    }
}

/// Provider groups with their organizations: `sales-emea → acme-sales; all-staff → acme`, from
/// marks (`{"name", "organizations"}`) or group assignments (`{"group", "organizations"}`).
pub fn provider_groups(marks: &Value) -> String {
    let marks: Vec<String> = marks
        .as_array()
        .into_iter()
        .flatten()
        .map(|mark| {
            let name = if mark["name"].is_null() { &mark["group"] } else { &mark["name"] };
            format!("{} → {}", text(name), list(&mark["organizations"]))
        })
        .collect();
    if marks.is_empty() { "none".to_owned() } else { marks.join("; ") }
}

/// A module reference (`{"version", "digest"}`) as `version 3 (digest 1a2b…)`, or the words
/// for none.
pub fn module(module: &Value, none: &str) -> String {
    match module["version"].as_i64() {
        Some(version) => format!("version {version} (digest {})", short_digest(&module["digest"])),
        None => none.to_owned(),
    }
}

/// Trace steps, one line each under `heading`: `  matched      sales: department equals …`.
pub fn trace(out: &mut String, heading: &str, steps: &Value) {
    let steps = steps.as_array().map(Vec::as_slice).unwrap_or_default();
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(out, "{heading}:");
    for step in steps {
        let outcome = match step["outcome"].as_str() {
            Some("matched") => "matched",
            Some("not_matched") => "not matched",
            Some("note") => "note",
            Some(other) => other,
            None => "?",
        };
        let rule = step["rule"].as_str().map(|rule| format!("{rule}: ")).unwrap_or_default();
        let _ = writeln!(out, "  {outcome:<12} {rule}{}", text(&step["check"]));
    }
}

/// What differs between two decision effects (`{"organization", "groups", "provider_groups"}`):
/// `organization acme-sales → acme-emea; groups all-managers → none`.
pub fn effect_change(before: &Value, after: &Value) -> String {
    let mut changes = Vec::new();
    if before["organization"] != after["organization"] {
        changes.push(format!(
            "organization {} → {}",
            organization(&before["organization"], &Value::Null),
            organization(&after["organization"], &Value::Null)
        ));
    }
    if before["groups"] != after["groups"] {
        changes.push(format!("groups {} → {}", list(&before["groups"]), list(&after["groups"])));
    }
    if before["provider_groups"] != after["provider_groups"] {
        changes.push(format!(
            "provider groups {} → {}",
            provider_groups(&before["provider_groups"]),
            provider_groups(&after["provider_groups"])
        ));
    }
    if changes.is_empty() { "no difference".to_owned() } else { changes.join("; ") }
}

/// How many items of a list a summary shows (`--json` has them all).
pub const SHOWN: usize = 10;

/// The first [`SHOWN`] items of the array `items`, one `line` each, then `  … and 5 more
/// (--json lists them all)` if there were more.
pub fn listed(out: &mut String, items: &Value, line: impl Fn(&Value) -> String) {
    let items = items.as_array().map(Vec::as_slice).unwrap_or_default();
    for item in items.iter().take(SHOWN) {
        let _ = writeln!(out, "  {}", line(item));
    }
    if items.len() > SHOWN {
        let _ = writeln!(out, "  … and {} more (--json lists them all)", items.len() - SHOWN);
    }
}

/// `more <what>: <command>` when the answer's cursor (`next_after`, `next_before`) says there is
/// another page; `command` gets the cursor.
pub fn next_page(out: &mut String, cursor: &Value, what: &str, command: impl FnOnce(&str) -> String) {
    if let Some(next) = cursor.as_str() {
        let _ = writeln!(out, "more {what}: {}", command(next));
    }
}

/// ` --<name> <value>` for each filter given but `before` (the cursor the next page replaces), so
/// a next-page hint repeats the listing's filters; values a shell would split are quoted.
pub fn repeated_flags(filters: &[(&str, Option<String>)]) -> String {
    let mut flags = String::new();
    for (name, value) in filters.iter().filter(|(name, _)| *name != "before") {
        if let Some(value) = value {
            let plain =
                !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:@+/,=".contains(c));
            let value = if plain { value.clone() } else { format!("'{}'", value.replace('\'', "'\\''")) };
            let _ = write!(flags, " --{name} {value}");
        }
    }
    flags
}

/// Rows under a header, each column as wide as its widest cell, two spaces apart, indented by
/// two; trailing blanks trimmed.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|cell| (*cell).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, " {cell:<width$} ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_reads_the_same_as_json_text_or_as_an_object() {
        let object = json!({"user": {"organization": "acme"}});
        assert_eq!(document(&Value::String(object.to_string())), object);
        assert_eq!(document(&object), object);
        assert_eq!(document(&json!("not json")), json!("not json"));
    }

    #[test]
    fn effects_show_only_what_changed() {
        let before = json!({"organization": "acme-sales", "groups": ["all-managers"], "provider_groups": []});
        let after = json!({"organization": null, "groups": ["all-managers"], "provider_groups": []});
        assert_eq!(effect_change(&before, &after), "organization acme-sales → No organization (blocked)");
        assert_eq!(effect_change(&before, &before), "no difference");
    }

    #[test]
    fn tables_align_their_columns() {
        let rows = vec![vec!["1".to_owned(), "active".to_owned()], vec!["10".to_owned(), String::new()]];
        assert_eq!(table(&["VERSION", "STATE"], &rows), "  VERSION  STATE\n  1        active\n  10\n");
    }

    #[test]
    fn sizes_and_times_are_short() {
        assert_eq!(size(&json!(512)), "512 B");
        assert_eq!(size(&json!(241_766)), "236.1 KiB");
        assert_eq!(time(&json!(1_735_725_600_000_u64)), "2025-01-01T10:00:00Z");
        assert_eq!(time(&Value::Null), "-");
    }

    #[test]
    fn long_lists_are_cut_and_pages_point_on() {
        let mut out = String::new();
        listed(&mut out, &json!((0..12).collect::<Vec<_>>()), |n| format!("item {n}"));
        assert!(out.starts_with("  item 0\n") && out.contains("  item 9\n") && !out.contains("item 10"), "{out}");
        assert!(out.ends_with("  … and 2 more (--json lists them all)\n"), "{out}");
        let mut out = String::new();
        next_page(&mut out, &Value::Null, "users", |next| format!("--after {next}"));
        assert_eq!(out, "");
        next_page(&mut out, &json!("u9"), "users", |next| format!("muster impact --after {next}"));
        assert_eq!(out, "more users: muster impact --after u9\n");
    }

    #[test]
    fn a_trace_is_one_line_per_step() {
        let mut out = String::new();
        trace(
            &mut out,
            "trace",
            &json!([{"rule": "sales", "check": "department equals \"Sales\"", "outcome": "matched"},
                    {"rule": null, "check": "no rule matched", "outcome": "note"}]),
        );
        assert_eq!(out, "trace:\n  matched      sales: department equals \"Sales\"\n  note         no rule matched\n");
    }
}
