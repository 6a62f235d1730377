//! The on-disk cache of compiled code: one entry per module and engine configuration, reused
//! across engines (restarts), recovered from when damaged, and never written for a module that
//! was refused.
#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod support;

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use muster_engine::{Engine, EngineConfig, EngineError, EvalError, Limits, LoadError};
use muster_wire::{Response, UserDecision};
use sha2::{Digest, Sha256};
use support::*;

/// Every file in `dir`, by name, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// The one file in `dir`, which must hold exactly one.
fn only_entry(dir: &Path) -> PathBuf {
    match files(dir).as_slice() {
        [name] => dir.join(name),
        other => panic!("expected exactly one cache entry, found {other:?}"),
    }
}

/// What identifies one version of a file: its modification time and, on Unix, its inode (a
/// rewrite goes through a new file renamed into place, so it changes).
fn identity(path: &Path) -> (std::time::SystemTime, u64) {
    let metadata = fs::metadata(path).unwrap();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    (metadata.modified().unwrap(), inode)
}

/// A module deciding on `organization`.
fn deciding(organization: &str) -> Vec<u8> {
    let mut response: Response<UserDecision> = good_response();
    if let Ok(decision) = &mut response.result {
        decision.organization = Some(organization.into());
    }
    rule_module(&returns(&encode(&response)))
}

/// The organization `wasm` decides on when loaded by `engine`.
fn decided_by(engine: &Engine, wasm: &[u8]) -> Option<String> {
    load_and_evaluate(engine, wasm).expect("the module evaluates").output.organization
}

#[test]
fn loading_a_module_writes_one_entry_named_by_its_digest_and_the_engine_fingerprint() {
    let dir = TempDir::new("entry");
    let engine = engine_caching_in(dir.path());
    let wasm = well_behaved_module();
    let module = engine.load(&wasm).unwrap();

    let entry = only_entry(dir.path());
    let name = entry.file_name().unwrap().to_str().unwrap();
    let digest = hex::encode(Sha256::digest(&wasm));
    assert_eq!(module.digest(), digest);
    let fingerprint = name
        .strip_prefix(&format!("{digest}-"))
        .and_then(|rest| rest.strip_suffix(".cwasm"))
        .unwrap_or_else(|| panic!("entry {name:?} is not <sha256>-<fingerprint>.cwasm"));
    assert_eq!(fingerprint.len(), 16);
    assert!(fingerprint.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{fingerprint}");
    assert!(fs::read(&entry).unwrap().starts_with(b"\x7fELF"), "the entry holds compiled code");

    // Loading it again reads the entry and leaves it as it is; no temporary files remain.
    let before = identity(&entry);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(Ok(evaluate(&engine.load(&wasm).unwrap()).unwrap().output), good_response().result);
    assert_eq!(identity(&entry), before);
    assert_eq!(files(dir.path()), [name]);
}

#[test]
fn each_module_gets_its_own_entry_with_the_same_fingerprint() {
    let dir = TempDir::new("two");
    let engine = engine_caching_in(dir.path());
    engine.load(&deciding("a")).unwrap();
    engine.load(&deciding("b")).unwrap();
    let names = files(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    let fingerprint = |name: &str| name.split_once('-').unwrap().1.to_owned();
    assert_eq!(fingerprint(&names[0]), fingerprint(&names[1]));
}

#[test]
fn a_second_engine_loads_the_module_from_the_cache() {
    let dir = TempDir::new("restart");
    let wasm = well_behaved_module();
    engine_caching_in(dir.path()).load(&wasm).unwrap();
    let entry = only_entry(dir.path());
    let before = identity(&entry);
    std::thread::sleep(Duration::from_millis(20));

    // A "restart": a new engine on the same directory.
    let engine = engine_caching_in(dir.path());
    assert_eq!(decided_by(&engine, &wasm).as_deref(), Some(GOOD_ORGANIZATION));
    assert_eq!(identity(&entry), before, "the entry was rewritten, so the module was compiled again");
    assert_eq!(only_entry(dir.path()), entry);
}

#[test]
fn a_second_engine_runs_the_cached_code_without_recompiling() {
    // Proof that the cached code is what runs: put module B's compiled code under module A's
    // entry name, and loading A's bytes runs B. (This is also why the cache directory must be
    // writable by Muster alone: its entries are trusted as compiled code.)
    let dir = TempDir::new("swap");
    let (a, b) = (deciding("from-a"), deciding("from-b"));
    let first = engine_caching_in(dir.path());
    first.load(&a).unwrap();
    let entry_a = only_entry(dir.path());
    fs::remove_file(&entry_a).unwrap();
    first.load(&b).unwrap();
    let entry_b = only_entry(dir.path());
    fs::rename(&entry_b, &entry_a).unwrap();

    let engine = engine_caching_in(dir.path());
    assert_eq!(decided_by(&engine, &a).as_deref(), Some("from-b"));
    // B's own bytes are not cached any more: compiled, run and stored afresh.
    assert_eq!(decided_by(&engine, &b).as_deref(), Some("from-b"));
    assert_eq!(files(dir.path()).len(), 2);
}

#[test]
fn a_corrupt_cache_entry_is_replaced_by_a_fresh_compilation() {
    let dir = TempDir::new("corrupt");
    let wasm = well_behaved_module();
    engine_caching_in(dir.path()).load(&wasm).unwrap();
    let entry = only_entry(dir.path());
    let compiled = fs::read(&entry).unwrap();

    let damages: [(&str, Vec<u8>); 4] = [
        ("garbage", b"this is not compiled code".repeat(100)),
        ("empty", Vec::new()),
        ("truncated", compiled[..compiled.len() / 2].to_vec()),
        ("header only", compiled[..64].to_vec()),
    ];
    for (damage, bytes) in damages {
        fs::write(&entry, &bytes).unwrap();
        let engine = engine_caching_in(dir.path());
        assert_eq!(decided_by(&engine, &wasm).as_deref(), Some(GOOD_ORGANIZATION), "{damage}");
        let rewritten = fs::read(only_entry(dir.path())).unwrap();
        assert_ne!(rewritten, bytes, "{damage}: the damaged entry is still there");
        assert!(rewritten.starts_with(b"\x7fELF"), "{damage}: the new entry is not compiled code");
        // And the next restart uses the new entry.
        let before = identity(&entry);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(decided_by(&engine_caching_in(dir.path()), &wasm).as_deref(), Some(GOOD_ORGANIZATION));
        assert_eq!(identity(&entry), before, "{damage}: the repaired entry was not used");
    }
}

#[test]
fn modules_that_are_refused_leave_no_cache_entry() {
    let dir = TempDir::new("refused");
    let engine = engine_caching_in(dir.path());
    let endless_start =
        rule_module(&format!("(func $start (loop $l (br $l))) (start $start) {}", returns(&encode(&good_response()))));
    let abi_2 = wat(r#"(module (memory (export "memory") 1)
             (func (export "muster_abi_version") (result i32) (i32.const 2))
             (func (export "muster_alloc") (param i32) (result i32) (i32.const 0))
             (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const 0)))"#);
    let wasi = rule_module_with_imports(
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
        &returns(&encode(&good_response())),
    );
    let no_entry = rule_module("");
    let too_much_memory = wat(r#"(module (memory (export "memory") 65)
             (func (export "muster_abi_version") (result i32) (i32.const 1))
             (func (export "muster_alloc") (param i32) (result i32) (i32.const 0))
             (func (export "muster_user_rules") (param i32 i32) (result i64) (i64.const 0)))"#);
    let cases: [(&str, Vec<u8>); 7] = [
        ("not wasm", b"not wasm at all".to_vec()),
        ("truncated", well_behaved_module()[..20].to_vec()),
        ("forbidden import", wasi),
        ("no entry point", no_entry),
        ("ABI version 2", abi_2),
        ("endless start function", endless_start),
        ("too much memory", too_much_memory),
    ];
    for (case, wasm) in cases {
        assert!(engine.load(&wasm).is_err(), "{case}: loaded");
        assert_eq!(files(dir.path()), Vec::<String>::new(), "{case}: left a cache entry");
    }
    // A module over the size cap is refused before anything is compiled or written.
    let small = engine_with_cache(Limits { max_module_bytes: 16, ..limits() }, dir.path());
    assert!(matches!(small.load(&well_behaved_module()), Err(LoadError::TooLarge { .. })));
    assert_eq!(files(dir.path()), Vec::<String>::new());
    // The engine still caches what it accepts.
    engine.load(&well_behaved_module()).unwrap();
    only_entry(dir.path());
}

/// An engine with `limits` caching in `dir`.
fn engine_with_cache(limits: Limits, dir: &Path) -> Engine {
    Engine::new(EngineConfig { limits, cache_dir: Some(dir.to_owned()), ..EngineConfig::default() }).unwrap()
}

#[test]
fn a_cached_module_is_checked_against_the_limits_of_the_engine_loading_it() {
    // A module with 8 MiB of initial memory, cached by an engine that allows 64 MiB, must still
    // be refused by an engine that allows 4 MiB: the cache does not bypass the limits.
    let dir = TempDir::new("limits");
    let big_memory = wat(&format!(
        r#"(module (memory (export "memory") 128)
             (func (export "muster_abi_version") (result i32) (i32.const 1))
             (func (export "muster_alloc") (param i32) (result i32) (i32.const 0x8000))
             {})"#,
        returns(&encode(&good_response()))
    ));
    let roomy = engine_with_cache(Limits { max_memory_bytes: 64 << 20, ..limits() }, dir.path());
    assert_eq!(decided_by(&roomy, &big_memory).as_deref(), Some(GOOD_ORGANIZATION));
    only_entry(dir.path());

    let strict = engine_with_cache(limits(), dir.path());
    let uncached = engine();
    let expected = load_error(&uncached, &big_memory);
    assert!(
        matches!(&expected, LoadError::Startup(cause) if matches!(**cause, EvalError::Instantiation(_))),
        "{expected:?}"
    );
    assert_eq!(load_error(&strict, &big_memory), expected);
    assert_host_still_fine(&strict);
}

#[test]
fn engines_loading_the_same_module_at_once_share_one_entry() {
    let dir = TempDir::new("race");
    let wasm = well_behaved_module();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let engine = engine_caching_in(dir.path());
                for _ in 0..3 {
                    assert_eq!(decided_by(&engine, &wasm).as_deref(), Some(GOOD_ORGANIZATION));
                }
            });
        }
    });
    let entry = only_entry(dir.path());
    assert!(!entry.file_name().unwrap().to_str().unwrap().starts_with('.'), "a temporary file was left behind");
}

#[test]
fn an_unusable_cache_directory_is_an_engine_error() {
    let dir = TempDir::new("file");
    let file = dir.path().join("not-a-directory");
    fs::write(&file, b"").unwrap();
    for path in [file.clone(), file.join("below-a-file")] {
        match Engine::new(EngineConfig { limits: limits(), cache_dir: Some(path.clone()), ..EngineConfig::default() }) {
            Err(error @ EngineError::CacheDir { .. }) => assert_mentions(
                &error,
                &["cannot open the compiled-module cache directory", &path.display().to_string()],
            ),
            Err(other) => panic!("expected a cache directory error, got {other:?}"),
            Ok(_) => panic!("an engine started with {path:?} as its cache directory"),
        }
    }
}

#[test]
fn a_missing_cache_directory_is_created() {
    let dir = TempDir::new("create");
    let nested = dir.path().join("a").join("b");
    let engine = engine_caching_in(&nested);
    engine.load(&well_behaved_module()).unwrap();
    only_entry(&nested);
}

#[test]
fn the_cache_holds_its_byte_budget_by_removing_the_least_recently_used_entries() {
    let (a, b, c) = (deciding("org-a"), deciding("org-b"), deciding("org-c"));
    let name = |wasm: &[u8]| hex::encode(Sha256::digest(wasm));
    // The size of one entry (the three modules differ only in a few data bytes).
    let measure = TempDir::new("budget-measure");
    engine_caching_in(measure.path()).load(&a).unwrap();
    let entry = fs::metadata(only_entry(measure.path())).unwrap().len();

    // Room for two entries and a half.
    let dir = TempDir::new("budget");
    let budget = entry * 5 / 2;
    let config = || EngineConfig {
        limits: limits(),
        cache_dir: Some(dir.path().to_owned()),
        cache_max_bytes: budget,
        ..EngineConfig::default()
    };
    let engine = Engine::new(config()).unwrap();
    engine.load(&a).unwrap();
    engine.load(&b).unwrap();
    assert_eq!(files(dir.path()).len(), 2);
    // Reading `a` from the cache makes it more recent than `b`; writing `c` then evicts `b`.
    assert_eq!(decided_by(&engine, &a).as_deref(), Some("org-a"));
    engine.load(&c).unwrap();
    let kept = files(dir.path());
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().any(|file| file.starts_with(&name(&a))), "a was used last: {kept:?}");
    assert!(kept.iter().any(|file| file.starts_with(&name(&c))), "c was just written: {kept:?}");
    let total: u64 = kept.iter().map(|file| fs::metadata(dir.path().join(file)).unwrap().len()).sum();
    assert!(total <= budget, "{total} bytes kept, budget {budget}");
    // An evicted module compiles again and still decides.
    assert_eq!(decided_by(&engine, &b).as_deref(), Some("org-b"));

    // A smaller budget is enforced when the cache is opened, on what an earlier engine left.
    let smaller = EngineConfig { cache_max_bytes: entry * 3 / 2, ..config() };
    let _engine = Engine::new(smaller).unwrap();
    assert_eq!(files(dir.path()).len(), 1, "one entry fits in one and a half");
    assert!(files(dir.path())[0].starts_with(&name(&b)), "the most recently used stays");

    // An entry larger than the whole budget is not kept at all; the module still loads.
    let tiny = TempDir::new("budget-tiny");
    let engine = Engine::new(EngineConfig {
        limits: limits(),
        cache_dir: Some(tiny.path().to_owned()),
        cache_max_bytes: entry / 2,
        ..EngineConfig::default()
    })
    .unwrap();
    assert_eq!(decided_by(&engine, &a).as_deref(), Some("org-a"));
    assert_eq!(files(tiny.path()), Vec::<String>::new());
}
