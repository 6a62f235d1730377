use muster_guest::runtime;
use muster_guest::wire::{GroupRequest, GuestError, Outcome, Response, codec};

use super::*;

const SETTINGS: &str = r#"{
  "rules": [
    {"name": "emea", "pattern": "^sales-emea(-.*)?$", "organizations": ["acme-emea", "acme-sales"]},
    {"name": "sales", "pattern": "^sales-", "organizations": ["acme-sales"]},
    {"name": "core team", "pattern": "^team\\.core$", "organizations": ["acme-core"]}
  ]
}"#;

fn prepare(json: &str) -> Result<Vec<u8>, SettingsError> {
    let response: Response<Vec<u8>> =
        codec::decode(&runtime::prepare_settings::<GroupRulesPolicy>(json.as_bytes())).unwrap();
    response.result.map_err(|e| match e {
        GuestError::Settings(e) => e,
        other => panic!("unexpected error {other}"),
    })
}

fn decide(json: &str, groups: &[&str]) -> Response<GroupDecision> {
    let request = GroupRequest {
        context: Context::default(),
        settings: prepare(json).unwrap(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    };
    codec::decode(&runtime::group_rules::<GroupRulesPolicy>(&codec::encode(&request).unwrap())).unwrap()
}

#[test]
fn settings_travel_in_binary_form() {
    assert_eq!(prepare(SETTINGS).unwrap()[0], 0, "postcard, not the JSON fallback");
}

#[test]
fn first_matching_rule_marks_each_group() {
    let response = decide(SETTINGS, &["sales-emea-north", "sales-us", "team.core", "teamXcore"]);
    let groups = response.result.unwrap().groups;
    let marks: Vec<_> = groups.iter().map(|a| (a.group.as_str(), a.organizations.clone(), a.rule.as_deref())).collect();
    assert_eq!(
        marks,
        [
            ("sales-emea-north", vec!["acme-emea".to_owned(), "acme-sales".to_owned()], Some("emea")),
            ("sales-us", vec!["acme-sales".to_owned()], Some("sales")),
            ("team.core", vec!["acme-core".to_owned()], Some("core team")),
            ("teamXcore", vec![], None),
        ]
    );
    let first = &response.trace[0];
    assert_eq!(first.check, r#"group "sales-emea-north" matches regex "^sales-emea(-.*)?$""#);
    assert_eq!(first.outcome, Outcome::Matched);
    let last = response.trace.last().unwrap();
    assert!(last.rule.is_none() && last.check.contains("most recent member to log in"), "{last:?}");
}

#[test]
fn fallback_marks_unmatched_groups() {
    let with_fallback = SETTINGS.replacen(r#""rules""#, r#""fallback": ["acme-general"], "rules""#, 1);
    let groups = decide(&with_fallback, &["misc"]).result.unwrap().groups;
    assert_eq!(groups[0].organizations, ["acme-general"]);
    assert_eq!(groups[0].rule.as_deref(), Some("fallback"));
}

#[test]
fn invalid_documents_name_the_path() {
    let error = |json: &str| {
        let e = prepare(json).unwrap_err();
        (e.path, e.message)
    };
    let rule = |name: &str, organizations: &str| {
        format!(r#"{{"rules": [{{"name": "{name}", "pattern": "^a", "organizations": {organizations}}}]}}"#)
    };
    assert_eq!(error(&rule("", r#"["o"]"#)).0, "rules[0].name");
    assert_eq!(error(&rule("fallback", r#"["o"]"#)).0, "rules[0].name");
    assert_eq!(error(&rule("r", "[]")).0, "rules[0].organizations");
    assert_eq!(error(&rule("r", r#"["o", " "]"#)).0, "rules[0].organizations[1]");
    assert_eq!(error(&rule("r", r#"["o", "o"]"#)).0, "rules[0].organizations[1]");
    let (path, message) = error(r#"{"rules": [{"name": "r", "pattern": "(", "organizations": ["o"]}]}"#);
    assert_eq!(path, "rules[0].pattern");
    assert!(message.contains("invalid regex"), "{message}");
    assert_eq!(error(r#"{"rules": [], "fallback": []}"#).0, "fallback");
    assert_eq!(error(r#"{"rules": [], "fallback": ["a", ""]}"#).0, "fallback[1]");
    let duplicate = r#"{"rules": [{"name": "r", "pattern": "a", "organizations": ["o"]},
                                  {"name": "r", "pattern": "b", "organizations": ["o"]}]}"#;
    let (path, message) = error(duplicate);
    assert_eq!(path, "rules[1].name");
    assert!(message.contains("duplicate"), "{message}");
}

#[test]
fn at_most_a_thousand_rules() {
    let rule = |i| GroupRule {
        name: format!("r{i}"),
        pattern: muster_guest::Regex::new("^a").unwrap(),
        organizations: vec!["o".into()],
    };
    let mut settings = Settings { rules: (0..1000).map(rule).collect(), fallback: None };
    assert!(settings::validate(&settings).is_ok());
    settings.rules.push(rule(1000));
    assert_eq!(settings::validate(&settings).unwrap_err().path, "rules");
}

#[test]
fn the_published_settings_schema_is_the_settings_types_schema() {
    muster_guest::schema::assert_published::<GroupRulesPolicy>(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/settings.schema.json"
    ));
}
