//! Shared helpers of the engine's adversarial tests.
//!
//! Every hostile module is written as WebAssembly text. [`rule_module`] wraps the hostile part
//! in the smallest module that satisfies the contract of `docs/abi.md` (an exported memory,
//! `muster_abi_version` returning 1 and a bump-pointer `muster_alloc`), so a test only writes
//! what it attacks with. [`returns`] builds an entry point that answers with bytes made in Rust
//! (usually a postcard-encoded [`Response`]) held in a data segment, and
//! [`assert_host_still_fine`] checks, after each attack, that the same engine still loads and
//! runs a well-behaved module.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::{fmt::Write as _, path::PathBuf, time::Duration};

use muster_engine::{Engine, EngineConfig, EvalError, Evaluation, Limits, LoadError, RuleModule};
use muster_wire::{Context, Outcome, Response, TraceStep, User, UserDecision, codec};
use serde::Serialize;

/// Address of the data segment that [`returns`] places its response bytes at.
pub const RESPONSE_AT: u32 = 1024;
/// Address of scratch data a test may place in its own data segments (patterns, messages, …).
pub const SCRATCH_AT: u32 = 4096;
/// Address where the bump allocator of [`rule_module`] starts handing out memory.
pub const HEAP_START: u32 = 0x8000;
/// The organization the well-behaved module decides on.
pub const GOOD_ORGANIZATION: &str = "acme";
/// Bytes in one WebAssembly page.
pub const PAGE: usize = 64 << 10;

/// Small limits so that every attack ends quickly: 5 M fuel, 200 ms, 4 MiB of memory, 16
/// instance slots; everything else as in [`Limits::default`].
pub fn limits() -> Limits {
    Limits {
        fuel: 5_000_000,
        timeout: Duration::from_millis(200),
        max_memory_bytes: 4 << 20,
        max_concurrent_evaluations: 16,
        ..Limits::default()
    }
}

/// An engine with the test [`limits`] and no disk cache.
pub fn engine() -> Engine {
    engine_with(limits())
}

/// An engine with `limits` and no disk cache.
pub fn engine_with(limits: Limits) -> Engine {
    Engine::new(EngineConfig { limits, cache_dir: None, ..EngineConfig::default() }).expect("the engine starts")
}

/// An engine with the test [`limits`] that caches compiled code in `dir`.
pub fn engine_caching_in(dir: &std::path::Path) -> Engine {
    Engine::new(EngineConfig { limits: limits(), cache_dir: Some(dir.to_owned()), ..EngineConfig::default() })
        .expect("the engine starts")
}

/// Assembles WebAssembly text, showing the text when it does not assemble.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|error| panic!("test module does not assemble: {error}\n{text}"))
}

/// A minimal valid rule module around `body`, which must export at least one entry point
/// (usually `muster_user_rules`). See [`rule_module_with_imports`].
pub fn rule_module(body: &str) -> Vec<u8> {
    rule_module_with_imports("", body)
}

/// A minimal valid rule module: `imports` (WebAssembly text must list imports before any
/// definition), then a one-page memory exported as `memory`, `muster_abi_version` returning 1,
/// a bump-pointer `muster_alloc` starting at [`HEAP_START`] that grows memory as needed, then
/// `body`.
pub fn rule_module_with_imports(imports: &str, body: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
  {imports}
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const {HEAP_START}))
  (func (export "muster_abi_version") (result i32) (i32.const 1))
  (func $alloc (export "muster_alloc") (param $len i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const {PAGE})))
      (then
        (if (i32.eq
              (memory.grow (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                                    (memory.size)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))
  {body}
)"#
    ))
}

/// `bytes` as a WebAssembly text string literal (every byte escaped).
pub fn wat_bytes(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3 + 2);
    text.push('"');
    for byte in bytes {
        write!(text, "\\{byte:02x}").unwrap();
    }
    text.push('"');
    text
}

/// The packed `(ptr << 32) | len` an entry point returns, as a WebAssembly `i64` literal.
pub fn packed(ptr: u32, len: u32) -> String {
    format!("{:#x}", (u64::from(ptr) << 32) | u64::from(len))
}

/// A `muster_user_rules` entry point that answers with `bytes`, held in a data segment at
/// [`RESPONSE_AT`].
pub fn returns(bytes: &[u8]) -> String {
    returns_from("muster_user_rules", bytes)
}

/// An entry point named `export` that answers with `bytes`, held in a data segment at
/// [`RESPONSE_AT`].
pub fn returns_from(export: &str, bytes: &[u8]) -> String {
    assert!(RESPONSE_AT as usize + bytes.len() <= HEAP_START as usize, "response too big for the test layout");
    format!(
        r#"(data (i32.const {RESPONSE_AT}) {data})
  (func (export "{export}") (param i32 i32) (result i64) (i64.const {packed}))"#,
        data = wat_bytes(bytes),
        packed = packed(RESPONSE_AT, bytes.len() as u32),
    )
}

/// Encodes a response the way a module built with the SDK would.
pub fn encode<T: Serialize>(response: &Response<T>) -> Vec<u8> {
    codec::encode(response).expect("responses encode")
}

/// The decision and trace of the well-behaved module.
pub fn good_response() -> Response<UserDecision> {
    Response {
        result: Ok(UserDecision {
            organization: Some(GOOD_ORGANIZATION.into()),
            rule: Some("everyone".into()),
            groups: vec!["staff".into()],
        }),
        trace: vec![TraceStep { rule: Some("everyone".into()), check: "always".into(), outcome: Outcome::Matched }],
    }
}

/// A module that decides [`good_response`] for every user.
pub fn well_behaved_module() -> Vec<u8> {
    rule_module(&returns(&encode(&good_response())))
}

/// The user every test decides about.
pub fn user() -> User {
    User { user_name: "ada@acme.com".into(), email: Some("ada@acme.com".into()), ..User::default() }
}

/// Prepares `{}` as settings and evaluates [`user`] with `module`.
pub fn evaluate(module: &RuleModule) -> Result<Evaluation<UserDecision>, EvalError> {
    let settings = module.prepare_settings(b"{}")?;
    module.evaluate_user(&settings, &Context::default(), &user())
}

/// Loads `wasm` (which must load) and evaluates [`user`] with it.
pub fn load_and_evaluate(engine: &Engine, wasm: &[u8]) -> Result<Evaluation<UserDecision>, EvalError> {
    evaluate(&engine.load(wasm).unwrap_or_else(|error| panic!("the module should load, but: {error}")))
}

/// Loads `wasm`, expecting the load to fail, and returns why.
pub fn load_error(engine: &Engine, wasm: &[u8]) -> LoadError {
    match engine.load(wasm) {
        Ok(_) => panic!("the module should have been refused"),
        Err(error) => error,
    }
}

/// Loads `wasm` (which must load), evaluates it expecting a failure, and returns the error.
pub fn eval_error(engine: &Engine, wasm: &[u8]) -> EvalError {
    match load_and_evaluate(engine, wasm) {
        Ok(evaluation) => panic!("the evaluation should have failed, but decided {:?}", evaluation.output),
        Err(error) => error,
    }
}

/// Asserts that `engine` still loads the well-behaved module and that it decides as expected:
/// the attack before did not hurt the host.
pub fn assert_host_still_fine(engine: &Engine) {
    let evaluation = load_and_evaluate(engine, &well_behaved_module()).expect("the well-behaved module evaluates");
    let expected = good_response();
    assert_eq!(Ok(evaluation.output), expected.result);
    assert_eq!(evaluation.trace, expected.trace);
    assert!(evaluation.fuel_consumed > 0);
}

/// Asserts that `text` contains every one of `parts`, showing `text` otherwise.
#[track_caller]
pub fn assert_mentions(text: impl std::fmt::Display, parts: &[&str]) {
    let text = text.to_string();
    for part in parts {
        assert!(text.contains(part), "expected {part:?} in {text:?}");
    }
}

/// A fresh, empty directory under the system temp directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `<temp>/muster-engine-test-<label>-<pid>-<n>`.
    pub fn new(label: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "muster-engine-test-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
