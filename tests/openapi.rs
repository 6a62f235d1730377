//! The OpenAPI document, `docs/openapi.json`, kept honest against the real `muster serve` (on the
//! embedded SQLite store) and against `docs/api.md`:
//!
//! * the server serves it, byte for byte, at `GET /openapi.json`;
//! * every operation it documents is routed: asked without credentials, the server answers
//!   something other than 405 or the router's fallback 404, and a status the operation documents;
//! * it is self-contained: every `$ref` resolves within it, every component and security scheme
//!   is used, and the parameters of each path agree with its template;
//! * every route of the route table in `docs/api.md` is documented;
//! * every route of the router (`host/src/api/mod.rs` and the SCIM router it merges,
//!   `host/src/api/scim/mod.rs`), with each of its methods, is a documented operation.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

#[path = "support/db.rs"]
mod db;
#[path = "support/routes.rs"]
mod routes;
#[path = "support/server.rs"]
mod server;
mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use server::{Backend, Body, OPERATOR_TOKEN, TestServer};

/// Documented operations the router does not serve yet, as `(METHOD, path template)`: the route
/// probe skips them. An operation is documented when its route is agreed, so clients and the
/// implementation can work from the same description; remove it from this list when its route
/// lands (the probe says so).
const NOT_YET_ROUTED: &[(&str, &str)] = &[];

/// The message of the router's fallback for unknown routes (`host/src/api/mod.rs`).
const NO_SUCH_ROUTE: &str = "no such route";

/// The HTTP methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// `docs/openapi.json` as written.
fn document_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// `docs/openapi.json` parsed.
fn document() -> Value {
    serde_json::from_str(&document_text()).expect("docs/openapi.json is JSON")
}

/// Every operation of the document: `(METHOD, path template, operation)`.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let paths = document["paths"].as_object().expect("the document has paths");
    let mut found = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_uppercase(), path.clone(), operation.clone()));
            }
        }
    }
    assert!(!found.is_empty(), "docs/openapi.json documents no operation");
    found
}

#[test]
fn the_server_serves_the_document_as_written() {
    let server = TestServer::start(Backend::Sqlite, "openapi-served");
    let reply = server.call("GET", "/openapi.json", None, Body::None);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        reply.json,
        document(),
        "the served document is not docs/openapi.json (was the server built before the file last changed?)"
    );
    assert!(reply.text == document_text(), "the served document is docs/openapi.json, but not byte for byte");
}

/// A plausible id for each path parameter of the document.
fn dummy(parameter: &str) -> &'static str {
    match parameter {
        "tenant" => "acme",
        "realm" => "entra",
        "kind" => "user",
        "version" => "1",
        "key" => "k1",
        "organization" => "acme-sales",
        "user" => "u1",
        "decision" => "d1",
        "credential" => "sc_unknown",
        "id" => "2819c223",
        other => panic!("no dummy value for the path parameter {{{other}}}: add one to `dummy`"),
    }
}

/// `template` with each `{parameter}` replaced by its dummy value.
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(parameter) => dummy(parameter),
            None => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `responses` (an operation's) documents `status`, exactly, by its range (`4XX`) or by
/// `default`.
fn documents_status(responses: &Value, status: u16) -> bool {
    let range = format!("{}XX", status / 100);
    [status.to_string(), range, "default".into()].iter().any(|key| responses.get(key).is_some())
}

#[test]
fn every_documented_operation_is_routed_and_answers_a_documented_status() {
    let document = document();
    let operations = operations(&document);
    let documented: BTreeSet<(String, String)> =
        operations.iter().map(|(method, path, _)| (method.clone(), path.clone())).collect();
    for (method, path) in NOT_YET_ROUTED {
        assert!(
            documented.contains(&((*method).to_owned(), (*path).to_owned())),
            "NOT_YET_ROUTED lists {method} {path}, which docs/openapi.json does not document"
        );
    }

    let server = TestServer::start(Backend::Sqlite, "openapi-routes");
    let empty = json!({});
    let mut failures = Vec::new();
    let mut landed = Vec::new();
    for (method, template, operation) in &operations {
        let path = fill(template);
        let body = match method.as_str() {
            "POST" | "PUT" | "PATCH" => Body::Json(&empty),
            _ => Body::None,
        };
        let reply = server.call(method, &path, None, body);
        let error = &reply.json["error"];
        let routed = reply.status != 405
            && !(reply.status == 404 && error["code"] == "not_found" && error["message"] == NO_SUCH_ROUTE);
        if NOT_YET_ROUTED.contains(&(method.as_str(), template.as_str())) {
            if routed {
                landed.push(format!("{method} {template}"));
            }
            continue;
        }
        if !routed {
            failures.push(format!("{method} {path} ({template}) is not routed: {} {}", reply.status, reply.text));
        } else if !documents_status(&operation["responses"], reply.status) {
            failures.push(format!(
                "{method} {path} ({template}) answered {}, which it does not document: {}",
                reply.status, reply.text
            ));
        }
    }
    if !landed.is_empty() {
        eprintln!("routed now, so remove them from NOT_YET_ROUTED in tests/openapi.rs: {landed:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} documented operations:\n{}",
        failures.len(),
        operations.len(),
        failures.join("\n")
    );
}

/// Every `$ref` under `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// The object `reference` points to, if it is a `#/…` pointer into `document`.
fn resolve<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    document.pointer(reference.strip_prefix('#')?)
}

#[test]
fn every_reference_resolves_and_every_component_is_used() {
    let document = document();
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(!found.is_empty(), "docs/openapi.json has no $ref");
    let unresolved: Vec<&String> = found.iter().filter(|r| resolve(&document, r).is_none()).collect();
    assert!(unresolved.is_empty(), "references that do not resolve within docs/openapi.json: {unresolved:?}");

    let referenced: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    let components = document["components"].as_object().expect("the document has components");
    let mut unused = Vec::new();
    for section in ["schemas", "responses", "parameters", "requestBodies", "headers", "examples"] {
        for name in components.get(section).and_then(Value::as_object).into_iter().flat_map(|c| c.keys()) {
            let pointer = format!("#/components/{section}/{}", name.replace('~', "~0").replace('/', "~1"));
            if !referenced.contains(pointer.as_str()) {
                unused.push(pointer);
            }
        }
    }
    assert!(unused.is_empty(), "components nothing refers to: {unused:?}");

    let schemes: BTreeSet<&String> =
        document["components"]["securitySchemes"].as_object().expect("security schemes").keys().collect();
    let mut required = BTreeSet::new();
    let operations = operations(&document);
    for (method, path, operation) in &operations {
        let security = operation.get("security").or_else(|| document.get("security"));
        let security = security
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{method} {path} says nothing of credentials (`security`)"));
        for requirement in security {
            for scheme in requirement.as_object().expect("a security requirement is an object").keys() {
                assert!(schemes.contains(scheme), "{method} {path} requires the undefined security scheme {scheme}");
                required.insert(scheme);
            }
        }
    }
    let unrequired: Vec<_> = schemes.difference(&required).collect();
    assert!(unrequired.is_empty(), "security schemes no operation uses: {unrequired:?}");
}

#[test]
fn path_parameters_agree_with_path_templates() {
    let document = document();
    let mut operation_ids = BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(operation_ids.insert(id.to_owned()), "operationId {id} is used twice");

        let in_template: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        let parameters = operation.get("parameters").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let mut declared = BTreeSet::new();
        for parameter in parameters {
            let parameter = match parameter.get("$ref").and_then(Value::as_str) {
                Some(reference) => resolve(&document, reference)
                    .unwrap_or_else(|| panic!("{method} {path}: {reference} does not resolve")),
                None => parameter,
            };
            if parameter["in"] == "path" {
                assert_eq!(parameter["required"], true, "{method} {path}: path parameter {parameter} must be required");
                declared.insert(parameter["name"].as_str().expect("a parameter has a name"));
            }
        }
        assert_eq!(declared, in_template, "{method} {path}: declared path parameters differ from the template's");
    }
}

/// `(METHOD, path)` of each route in the route table of `docs/api.md`, as written there: a
/// path may start with `…` (any prefix) and name its parameters freely (`{t}`, `{user\|group}`);
/// query strings are dropped.
fn api_md_routes() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let mut rows = text.lines().skip_while(|line| !line.starts_with("| method and path |")).skip(2).peekable();
    assert!(rows.peek().is_some(), "docs/api.md has no route table (a table headed `| method and path |`)");
    let mut routes = Vec::new();
    for row in rows.take_while(|line| line.starts_with('|')) {
        let in_row: Vec<(String, String)> = first_cell(row)
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|code| {
                let (method, path) = code.split_once(' ')?;
                let known = ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method);
                known.then(|| (method.to_owned(), path.split('?').next().unwrap_or(path).to_owned()))
            })
            .collect();
        assert!(!in_row.is_empty(), "no `METHOD path` in the first cell of this row of docs/api.md: {row}");
        routes.extend(in_row);
    }
    routes
}

/// The first cell of a Markdown table row (`\|` is a pipe inside a cell).
fn first_cell(row: &str) -> &str {
    let cell = row.strip_prefix('|').unwrap_or(row);
    let mut escaped = false;
    for (i, c) in cell.char_indices() {
        match c {
            '|' if !escaped => return &cell[..i],
            _ => escaped = c == '\\',
        }
    }
    cell
}

/// The segments of a path, with every `{parameter}` as `{}`.
fn segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s.starts_with('{') && s.ends_with('}') { "{}" } else { s })
        .collect()
}

#[test]
fn every_route_of_the_api_guide_is_documented() {
    let document = document();
    let documented: Vec<(String, Vec<&str>)> = document["paths"]
        .as_object()
        .expect("the document has paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(|method| (method.to_uppercase(), segments(path)))
        })
        .collect();
    let routes = api_md_routes();
    let undocumented: Vec<String> = routes
        .iter()
        .filter(|(method, path)| {
            let (any_prefix, wanted) = match path.strip_prefix('…') {
                Some(rest) => (true, segments(rest)),
                None => (false, segments(path)),
            };
            !documented.iter().any(|(m, have)| {
                m == method
                    && if any_prefix { have.len() > wanted.len() && have.ends_with(&wanted) } else { *have == wanted }
            })
        })
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes of docs/api.md that docs/openapi.json does not document: {undocumented:?}"
    );
}

/// The SCIM router's catch-alls: the base URL itself (`discovery::base`) and every other path
/// under it (`no such SCIM endpoint`, `discovery::no_such_endpoint`) answer a SCIM 404, whatever
/// the method (docs/scim.md). They are the SCIM counterpart of the main router's fallback, not
/// operations, so the document leaves them out.
const SCIM_CATCH_ALLS: [(&str, &str); 2] =
    [("ANY", "/scim/{tenant}/{realm}/v2"), ("ANY", "/scim/{tenant}/{realm}/v2/{*rest}")];

#[test]
fn every_route_of_the_router_is_documented() {
    let document = document();
    let documented: BTreeSet<(String, String)> =
        operations(&document).into_iter().map(|(method, path, _)| (method, path)).collect();

    let mut served = routes::routes_of("src/api/mod.rs");
    // Merged into the main router: its `{base}` is `/scim/{tenant}/{realm}/v2`, and it also routes
    // the OAuth2 token endpoint outside the base.
    let scim = routes::routes_of("src/api/scim/mod.rs");
    let token = ("POST".to_owned(), "/scim/{tenant}/{realm}/oauth/token".to_owned());
    assert!(
        scim.contains(&token),
        "the SCIM router no longer routes {token:?}, or this reader no longer finds it: {scim:?}"
    );
    let catch_alls: Vec<(String, String)> =
        SCIM_CATCH_ALLS.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
    for catch_all in &catch_alls {
        assert!(
            scim.contains(catch_all),
            "the SCIM router no longer has its catch-all {catch_all:?}: update SCIM_CATCH_ALLS"
        );
    }
    served.extend(scim.into_iter().filter(|route| !catch_alls.contains(route)));

    let undocumented: Vec<String> =
        served.difference(&documented).map(|(method, path)| format!("{method} {path}")).collect();
    assert!(
        undocumented.is_empty(),
        "routes of host/src/api/mod.rs and host/src/api/scim/mod.rs that docs/openapi.json does not document: {undocumented:?}"
    );
}

/// What `docs/openapi.json` says of request bodies and query strings, the server holds to (the
/// disagreements schemathesis found, each asked once here; `scripts/api-contract` runs
/// schemathesis itself on every operation):
///
/// * an object is an object: the fields of a struct as a JSON array are refused, at the top
///   and nested;
/// * a number with a zero fraction is the integer it equals (JSON Schema's `integer`);
/// * a required field is required, even one that may be `null`;
/// * an enum is closed, in a query string too;
/// * and the shapes that stay allowed are answered as before.
#[test]
fn the_server_holds_requests_to_the_document() {
    let server = TestServer::start(Backend::Sqlite, "openapi-requests");
    let created = server.call(
        "POST",
        "/v1/tenants",
        Some(OPERATOR_TOKEN),
        Body::Json(&json!({"id": "contract", "name": "Contract"})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let admin = created.json["token"].as_str().expect("a token").to_owned();
    let admin = Some(admin.as_str());
    let realm = server.call(
        "POST",
        "/v1/tenants/contract/realms",
        admin,
        Body::Json(&json!({"id": "entra", "name": "Entra ID"})),
    );
    assert_eq!(realm.status, 201, "{}", realm.text);

    let refused = |method: &str, path: &str, body: Body<'_>, status: u16| {
        let reply = server.call(method, path, admin, body);
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text);
        assert!(
            reply.json["error"]["message"].is_string(),
            "{method} {path}: not the JSON error shape: {}",
            reply.text
        );
    };
    // Arrays are not objects.
    refused("POST", "/v1/tenants/contract/keys", Body::Json(&json!(["evaluation", "by position"])), 422);
    refused("PUT", "/v1/tenants/contract/retention", Body::Json(&json!([30])), 422);
    refused("POST", "/v1/tenants/contract/realms/entra/dry-run", Body::Json(&json!({"user": ["ada@acme.com"]})), 422);
    // Required, though nullable.
    refused("PUT", "/v1/tenants/contract/retention", Body::Json(&json!({})), 422);
    // A closed enum in the query string.
    refused("GET", "/v1/tenants/contract/decisions?trigger=lunch", Body::None, 400);

    let accepted = |method: &str, path: &str, body: &Value| {
        let reply = server.call(method, path, admin, Body::Json(body));
        assert_eq!(reply.status, 200, "{method} {path} {body}: {}", reply.text);
        reply.json
    };
    // Integer-valued numbers are integers.
    let tenant = accepted("PUT", "/v1/tenants/contract/retention", &json!({"decision_retention_days": 30.0}));
    assert_eq!(tenant["decision_retention_days"], 30, "{tenant}");
    let tenant = accepted("PUT", "/v1/tenants/contract/retention", &json!({"decision_retention_days": null}));
    assert_eq!(tenant["decision_retention_days"], Value::Null, "{tenant}");
    let page = server.call("GET", "/v1/tenants/contract/decisions?trigger=scim_create", admin, Body::None);
    assert_eq!(page.status, 200, "{}", page.text);
    let dry_run = accepted(
        "POST",
        "/v1/tenants/contract/realms/entra/dry-run",
        &json!({"user": {"user_name": "ada@acme.com"}, "user_rules_version": null}),
    );
    assert!(dry_run.is_object(), "{dry_run}");
}
