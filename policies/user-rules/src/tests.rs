use std::collections::BTreeMap;

use muster_guest::runtime;
use muster_guest::wire::{Outcome, Response, UserRequest, codec};

use super::*;

const SETTINGS: &str = r#"{
  "rules": [
    {"name": "sales", "organization": "acme-sales",
     "when": {"all": [{"attribute": {"name": "department", "equals": "Sales"}},
                      {"provider_group": {"in": ["sales-emea", "sales-apac"]}}]}},
    {"name": "engineering", "organization": "acme-eng",
     "when": {"any": [{"attribute": {"name": "department", "equals_ignore_case": "engineering"}},
                      {"internal_group": {"regex": "^eng-"}}]}},
    {"name": "staff", "organization": "acme", "when": {"email_domain": {"equals": "acme.com"}}}
  ],
  "groups": [
    {"name": "managers", "group": "all-managers",
     "when": {"attribute": {"name": "title", "regex": "(?i)manager"}}},
    {"name": "no manager title", "group": "individual-contributors",
     "when": {"not": {"attribute": {"name": "title", "regex": "(?i)manager"}}}}
  ]
}"#;

fn user(email: &str, attributes: &[(&str, &[&str])], provider_groups: &[&str]) -> User {
    User {
        user_name: email.into(),
        email: Some(email.into()),
        attributes: attributes
            .iter()
            .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect::<BTreeMap<_, _>>(),
        provider_groups: provider_groups.iter().map(|g| g.to_string()).collect(),
        ..User::default()
    }
}

fn prepare(json: &str) -> Result<Vec<u8>, SettingsError> {
    let response: Response<Vec<u8>> =
        codec::decode(&runtime::prepare_settings::<UserRulesPolicy>(json.as_bytes())).unwrap();
    response.result.map_err(|e| match e {
        muster_guest::wire::GuestError::Settings(e) => e,
        other => panic!("unexpected error {other}"),
    })
}

fn decide(json: &str, user: User) -> Response<UserDecision> {
    let request = UserRequest { context: Context::default(), settings: prepare(json).unwrap(), user };
    codec::decode(&runtime::user_rules::<UserRulesPolicy>(&codec::encode(&request).unwrap())).unwrap()
}

fn settings_error(json: &str) -> (String, String) {
    let error = prepare(json).unwrap_err();
    (error.path, error.message)
}

#[test]
fn settings_travel_in_binary_form() {
    assert_eq!(prepare(SETTINGS).unwrap()[0], 0, "postcard, not the JSON fallback");
}

#[test]
fn first_matching_rule_decides_and_groups_are_added() {
    let ada = user("ada@acme.com", &[("department", &["Sales"]), ("title", &["Sales Manager"])], &["sales-emea"]);
    let response = decide(SETTINGS, ada);
    let decision = response.result.unwrap();
    assert_eq!(decision.organization.as_deref(), Some("acme-sales"), "before the staff rule");
    assert_eq!(decision.rule.as_deref(), Some("sales"));
    assert_eq!(decision.groups, ["all-managers"]);

    let checks: Vec<_> = response.trace.iter().map(|s| (s.rule.as_deref(), s.check.as_str(), s.outcome)).collect();
    assert_eq!(
        checks[0],
        (Some("sales"), r#"attribute department equals "Sales" (values: ["Sales"])"#, Outcome::Matched)
    );
    assert_eq!(
        checks[1],
        (Some("sales"), r#"provider group in ["sales-emea", "sales-apac"] (matched "sales-emea")"#, Outcome::Matched)
    );
    assert_eq!(checks[2], (Some("sales"), "rule matched: organization acme-sales", Outcome::Note));
    assert!(checks.iter().all(|c| c.0 != Some("engineering")), "later rules are not examined");
}

#[test]
fn all_and_any_short_circuit_in_the_trace() {
    let bob = user("bob@acme.com", &[("department", &["Marketing", "engineering"])], &[]);
    let response = decide(SETTINGS, bob);
    let decision = response.result.unwrap();
    assert_eq!(decision.organization.as_deref(), Some("acme-eng"));
    let steps = |rule: &str| -> Vec<(String, Outcome)> {
        let steps = response.trace.iter().filter(|s| s.rule.as_deref() == Some(rule));
        steps.map(|s| (s.check.clone(), s.outcome)).collect()
    };
    assert_eq!(
        steps("sales"),
        [(r#"attribute department equals "Sales" (values: ["Marketing", "engineering"])"#.into(), Outcome::NotMatched)],
        "the provider-group check is skipped"
    );
    assert_eq!(steps("engineering").len(), 2, "the internal-group check is skipped");
    assert_eq!(
        steps("no manager title"),
        [
            (r#"not attribute title matches regex "(?i)manager" (no values)"#.into(), Outcome::Matched),
            ("adds group individual-contributors".into(), Outcome::Note),
        ],
        "`not` of a test is one step with the outcome inverted"
    );
    assert_eq!(decision.groups, ["individual-contributors"]);
}

#[test]
fn nested_all_any_and_not_add_summary_steps() {
    let settings = r#"{"rules": [{"name": "r", "organization": "o", "when":
        {"all": [{"any": [{"provider_group": {"equals": "a"}}, {"provider_group": {"equals": "b"}}]},
                 {"not": {"all": [{"email_domain": {"equals": "acme.com"}}, {"internal_group": {"present": true}}]}}]}}]}"#;
    let response = decide(settings, user("eve@acme.com", &[], &["b"]));
    assert_eq!(response.result.unwrap().organization.as_deref(), Some("o"));
    let checks: Vec<_> = response.trace.iter().map(|s| (s.check.as_str(), s.outcome)).collect();
    assert_eq!(
        checks,
        [
            (r#"provider group equals "a" (none of the user's 1 provider group)"#, Outcome::NotMatched),
            (r#"provider group equals "b" (matched "b")"#, Outcome::Matched),
            ("any of 2 conditions (condition 2 matched)", Outcome::Matched),
            (r#"email domain equals "acme.com" (domain "acme.com")"#, Outcome::Matched),
            ("internal group is present (the user has no internal groups)", Outcome::NotMatched),
            ("all of 2 conditions (condition 2 did not match)", Outcome::NotMatched),
            ("not (the condition above did not match)", Outcome::Matched),
            ("rule matched: organization o", Outcome::Note),
        ]
    );
}

#[test]
fn fallback_or_block_when_nothing_matches() {
    let eve = user("eve@elsewhere.org", &[], &[]);
    let blocked = decide(SETTINGS, eve.clone());
    let decision = blocked.result.unwrap();
    assert_eq!((decision.organization, decision.rule), (None, None));
    assert_eq!(decision.groups, ["individual-contributors"], "groups are evaluated for blocked users too");
    let last = blocked.trace.iter().rfind(|s| s.rule.is_none()).unwrap();
    assert!(last.check.contains("blocked"), "{last:?}");

    let with_fallback = SETTINGS.replacen(r#""groups""#, r#""fallback": "acme-general", "groups""#, 1);
    let decision = decide(&with_fallback, eve).result.unwrap();
    assert_eq!(decision.organization.as_deref(), Some("acme-general"));
    assert_eq!(decision.rule.as_deref(), Some("fallback"));
}

#[test]
fn email_domain_is_computed_once_and_lower_case() {
    let carol = user("carol@ACME.com", &[], &[]);
    let decision = decide(SETTINGS, carol).result.unwrap();
    assert_eq!(decision.rule.as_deref(), Some("staff"));
}

#[test]
fn malformed_documents_name_the_path() {
    let rule = |when: &str| format!(r#"{{"rules": [{{"name": "r", "organization": "o", "when": {when}}}]}}"#);

    let (path, message) = settings_error(&rule(r#"{"attribute": {"name": "d"}}"#));
    assert_eq!(path, "rules[0].when.attribute");
    assert!(message.contains("needs a test"), "{message}");

    let (path, message) = settings_error(&rule(r#"{"attribute": {"name": "d", "equals": "x", "in": ["x"]}}"#));
    assert_eq!(path, "rules[0].when.attribute");
    assert!(message.contains("more than one test"), "{message}");

    let (path, message) = settings_error(&rule(r#"{"any": [{"provider_group": {"regex": "(oops"}}]}"#));
    assert_eq!(path, "rules[0].when.any[0].provider_group.regex");
    assert!(message.contains("invalid regex"), "{message}");

    let (path, _) = settings_error(&rule(r#"{"attribute": {"name": "d", "equal": "x"}}"#));
    assert!(path.starts_with("rules[0].when.attribute"), "{path}");
}

#[test]
fn invalid_documents_name_the_path() {
    let rule = |when: &str| format!(r#"{{"rules": [{{"name": "r", "organization": "o", "when": {when}}}]}}"#);

    assert_eq!(settings_error(&rule(r#"{"provider_group": {"in": []}}"#)).0, "rules[0].when.provider_group.in");
    assert_eq!(settings_error(&rule(r#"{"all": []}"#)).0, "rules[0].when.all");
    assert_eq!(
        settings_error(&rule(r#"{"not": {"email_domain": {"in": ["acme.com", "Acme.io"]}}}"#)),
        (
            "rules[0].when.not.email_domain.in[1]".into(),
            "e-mail domains are compared in lower case; write `acme.io`".into()
        )
    );

    let deep = format!("{}{{\"present_marker\": 0}}{}", "{\"not\": ".repeat(16), "}".repeat(16))
        .replace(r#"{"present_marker": 0}"#, r#"{"email_domain": {"present": true}}"#);
    let (path, message) = settings_error(&rule(&deep));
    assert_eq!(path, format!("rules[0].when{}", ".not".repeat(16)));
    assert!(message.contains("at most 16 levels"), "{message}");
    let fifteen = deep.replacen("{\"not\": ", "", 1);
    let fifteen = &fifteen[..fifteen.len() - 1];
    assert!(prepare(&rule(fifteen)).is_ok());

    let duplicate = r#"{"rules": [
        {"name": "a", "organization": "o", "when": {"email_domain": {"present": true}}}],
      "groups": [{"name": "a", "group": "g", "when": {"email_domain": {"present": true}}}]}"#;
    let (path, message) = settings_error(duplicate);
    assert_eq!(path, "groups[0].name");
    assert!(message.contains("duplicate") && message.contains("rules[0]"), "{message}");

    let reserved = r#"{"rules": [{"name": "fallback", "organization": "o", "when": {"all": [{"email_domain": {"present": true}}]}}]}"#;
    assert_eq!(settings_error(reserved).0, "rules[0].name");
    let empty_fallback = r#"{"rules": [], "fallback": " "}"#;
    assert_eq!(settings_error(empty_fallback).0, "fallback");
}

#[test]
fn at_most_a_thousand_rules_and_group_entries() {
    let always = || Condition::EmailDomain(Test::Present(true));
    let rule = |i| Rule { name: format!("r{i}"), organization: "o".into(), when: always() };
    let entry = |i| GroupRule { name: format!("g{i}"), group: "g".into(), when: always() };
    let mut settings =
        Settings { rules: (0..1000).map(rule).collect(), fallback: None, groups: (0..1000).map(entry).collect() };
    assert!(validate::settings(&settings).is_ok());
    settings.groups.push(entry(1000));
    assert_eq!(validate::settings(&settings).unwrap_err().path, "groups");
    settings.rules.push(rule(1000));
    let error = validate::settings(&settings).unwrap_err();
    assert_eq!(
        (error.path.as_str(), error.message.as_str()),
        ("rules", "holds 1001 entries; at most 1000 are allowed")
    );
}

#[test]
fn the_published_settings_schema_is_the_settings_types_schema() {
    muster_guest::schema::assert_published::<UserRulesPolicy>(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/settings.schema.json"
    ));
}
