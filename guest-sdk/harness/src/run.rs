//! Running fixture files against a subject.

use std::{collections::BTreeSet, path::Path};

use muster_wire::Context;

use crate::{
    fixture::{Case, Check, ExpectedSettingsError, ExpectedUser, FixtureFile, expand},
    report::{CaseResult, Evidence, Report},
    subject::{Failure, Subject},
};

/// Runs every case of the fixture files (or directories of them) in `paths` against `subject`.
pub fn run_fixtures(subject: &dyn Subject, paths: &[impl AsRef<Path>]) -> Report {
    run_fixtures_where(subject, paths, |_| true)
}

/// Runs the cases `select` picks (by [`Case::name`], say) of the fixture files in `paths`.
pub fn run_fixtures_where(subject: &dyn Subject, paths: &[impl AsRef<Path>], select: impl Fn(&Case) -> bool) -> Report {
    let mut report = Report::new(subject.label());
    let files = match expand(paths) {
        Ok(files) => files,
        Err(problem) => {
            report.push(CaseResult::broken("(fixtures)", "(none)", problem));
            return report;
        }
    };
    for path in files {
        let file_label = path.display().to_string();
        match FixtureFile::read(&path) {
            Ok(fixture) => {
                for case in fixture.cases.iter().filter(|case| select(case)) {
                    report.push(run_case(subject, &file_label, &fixture, case));
                }
            }
            Err(problem) => report.push(CaseResult::broken(&file_label, "(file)", problem)),
        }
    }
    report
}

fn run_case(subject: &dyn Subject, file: &str, fixture: &FixtureFile, case: &Case) -> CaseResult {
    let outcome = match case.check() {
        Ok(check) => evaluate(subject, fixture, case, check),
        Err(problem) => Err((vec![problem], Evidence::default())),
    };
    match outcome {
        Ok(evidence) => CaseResult::passed(file, &case.name, evidence),
        Err((mismatches, evidence)) => CaseResult::failed(file, &case.name, mismatches, evidence),
    }
}

/// Mismatches found and the evidence to show with them.
type Mismatches = (Vec<String>, Evidence);

fn evaluate(
    subject: &dyn Subject,
    fixture: &FixtureFile,
    case: &Case,
    check: Check<'_>,
) -> Result<Evidence, Mismatches> {
    let Some(settings) = case.settings.as_ref().or(fixture.settings.as_ref()) else {
        return Err((vec!["no settings: give `settings` in the file or in the case".into()], Evidence::default()));
    };
    let settings_json = serde_json::to_vec(settings).expect("a JSON value always serializes");
    let prepared = subject.prepare(&settings_json);
    if let Check::SettingsError(expected) = check {
        return check_settings_error(prepared, expected)
            .map(|()| Evidence::default())
            .map_err(|m| (vec![m], Evidence::default()));
    }
    let prepared = prepared.map_err(|failure| (vec![format!("settings: {failure}")], Evidence::default()))?;
    let context = case.context.as_ref().unwrap_or(&fixture.context);
    match check {
        Check::User(user, expected) => check_user(subject, &prepared, context, user, expected),
        Check::Groups(groups, expected) => check_groups(subject, &prepared, context, groups, expected),
        Check::SettingsError(_) => unreachable!("handled above"),
    }
}

fn check_settings_error(prepared: Result<Vec<u8>, Failure>, expected: &ExpectedSettingsError) -> Result<(), String> {
    match prepared {
        Err(Failure::InvalidSettings(error)) => {
            let mut problems = Vec::new();
            if error.path != expected.path {
                problems.push(format!("error path: expected {:?}, got {:?}", expected.path, error.path));
            }
            if !error.message.contains(&expected.message_contains) {
                problems.push(format!(
                    "error message: expected it to contain {:?}, got {:?}",
                    expected.message_contains, error.message
                ));
            }
            if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
        }
        Err(other) => Err(format!("expected a settings error, got: {other}")),
        Ok(_) => Err(format!(
            "expected the settings to be refused at {:?} ({:?}), but they were accepted",
            expected.path, expected.message_contains
        )),
    }
}

fn check_user(
    subject: &dyn Subject,
    settings: &[u8],
    context: &Context,
    user: &muster_wire::User,
    expected: &ExpectedUser,
) -> Result<Evidence, Mismatches> {
    let (decision, trace) =
        subject.user(settings, context, user).map_err(|f| (vec![f.to_string()], Evidence::default()))?;
    let evidence = Evidence { trace, decided_by: decision.rule.iter().cloned().collect() };
    let mut mismatches = Vec::new();
    if decision.organization != expected.organization {
        mismatches.push(format!(
            "organization: expected {}, got {}",
            organization(&expected.organization),
            organization(&decision.organization)
        ));
    }
    if let Some(rule) = &expected.rule
        && &decision.rule != rule
    {
        mismatches.push(format!("rule: expected {}, got {}", rule_name(rule), rule_name(&decision.rule)));
    }
    if let Some(groups) = &expected.groups {
        let want: BTreeSet<_> = groups.iter().collect();
        let got: BTreeSet<_> = decision.groups.iter().collect();
        if want != got {
            mismatches.push(format!("groups: expected {}, got {}", list(&want), list(&got)));
        }
    }
    if mismatches.is_empty() { Ok(evidence) } else { Err((mismatches, evidence)) }
}

fn check_groups(
    subject: &dyn Subject,
    settings: &[u8],
    context: &Context,
    groups: &[String],
    expected: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<Evidence, Mismatches> {
    let (decision, trace) =
        subject.groups(settings, context, groups).map_err(|f| (vec![f.to_string()], Evidence::default()))?;
    let decided_by = decision.groups.iter().filter_map(|assignment| assignment.rule.clone()).collect();
    let evidence = Evidence { trace, decided_by };
    let mut mismatches = Vec::new();
    for assignment in &decision.groups {
        let got: BTreeSet<_> = assignment.organizations.iter().collect();
        match expected.get(&assignment.group) {
            Some(want) if want.iter().collect::<BTreeSet<_>>() == got => {}
            Some(want) => mismatches.push(format!(
                "group {:?}: expected {}, got {}",
                assignment.group,
                list(&want.iter().collect()),
                list(&got)
            )),
            None => mismatches.push(format!("group {:?}: no expectation given (got {})", assignment.group, list(&got))),
        }
    }
    for group in expected.keys().filter(|g| !groups.contains(g)) {
        mismatches.push(format!("group {group:?} has an expectation but is not in `groups`"));
    }
    if mismatches.is_empty() { Ok(evidence) } else { Err((mismatches, evidence)) }
}

/// A rule as reports name it: `"sales"`, or `no rule`.
fn rule_name(rule: &Option<String>) -> String {
    match rule {
        Some(name) => format!("{name:?}"),
        None => "no rule".to_owned(),
    }
}

/// A set of names as reports show it: `["a", "b"]` (sorted), `[]` for none.
fn list(names: &BTreeSet<&String>) -> String {
    format!("{:?}", names.iter().collect::<Vec<_>>())
}

fn organization(organization: &Option<String>) -> String {
    match organization {
        Some(name) => format!("{name:?}"),
        None => "No organization (blocked)".to_owned(),
    }
}
