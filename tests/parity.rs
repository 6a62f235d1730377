//! What you test is what runs: the test panel, the impact preview and replay answer exactly what
//! the live paths (a login, a SCIM event) decided and applied, on SQLite and PostgreSQL.
//!
//! Each scenario brings one user into the fixture's realm through the live paths, then takes the
//! latest applied decision about that user from the decisions API and checks that
//!
//! * the dry run of the stored user on the active versions (`POST …/users/{user}/dry-run`)
//!   answers its organization, matched rule, rule-based groups and provider-group organizations;
//! * the impact preview of a candidate that differs from the active user rules only by a group
//!   every user gets lists the user with an `active` side equal to the live decision;
//! * replaying the live decision record answers `identical`, with the recorded output.
//!
//! The users: one provisioned by SCIM only (the enterprise `department` decides, a SCIM group is
//! a provider group), one created by a login only (claims), one provisioned by SCIM and then
//! logging in with claims on top, and one created by a login and then updated by SCIM.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/server.rs"]
mod server;
mod support;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use fixture::*;
use serde_json::{Value, json};
use server::{Backend, Body, Client, TestServer};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The group the impact-preview candidate gives every user (and nothing else differs).
const PROBE_GROUP: &str = "parity-probe";

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $scenario() { super::run(super::Backend::Sqlite, stringify!($scenario), super::$scenario) })*
        }
        mod postgres {
            $(#[test] fn $scenario() { super::run(super::Backend::Postgres, stringify!($scenario), super::$scenario) })*
        }
    };
}

on_both_stores!(
    scim_provisioned_user_is_previewed_as_scim_decided,
    login_created_user_is_previewed_as_the_login_decided,
    scim_provisioned_user_who_logs_in_is_previewed_as_the_login_decided,
    login_created_user_updated_by_scim_is_previewed_as_scim_decided,
);

fn run(backend: Backend, label: &str, scenario: fn(&TestServer)) {
    let server = TestServer::start(backend, label);
    scenario(&server);
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

/// Grace is provisioned by SCIM only: her enterprise `department` (Engineering) gives her
/// acme-engineering, her SCIM `title` the `all-managers` group, and the SCIM group she is put
/// in (no group rule) is marked with her organization.
fn scim_provisioned_user_is_previewed_as_scim_decided(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let scim = Scim::connect(&fx);
    let created = scim.call("POST", "/Users", Some(&scim_user("grace@acme.com", "entra-grace", "Engineering")));
    assert_eq!(created.status, 201, "{}", created.text);
    let grace = created.json["id"].as_str().unwrap().to_owned();
    let group = scim.call(
        "POST",
        "/Groups",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "platform-team", "members": [{"value": grace}],
        })),
    );
    assert_eq!(group.status, 201, "{}", group.text);

    let live = latest_decision(&fx, &grace);
    assert_eq!(live.trigger, "scim_group_change", "the group membership re-decided Grace");
    assert_eq!(
        live.decided,
        Decided::new(
            Some("acme-engineering"),
            Some("engineering"),
            &["all-managers"],
            &[("platform-team", &["acme-engineering"])]
        ),
        "the live SCIM path decided by the SCIM department (decision {})",
        live.id
    );
    assert_parity(&fx, &grace, &live);
}

/// Linus is created by a login: everything the rules see comes from the claims.
fn login_created_user_is_previewed_as_the_login_decided(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let (status, login) = fx.login(&json!({
        "provider_user_id": "entra-linus",
        "user_name": "linus@acme.com",
        "email": "linus@acme.com",
        "attributes": {"department": ["Engineering"], "title": ["Engineering Manager"]},
        "provider_groups": ["platform-team"],
    }));
    assert_eq!(status, 200, "{login}");
    let linus = login["user_id"].as_str().unwrap().to_owned();

    let live = latest_decision(&fx, &linus);
    assert_eq!((live.trigger.as_str(), Some(live.id.as_str())), ("login", login["decision_id"].as_str()));
    assert_eq!(
        live.decided,
        Decided::new(
            Some("acme-engineering"),
            Some("engineering"),
            &["all-managers"],
            &[("platform-team", &["acme-engineering"])]
        ),
        "the live login decided by the claims (decision {})",
        live.id
    );
    assert_eq!(marks(&login["provider_groups"]), live.decided.provider_groups, "the login answered its marks");
    assert_parity(&fx, &linus, &live);
}

/// Ada is provisioned by SCIM (department Sales, title Account Executive, in the SCIM group
/// `sales-emea`), then logs in with claims that override her title and report her provider
/// groups: the rules see the SCIM department with the login's title and groups on top.
fn scim_provisioned_user_who_logs_in_is_previewed_as_the_login_decided(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let scim = Scim::connect(&fx);
    let mut body = scim_user("ada@acme.com", "entra-ada", "Sales");
    body["title"] = json!("Account Executive");
    let created = scim.call("POST", "/Users", Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    let ada = created.json["id"].as_str().unwrap().to_owned();
    let group = scim.call(
        "POST",
        "/Groups",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "sales-emea", "members": [{"value": ada}],
        })),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let (status, login) = fx.login(&json!({
        "provider_user_id": "entra-ada",
        "user_name": "ada@acme.com",
        "attributes": {"title": ["Regional Sales Manager"]},
        "provider_groups": ["sales-emea", "everyone"],
    }));
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user_id"], ada.as_str(), "the login found the provisioned user: {login}");

    let live = latest_decision(&fx, &ada);
    assert_eq!((live.trigger.as_str(), Some(live.id.as_str())), ("login", login["decision_id"].as_str()));
    assert_eq!(
        live.decided,
        Decided::new(
            Some("acme-sales"),
            Some("sales"),
            &["all-managers"],
            &[("everyone", &["acme-sales"]), ("sales-emea", &["acme-sales"])]
        ),
        "the live login decided by the SCIM department and the login's title (decision {})",
        live.id
    );
    assert_eq!(marks(&login["provider_groups"]), live.decided.provider_groups, "the login answered its marks");
    assert_parity(&fx, &ada, &live);
}

/// Lin is created by a login whose claims have no department (blocked), then SCIM adds her
/// enterprise department: the update decides with the SCIM department and the login's title
/// and provider groups.
fn login_created_user_updated_by_scim_is_previewed_as_scim_decided(server: &TestServer) {
    let fx = Fixture::new(server, "acme");
    let scim = Scim::connect(&fx);
    let (status, login) = fx.login(&json!({
        "provider_user_id": "entra-lin",
        "user_name": "lin@acme.com",
        "email": "lin@acme.com",
        "attributes": {"title": ["Platform Manager"]},
        "provider_groups": ["everyone"],
    }));
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["blocked"], true, "no department yet: {login}");
    let lin = login["user_id"].as_str().unwrap().to_owned();
    let updated = scim.call(
        "PATCH",
        &format!("/Users/{lin}"),
        Some(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "value": {format!("{ENTERPRISE}:department"): "Engineering"}}],
        })),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json[ENTERPRISE]["department"], "Engineering", "{}", updated.text);

    let live = latest_decision(&fx, &lin);
    assert_eq!(live.trigger, "scim_update", "the SCIM update re-decided Lin");
    assert_eq!(
        live.decided,
        Decided::new(
            Some("acme-engineering"),
            Some("engineering"),
            &["all-managers"],
            &[("everyone", &["acme-engineering"])]
        ),
        "the live SCIM update decided by the SCIM department and the login's title (decision {})",
        live.id
    );
    assert_parity(&fx, &lin, &live);
}

// ---------------------------------------------------------------------------------------------
// The parity checks.

/// What a decision does to a user, in the terms every answer can be compared in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decided {
    organization: Option<String>,
    /// The rule that decided the organization (`None` where the answer does not say: impact).
    rule: Option<String>,
    /// Rule-based groups, sorted.
    groups: Vec<String>,
    /// Provider groups with the organizations they are marked with, sorted by name.
    provider_groups: Vec<(String, Vec<String>)>,
}

impl Decided {
    fn new(organization: Option<&str>, rule: Option<&str>, groups: &[&str], marks: &[(&str, &[&str])]) -> Decided {
        let mut decided = Decided {
            organization: organization.map(str::to_owned),
            rule: rule.map(str::to_owned),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            provider_groups: marks
                .iter()
                .map(|(name, orgs)| ((*name).to_owned(), orgs.iter().map(|o| (*o).to_owned()).collect()))
                .collect(),
        };
        decided.normalize();
        decided
    }

    /// From a decision output `{"user": {organization, rule, groups}, "groups": [assignments]}`,
    /// marking each provider group as the live path does: its rules' organizations, or the
    /// user's organization when the rules gave it none.
    fn of_output(output: &Value) -> Decided {
        let organization = text(&output["user"]["organization"]);
        let provider_groups = output["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("no provider-group assignments in {output}"))
            .iter()
            .map(|assignment| {
                let mut orgs = strings(&assignment["organizations"]);
                if orgs.is_empty() {
                    orgs.extend(organization.clone());
                }
                (assignment["group"].as_str().unwrap().to_owned(), orgs)
            })
            .collect();
        let mut decided = Decided {
            organization,
            rule: text(&output["user"]["rule"]),
            groups: strings(&output["user"]["groups"]),
            provider_groups,
        };
        decided.normalize();
        decided
    }

    /// From an impact preview's side `{organization, groups, provider_groups}` (no rule).
    fn of_side(side: &Value) -> Decided {
        let mut decided = Decided {
            organization: text(&side["organization"]),
            rule: None,
            groups: strings(&side["groups"]),
            provider_groups: marks(&side["provider_groups"]),
        };
        decided.normalize();
        decided
    }

    fn without_rule(&self) -> Decided {
        Decided { rule: None, ..self.clone() }
    }

    fn normalize(&mut self) {
        self.groups.sort();
        for (_, orgs) in &mut self.provider_groups {
            orgs.sort();
        }
        self.provider_groups.sort();
    }
}

/// The latest applied live decision about a user.
struct Live {
    id: String,
    trigger: String,
    user_rules_version: Value,
    group_rules_version: Value,
    /// The recorded output, as stored.
    output: Value,
    decided: Decided,
}

fn latest_decision(fx: &Fixture, user: &str) -> Live {
    let path = format!("/v1/tenants/{}/decisions?realm={REALM}&user={user}&applied=true&shadow=false", fx.tenant.id);
    let (status, list) = fx.server.get(&path, fx.admin());
    assert_eq!(status, 200, "{list}");
    let record = list["decisions"].as_array().unwrap().first().unwrap_or_else(|| panic!("no decision: {list}"));
    assert_eq!(record["user_id"], user, "{record}");
    let output = record["output"].clone();
    Live {
        id: record["id"].as_str().unwrap().to_owned(),
        trigger: record["trigger"].as_str().unwrap().to_owned(),
        user_rules_version: record["user_rules_version"].clone(),
        group_rules_version: record["group_rules_version"].clone(),
        decided: Decided::of_output(&output),
        output,
    }
}

/// Dry run, impact preview and replay of the user against the live decision; every
/// disagreement is reported, naming the trigger of the live decision.
fn assert_parity(fx: &Fixture, user: &str, live: &Live) {
    let mut report = Disagreements { live, user, found: Vec::new() };

    // (a) The test panel: a dry run of the stored user on the active versions.
    let (status, dry) = fx.server.post_empty(&format!("{}/users/{user}/dry-run", fx.realm_path()), fx.admin());
    assert_eq!(status, 200, "{dry}");
    let evaluation = &dry["evaluation"];
    let dry_output = json!({"user": evaluation["user"], "groups": evaluation["groups"]["groups"]});
    let dry_decided = Decided { provider_groups: marks(&dry["provider_groups"]), ..Decided::of_output(&dry_output) };
    report.check("the dry run (organization, rule, groups, provider-group marks)", &dry_decided, &live.decided);
    let dry_blocked = dry["blocked"].as_bool();
    let live_blocked = Some(live.decided.organization.is_none());
    report.check("the dry run's `blocked`", &dry_blocked, &live_blocked);
    let dry_versions =
        (evaluation["user"]["module"]["version"].clone(), evaluation["groups"]["module"]["version"].clone());
    let live_versions = (live.user_rules_version.clone(), live.group_rules_version.clone());
    report.check("the dry run's module versions", &dry_versions, &live_versions);

    // (b) The impact preview of a candidate that differs from the active user rules only by a
    // group every user gets: the user is listed, and the `active` side is the live decision.
    let candidate = fx.upload("user", "user_rules", &user_rules_with_probe(), "the active rules and a probe group");
    let version = candidate["version"].as_i64().unwrap();
    match impact_change(fx, version, user) {
        None => report.check("the impact preview's list of changed users", &"the user is not listed", &"listed"),
        Some(change) => {
            let active = Decided::of_side(&change["active"]);
            let expected = live.decided.without_rule();
            report.check("the impact preview's `active` side", &active, &expected);
            let mut probed = expected.clone();
            probed.groups.push(PROBE_GROUP.to_owned());
            probed.normalize();
            let after = Decided::of_side(&change["candidate"]);
            report.check("the impact preview's `candidate` side (live + probe group)", &after, &probed);
        }
    }

    // (c) Replay of the live decision record on its recorded versions.
    let (status, replay) =
        fx.server.post_empty(&format!("/v1/tenants/{}/decisions/{}/replay", fx.tenant.id, live.id), fx.admin());
    assert_eq!(status, 200, "{replay}");
    let identical = (replay["identical"].as_bool(), replay["output_identical"].as_bool());
    report.check("the replay's `identical`, `output_identical`", &identical, &(Some(true), Some(true)));
    let recorded = &replay["recorded"]["output"];
    report.check("the replay's recorded output", recorded, &live.output);
    let replayed = Decided::of_output(&replay["replayed"]["output"]);
    report.check("the replay (organization, rule, groups, provider-group marks)", &replayed, &live.decided);

    assert!(
        report.found.is_empty(),
        "what you test is not what runs ({} disagreement(s)):\n{}",
        report.found.len(),
        report.found.join("\n")
    );
}

/// The disagreements of the previews with one live decision, collected so that one run shows
/// every answer that differs.
struct Disagreements<'a> {
    live: &'a Live,
    user: &'a str,
    found: Vec<String>,
}

impl Disagreements<'_> {
    fn check<T: PartialEq + std::fmt::Debug + ?Sized>(&mut self, what: &str, answered: &T, live: &T) {
        if answered != live {
            self.found.push(format!(
                "{what} disagrees with the live `{}` decision {} about user {}:\n    answered: {answered:?}\n    \
                 live:     {live:?}",
                self.live.trigger, self.live.id, self.user
            ));
        }
    }
}

/// The impact preview's change entry for `user` under user-rules `version`, reading every page.
fn impact_change(fx: &Fixture, version: i64, user: &str) -> Option<Value> {
    let path = format!("{}/modules/user/versions/{version}/impact", fx.realm_path());
    let mut after: Option<String> = None;
    loop {
        let body = match &after {
            Some(after) => json!({"after": after}),
            None => json!({}),
        };
        let (status, page) = fx.server.post(&path, fx.admin(), &body);
        assert_eq!(status, 200, "{page}");
        let found = page["changes"].as_array().unwrap().iter().find(|c| c["user_id"] == user).cloned();
        if found.is_some() {
            return found;
        }
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return None,
        }
    }
}

/// The fixture's active user rules with one more group entry that matches every user.
fn user_rules_with_probe() -> Value {
    let mut settings = user_rules_v1();
    settings["groups"].as_array_mut().unwrap().push(json!({
        "name": "parity probe", "group": PROBE_GROUP,
        "when": {"attribute": {"name": "parity-probe-never-set", "present": false}},
    }));
    settings
}

/// `[{"name", "organizations"}]` as sorted pairs.
fn marks(value: &Value) -> Vec<(String, Vec<String>)> {
    let mut marks: Vec<(String, Vec<String>)> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list of provider-group marks: {value}"))
        .iter()
        .map(|mark| {
            let mut orgs = strings(&mark["organizations"]);
            orgs.sort();
            (mark["name"].as_str().unwrap().to_owned(), orgs)
        })
        .collect();
    marks.sort();
    marks
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|items| items.iter().map(|v| v.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// A SCIM client of the fixture's realm.

struct Scim {
    server: Client,
    base: String,
    token: String,
}

impl Scim {
    /// New SCIM client credentials, and an access token from the token endpoint.
    fn connect(fx: &Fixture) -> Scim {
        let (status, credential) =
            fx.server.post(&format!("{}/scim/credentials", fx.realm_path()), fx.admin(), &json!({"label": "Entra ID"}));
        assert_eq!(status, 201, "{credential}");
        let basic = STANDARD.encode(format!(
            "{}:{}",
            credential["client_id"].as_str().unwrap(),
            credential["client_secret"].as_str().unwrap()
        ));
        let reply = fx.server.call_with_headers(
            "POST",
            &format!("/scim/{}/{REALM}/oauth/token", fx.tenant.id),
            &[("authorization", format!("Basic {basic}").as_str())],
            Body::Raw(b"grant_type=client_credentials", Some("application/x-www-form-urlencoded")),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
        Scim {
            server: fx.server.clone(),
            base: format!("/scim/{}/{REALM}/v2", fx.tenant.id),
            token: reply.json["access_token"].as_str().unwrap().to_owned(),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> server::Reply {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        let auth = format!("Bearer {}", self.token);
        let body = match &bytes {
            Some(bytes) => Body::Raw(bytes, Some("application/scim+json")),
            None => Body::None,
        };
        self.server.call_with_headers(
            method,
            &format!("{}{path}", self.base),
            &[("authorization", auth.as_str())],
            body,
        )
    }
}

/// A SCIM user with a manager's title and the enterprise `department`.
fn scim_user(user_name: &str, external_id: &str, department: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "externalId": external_id,
        "active": true,
        "displayName": user_name,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "title": format!("{department} Manager"),
        ENTERPRISE: {"department": department},
    })
}
