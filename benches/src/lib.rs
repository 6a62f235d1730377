//! Workloads shared by Muster's engine benchmarks (`benches/benches/*.rs`), which measure the
//! engine targets in the README's Benchmarks section.
//!
//! * [`settings_json`]: settings of the stock **user-rules** policy with 20 realistic rules
//!   (attribute `equals` / `in` / `regex` / `equals_ignore_case` / `present`, provider-group
//!   `in` / `regex`, e-mail domain, `all` / `any` / `not`), a fallback and three rule-based
//!   groups. The user of [`user`] is decided by rule 15 (`platform-engineering`), so rules
//!   1–14 are all evaluated (and fail) first, and every group entry is evaluated.
//! * [`user`]: a realistic user, 20 attributes and 50 provider groups.
//! * [`REGO_POLICY`]: the same rules, fallback and groups written as a Rego policy
//!   (`benches/rego/user_rules.rego`; an `else` chain keeps first-match-wins), for `regorus`.
//! * [`Workload`]: the built `user_rules.wasm` loaded in an engine with those settings prepared,
//!   plus the natively compiled policy on the same settings and request.
//! * [`minimal_module_wat`]: the smallest module the contract accepts, for the bare cost of a
//!   fresh instance.
//!
//! Every bench checks, before measuring, that the contenders it compares decide alike.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::atomic::{AtomicU64, Ordering},
};

use muster_engine::{Engine, EngineConfig, PreparedSettings, RuleModule};
use muster_wire::{Context, GuestError, Response, Trigger, User, UserDecision, codec};
use serde_json::json;

/// The natively compiled policy the wasm module is built from.
pub type Policy = user_rules::UserRulesPolicy;

/// The organization and rule [`user`] is expected to get from [`settings_json`].
pub const EXPECTED_ORGANIZATION: &str = "acme-engineering";
/// The rule expected to decide [`user`] (the 15th of 20).
pub const EXPECTED_RULE: &str = "platform-engineering";
/// The rule-based groups [`user`] is expected to get, in the order of the group entries.
pub const EXPECTED_GROUPS: [&str; 3] = ["all-managers", "emea-staff", "vpn-full"];

/// The Rego equivalent of [`settings_json`], for `regorus`.
pub const REGO_POLICY: &str = include_str!("../rego/user_rules.rego");
/// The rule of [`REGO_POLICY`] that holds the decision (`{"organization", "rule", "groups"}`).
pub const REGO_DECISION_RULE: &str = "data.muster.user_rules.decision";

/// Settings of the user-rules policy: 20 rules, a fallback and 3 rule-based groups.
///
/// Rule 15 decides [`user`]; rules 1–14 fail on it, most after looking at several values
/// (attribute lists, all 50 provider groups for the group tests, regexes run on the host).
pub fn settings_json() -> String {
    json!({
        "rules": [
            {"name": "executives", "organization": "acme-exec",
             "when": {"attribute": {"name": "title", "regex": "(?i)^(chief|vp|vice president)\\b"}}},
            {"name": "board", "organization": "acme-board",
             "when": {"provider_group": {"in": ["board-members", "board-observers"]}}},
            {"name": "contractors", "organization": "acme-contractors",
             "when": {"attribute": {"name": "employeeType", "in": ["Contractor", "Vendor", "Temp"]}}},
            {"name": "interns", "organization": "acme-interns",
             "when": {"all": [
                 {"attribute": {"name": "employeeType", "equals": "Intern"}},
                 {"email_domain": {"equals": "acme.com"}}]}},
            {"name": "globex", "organization": "globex",
             "when": {"email_domain": {"in": ["globex.com", "globex.co.uk"]}}},
            {"name": "initech", "organization": "initech",
             "when": {"email_domain": {"regex": "(^|\\.)initech\\.(com|io)$"}}},
            {"name": "sales-emea", "organization": "acme-sales-emea",
             "when": {"all": [
                 {"attribute": {"name": "department", "equals": "Sales"}},
                 {"attribute": {"name": "region", "equals": "EMEA"}}]}},
            {"name": "sales-apac", "organization": "acme-sales-apac",
             "when": {"all": [
                 {"provider_group": {"regex": "^sales-apac"}},
                 {"attribute": {"name": "department", "equals": "Sales"}}]}},
            {"name": "sales-amer", "organization": "acme-sales-amer",
             "when": {"all": [
                 {"attribute": {"name": "department", "equals": "Sales"}},
                 {"any": [
                     {"attribute": {"name": "region", "equals": "AMER"}},
                     {"attribute": {"name": "country", "in": ["US", "CA", "MX", "BR"]}}]}]}},
            {"name": "support", "organization": "acme-support",
             "when": {"provider_group": {"regex": "^support-l[123]$"}}},
            {"name": "finance", "organization": "acme-finance",
             "when": {"any": [
                 {"attribute": {"name": "department", "in": ["Finance", "Accounting", "Treasury"]}},
                 {"provider_group": {"equals": "finance-all"}}]}},
            {"name": "legal", "organization": "acme-legal",
             "when": {"attribute": {"name": "costCenter", "regex": "^CC-7[0-9]{3}$"}}},
            {"name": "research", "organization": "acme-research",
             "when": {"all": [
                 {"attribute": {"name": "division", "equals": "Research"}},
                 {"not": {"attribute": {"name": "clearance", "equals": "none"}}}]}},
            {"name": "security", "organization": "acme-security",
             "when": {"all": [
                 {"provider_group": {"in": ["secops", "red-team", "blue-team"]}},
                 {"attribute": {"name": "clearance", "present": true}}]}},
            {"name": "platform-engineering", "organization": "acme-engineering",
             "when": {"all": [
                 {"attribute": {"name": "department", "equals": "Engineering"}},
                 {"provider_group": {"regex": "^eng-(platform|infra)(-|$)"}},
                 {"not": {"attribute": {"name": "employeeType", "equals": "Contractor"}}}]}},
            {"name": "engineering-other", "organization": "acme-engineering-misc",
             "when": {"attribute": {"name": "department", "equals": "Engineering"}}},
            {"name": "it", "organization": "acme-it",
             "when": {"provider_group": {"in": ["it-helpdesk", "it-admins"]}}},
            {"name": "people", "organization": "acme-people",
             "when": {"attribute": {"name": "department", "equals_ignore_case": "human resources"}}},
            {"name": "marketing", "organization": "acme-marketing",
             "when": {"attribute": {"name": "department", "in": ["Marketing", "Communications"]}}},
            {"name": "staff", "organization": "acme",
             "when": {"email_domain": {"equals": "acme.com"}}}
        ],
        "fallback": "acme-general",
        "groups": [
            {"name": "managers", "group": "all-managers",
             "when": {"attribute": {"name": "title", "regex": "(?i)manager|lead|head of"}}},
            {"name": "emea", "group": "emea-staff",
             "when": {"any": [
                 {"attribute": {"name": "region", "equals": "EMEA"}},
                 {"attribute": {"name": "country", "in": ["DE", "FR", "GB", "NL", "ES", "IT", "SE"]}}]}},
            {"name": "vpn", "group": "vpn-full",
             "when": {"all": [
                 {"provider_group": {"equals": "vpn-users"}},
                 {"not": {"attribute": {"name": "employeeType", "equals": "Contractor"}}}]}}
        ]
    })
    .to_string()
}

/// A realistic user: an engineering manager with 20 attributes and 50 provider groups. The
/// provider group rule 15 looks for (`eng-platform-core`) is the 41st, so group tests scan most
/// of the list.
pub fn user() -> User {
    let attributes = [
        ("department", &["Engineering"][..]),
        ("title", &["Engineering Manager"]),
        ("employeeType", &["Employee"]),
        ("employeeNumber", &["E-104729"]),
        ("costCenter", &["CC-4410"]),
        ("division", &["Technology"]),
        ("businessUnit", &["Platform"]),
        ("company", &["Acme Corporation"]),
        ("country", &["DE"]),
        ("region", &["EMEA"]),
        ("city", &["Berlin"]),
        ("office", &["BER-2"]),
        ("manager", &["grace.hopper@acme.com"]),
        ("locale", &["de-DE", "en-GB"]),
        ("preferredLanguage", &["en"]),
        ("jobFamily", &["Software Engineering"]),
        ("level", &["M2"]),
        ("team", &["Platform Runtime", "Developer Experience"]),
        ("hireYear", &["2019"]),
        ("clearance", &["internal"]),
    ];
    let attributes: BTreeMap<String, Vec<String>> = attributes
        .iter()
        .map(|(name, values)| (name.to_string(), values.iter().map(|v| v.to_string()).collect()))
        .collect();
    assert_eq!(attributes.len(), 20);

    let mut provider_groups: Vec<String> = [
        "all-staff",
        "all-employees",
        "emea-all",
        "berlin-office",
        "vpn-users",
        "wifi-corp",
        "github-users",
        "jira-users",
        "confluence-users",
        "slack-users",
        "zoom-users",
        "google-workspace",
        "okta-mfa",
        "laptop-macos",
        "expense-submitters",
        "travel-booking",
    ]
    .iter()
    .map(|g| g.to_string())
    .collect();
    for i in 1..=24 {
        provider_groups.push(format!("app-{:02}-users", i));
    }
    provider_groups.push("eng-platform-core".into());
    for team in [
        "eng-all",
        "eng-managers",
        "eng-oncall",
        "eng-runtime",
        "eng-devex",
        "arch-review",
        "hiring-panel",
        "mentors",
        "book-club",
    ] {
        provider_groups.push(team.into());
    }
    assert_eq!(provider_groups.len(), 50);

    User {
        user_name: "ada.lovelace@acme.com".into(),
        external_id: Some("00u1a2b3c4d5e6f7g8h9".into()),
        email: Some("Ada.Lovelace@Acme.com".into()),
        attributes,
        provider_groups,
        internal_groups: vec!["engineering-leads".into()],
    }
}

/// The context of every evaluation: a login through an Okta realm.
pub fn context() -> Context {
    Context { realm: "okta".into(), trigger: Trigger::Login }
}

/// [`user`] as the Rego policy's input: the wire type's JSON form.
pub fn rego_input(user: &User) -> regorus::Value {
    regorus::Value::from(serde_json::to_value(user).expect("a user is JSON"))
}

/// A `regorus` engine with [`REGO_POLICY`] and its data added, ready for `set_input` and
/// `eval_rule(REGO_DECISION_RULE)`.
pub fn rego_engine() -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine.add_policy("user_rules.rego".into(), REGO_POLICY.into()).expect("the Rego policy parses");
    let data = json!({"muster": {"config": {"fallback": "acme-general"}}});
    engine.add_data(regorus::Value::from(data)).expect("data is accepted");
    engine
}

/// Evaluates the Rego decision for `input` on a prepared engine and returns it as JSON.
pub fn rego_decide(engine: &mut regorus::Engine, input: &regorus::Value) -> serde_json::Value {
    engine.set_input(input.clone());
    let decision = engine.eval_rule(REGO_DECISION_RULE.into()).expect("the Rego decision evaluates");
    serde_json::from_str(&decision.to_json_str().expect("a decision is JSON")).expect("a decision is JSON")
}

/// The Rego policy compiled for regorus's register VM (RVM, regorus ≥ 0.14): a `RegoVM` with
/// the program and data loaded, ready for `set_input` and `execute` (which yields the decision).
pub fn rego_vm() -> regorus::rvm::vm::RegoVM {
    let mut engine = rego_engine();
    let entry: regorus::Rc<str> = REGO_DECISION_RULE.into();
    let compiled = engine.compile_with_entrypoint(&entry).expect("the Rego policy compiles");
    let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(&compiled, &[REGO_DECISION_RULE])
        .expect("the Rego policy compiles to an RVM program");
    let mut vm = regorus::rvm::vm::RegoVM::new();
    vm.load_program(program);
    vm.set_data(regorus::Value::from(json!({"muster": {"config": {"fallback": "acme-general"}}}))).expect("data");
    vm
}

/// Evaluates the Rego decision for `input` on a prepared RVM and returns it as JSON.
pub fn rego_vm_decide(vm: &mut regorus::rvm::vm::RegoVM, input: &regorus::Value) -> serde_json::Value {
    vm.set_input(input.clone());
    let decision = vm.execute().expect("the Rego decision evaluates on the RVM");
    serde_json::from_str(&decision.to_json_str().expect("a decision is JSON")).expect("a decision is JSON")
}

/// Path of the built `user_rules.wasm`; panics with the command to run when it is missing.
pub fn user_rules_wasm_path() -> PathBuf {
    let path = muster_harness::subject::built_artifact("user_rules");
    if !path.exists() {
        panic!("{} does not exist: build it first with `scripts/build-policies user-rules`", path.display());
    }
    path
}

/// The bytes of the built `user_rules.wasm` (see [`user_rules_wasm_path`]).
pub fn user_rules_wasm() -> Vec<u8> {
    let path = user_rules_wasm_path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The 20-rule workload, ready to evaluate in the sandbox and natively.
pub struct Workload {
    /// The engine the module was loaded into (kept alive for the module's sake).
    pub engine: Engine,
    /// `user_rules.wasm`, loaded with default limits.
    pub module: RuleModule,
    /// [`settings_json`] as the module prepared them.
    pub settings: PreparedSettings,
    /// The module's settings snapshot with [`settings`](Self::settings) loaded: what the
    /// service runs.
    pub snapshot: RuleModule,
    /// [`settings_json`] as the native policy prepared them.
    pub native_settings: Vec<u8>,
    /// The encoded request of the native evaluation ([`native_settings`](Self::native_settings),
    /// [`context`], [`user`]).
    pub native_request: Vec<u8>,
    /// The user.
    pub user: User,
    /// The context.
    pub context: Context,
}

impl Workload {
    /// Loads `user_rules.wasm` into a fresh engine (no disk cache) and prepares the settings
    /// both in the sandbox and natively.
    pub fn load() -> Self {
        let engine = Engine::new(EngineConfig::default()).expect("engine");
        let module = engine.load(&user_rules_wasm()).expect("user_rules.wasm loads");
        let settings = module.prepare_settings(settings_json().as_bytes()).expect("the module accepts the settings");
        let snapshot = engine.snapshot_settings(&module, &settings).expect("the settings snapshot");
        let native_settings = native_prepare(settings_json().as_bytes());
        let (user, context) = (user(), context());
        let native_request = codec::encode_user_request(&context, &native_settings, &user).expect("encode");
        Self { engine, module, settings, snapshot, native_settings, native_request, user, context }
    }

    /// One isolated evaluation in the sandbox, as the service runs it: a fresh instance of the
    /// settings snapshot.
    pub fn evaluate_wasm(&self) -> muster_engine::Evaluation<UserDecision> {
        self.snapshot.evaluate_user(&self.settings, &self.context, &self.user).expect("wasm evaluation")
    }

    /// [`Workload::evaluate_wasm`] on the module as uploaded: a fresh instance that decodes the
    /// settings.
    pub fn evaluate_wasm_without_snapshot(&self) -> muster_engine::Evaluation<UserDecision> {
        self.module.evaluate_user(&self.settings, &self.context, &self.user).expect("wasm evaluation")
    }

    /// One native evaluation: the SDK's runtime entry on the encoded request, response decoded.
    pub fn evaluate_native(&self) -> UserDecision {
        decode_response(&muster_guest::runtime::user_rules::<Policy>(&self.native_request))
    }

    /// The settings as the native policy loads them, decoded once (regexes compiled once).
    pub fn native_loaded_settings(&self) -> user_rules::Settings {
        muster_guest::settings::load::<Policy>(&self.native_settings).expect("prepared settings load")
    }

    /// The rules alone, natively: `decide_user` on settings loaded once and the user as it
    /// is, trace included; no request or settings decoding, no response encoding.
    pub fn decide_native(settings: &user_rules::Settings, user: &User, context: &Context) -> UserDecision {
        let mut trace = muster_guest::Trace::new();
        let decision = <Policy as muster_guest::UserRules>::decide_user(settings, user, context, &mut trace);
        std::hint::black_box(trace);
        decision
    }

    /// Asserts that the sandbox and the native policy decide [`user`] alike, and as expected.
    pub fn check(&self) -> UserDecision {
        let snapshot = self.evaluate_wasm();
        let uploaded = self.evaluate_wasm_without_snapshot();
        assert_eq!(
            (&snapshot.output, &snapshot.trace),
            (&uploaded.output, &uploaded.trace),
            "the settings snapshot decides differently"
        );
        let wasm = snapshot.output;
        let native = self.evaluate_native();
        assert_eq!(wasm, native, "wasm and native decide differently");
        let decided = Self::decide_native(&self.native_loaded_settings(), &self.user, &self.context);
        assert_eq!(wasm, decided, "wasm and native `decide_user` decide differently");
        assert_eq!(self.settings.0, self.native_settings, "wasm and native prepare settings differently");
        assert_eq!(wasm.organization.as_deref(), Some(EXPECTED_ORGANIZATION));
        assert_eq!(wasm.rule.as_deref(), Some(EXPECTED_RULE));
        assert_eq!(wasm.groups, EXPECTED_GROUPS);
        wasm
    }
}

/// The rules of [`settings_json`] written in JavaScript, for the stock js-rules module.
pub const JS_RULES_SCRIPT: &str = include_str!("../js/user_rules.js");

/// The js-rules settings running [`JS_RULES_SCRIPT`].
pub fn js_rules_settings_json() -> String {
    json!({ "script": JS_RULES_SCRIPT }).to_string()
}

/// The same 20-rule workload in JavaScript: the built `js_rules.wasm` with
/// [`js_rules_settings_json`] prepared and snapshotted.
pub struct JsWorkload {
    /// The engine the module was loaded into (kept alive for the module's sake).
    pub engine: Engine,
    /// `js_rules.wasm`, loaded with default limits.
    pub module: RuleModule,
    /// [`js_rules_settings_json`] as the module prepared them.
    pub settings: PreparedSettings,
    /// The settings snapshot: QuickJS with the script evaluated.
    pub snapshot: RuleModule,
    /// The user.
    pub user: User,
    /// The context.
    pub context: Context,
}

impl JsWorkload {
    /// Loads `js_rules.wasm` into a fresh engine and prepares and snapshots the script.
    pub fn load() -> Self {
        let path = muster_harness::subject::built_artifact("js_rules");
        let wasm = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("cannot read {}: {e}; build it first with `scripts/build-policies js-rules`", path.display())
        });
        let engine = Engine::new(EngineConfig::default()).expect("engine");
        let module = engine.load(&wasm).expect("js_rules.wasm loads");
        let settings =
            module.prepare_settings(js_rules_settings_json().as_bytes()).expect("the module accepts the script");
        let snapshot = engine.snapshot_settings(&module, &settings).expect("the settings snapshot");
        Self { engine, module, settings, snapshot, user: user(), context: context() }
    }

    /// One evaluation as the service runs it: a fresh instance of the snapshot.
    pub fn evaluate(&self) -> muster_engine::Evaluation<UserDecision> {
        self.snapshot.evaluate_user(&self.settings, &self.context, &self.user).expect("js evaluation")
    }

    /// Asserts that the script decides [`user`] as the user-rules settings do.
    pub fn check(&self) -> muster_engine::Evaluation<UserDecision> {
        let evaluation = self.evaluate();
        assert_eq!(evaluation.output.organization.as_deref(), Some(EXPECTED_ORGANIZATION));
        assert_eq!(evaluation.output.rule.as_deref(), Some(EXPECTED_RULE));
        assert_eq!(evaluation.output.groups, EXPECTED_GROUPS);
        evaluation
    }
}

/// Settings with no rules, only a fallback: what an evaluation costs without settings to decode.
pub const EMPTY_SETTINGS_JSON: &str = r#"{"rules": [], "fallback": "acme-general"}"#;

/// The pieces of a wasm evaluation, as `(label, settings JSON, user)`: with and without the
/// 20-rule settings and the realistic user. Measuring each shows where the time goes (settings
/// decoding, request decoding, the rules themselves) next to the bare-instance bench.
pub fn breakdown_cases() -> Vec<(&'static str, String, User)> {
    vec![
        ("empty_settings_tiny_user", EMPTY_SETTINGS_JSON.to_owned(), tiny_user()),
        ("empty_settings_realistic_user", EMPTY_SETTINGS_JSON.to_owned(), user()),
        ("20_rules_tiny_user", settings_json(), tiny_user()),
        ("20_rules_realistic_user", settings_json(), user()),
    ]
}

/// CPU time (user + system) this process has used so far, in seconds, from `/proc/self/stat`
/// (`None` elsewhere than Linux). Lets the throughput bench report how many cores it got.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// How much faster two threads finish a pure CPU loop than one does, right now (2.0 on an idle
/// two-core machine; less when other processes hold a core). Calibrates the throughput bench
/// on a shared machine.
pub fn two_core_spin_speedup() -> f64 {
    fn spin() {
        let mut x = 0u64;
        for i in 0..100_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
    let time = |threads: usize| {
        let started = std::time::Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(spin);
            }
        });
        started.elapsed().as_secs_f64()
    };
    2.0 * time(1) / time(2)
}

/// Prepares settings natively, as `muster_prepare_settings` does in the module.
pub fn native_prepare(settings_json: &[u8]) -> Vec<u8> {
    decode_response(&muster_guest::runtime::prepare_settings::<Policy>(settings_json))
}

fn decode_response<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    let response: Response<T> = codec::decode(bytes).expect("a well-formed response");
    match response.result {
        Ok(value) => value,
        Err(GuestError::Settings(e)) => panic!("settings refused: {e}"),
        Err(e) => panic!("guest error: {e}"),
    }
}

/// Asserts that the Rego policy decides [`user`] like the wasm module: same organization, same
/// rule, same groups.
pub fn check_rego_matches(wasm: &UserDecision) {
    let mut engine = rego_engine();
    let decision = rego_decide(&mut engine, &rego_input(&user()));
    check_rego_decision(&decision, wasm);
    let mut vm = rego_vm();
    let on_vm = rego_vm_decide(&mut vm, &rego_input(&user()));
    check_rego_decision(&on_vm, wasm);
}

fn check_rego_decision(decision: &serde_json::Value, wasm: &UserDecision) {
    assert_eq!(decision["organization"].as_str(), wasm.organization.as_deref(), "Rego decides {decision}");
    assert_eq!(decision["rule"].as_str(), wasm.rule.as_deref(), "Rego decides {decision}");
    let mut rego_groups: Vec<&str> =
        decision["groups"].as_array().expect("groups").iter().map(|g| g.as_str().expect("a group name")).collect();
    let mut wasm_groups: Vec<&str> = wasm.groups.iter().map(String::as_str).collect();
    rego_groups.sort_unstable();
    wasm_groups.sort_unstable();
    assert_eq!(rego_groups, wasm_groups, "Rego decides {decision}");
}

/// A user with nothing but a name, for the bare-instance bench.
pub fn tiny_user() -> User {
    User { user_name: "u@example.com".into(), ..User::default() }
}

/// The decision the minimal module answers.
pub fn minimal_decision() -> UserDecision {
    UserDecision { organization: Some("acme".into()), rule: Some("constant".into()), groups: Vec::new() }
}

/// The smallest module the contract accepts: one page of memory, `muster_abi_version` → 1, a
/// bump `muster_alloc` above the data, and `muster_user_rules` answering a constant, valid
/// postcard-encoded `Response<UserDecision>` ([`minimal_decision`], empty trace) from a data
/// segment. It reads nothing: what it costs is instantiation plus the host's side of a call.
pub fn minimal_module_wat() -> String {
    let response = Response::<UserDecision> { result: Ok(minimal_decision()), trace: Vec::new() };
    let bytes = codec::encode(&response).expect("encode");
    let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
    let len = bytes.len();
    format!(
        r#"(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (data (i32.const 16) "{escaped}")
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func (export "muster_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $len)))
    (local.get $ptr))
  (func (export "muster_user_rules") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len}))))
"#
    )
}

/// A directory under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh, empty directory named after `prefix`.
    pub fn new(prefix: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The criterion settings of the fast benches: short warm-up and measurement, so the whole
/// suite stays within a few minutes on the 2-core machine.
pub fn quick_criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(2))
        .measurement_time(std::time::Duration::from_secs(5))
        .sample_size(50)
}
