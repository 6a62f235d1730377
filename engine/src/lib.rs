//! Muster's rule engine: validates, compiles, caches and runs rule modules in a WebAssembly
//! sandbox.
//!
//! ```no_run
//! use muster_engine::{Engine, EngineConfig};
//! use muster_wire::{Context, User};
//!
//! let engine = Engine::new(EngineConfig::default())?;
//! let module = engine.load(&std::fs::read("user_rules.wasm")?)?;
//! let settings = module.prepare_settings(br#"{"rules": [], "fallback": "acme"}"#)?;
//! let user = User { user_name: "ada@acme.com".into(), ..User::default() };
//! let evaluation = module.evaluate_user(&settings, &Context::default(), &user)?;
//! println!("{:?} in {:?}", evaluation.output.organization, evaluation.duration);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! * [`Engine`] owns the wasmtime engine (pooling allocator, fuel, epoch interruption), the
//!   host functions, the on-disk cache of compiled code and the in-memory cache of compiled
//!   functions that later compiles reuse;
//! * [`Engine::load`] checks a module's shape against the [`Limits`] before compiling it (in one
//!   of a bounded number of compile slots), checks it against the contract in `docs/abi.md` and
//!   yields a [`RuleModule`];
//! * [`Engine::snapshot_settings`] makes, for a version's prepared settings, a module whose
//!   fresh instances start with them already decoded (modules that export
//!   `muster_load_settings`, as every SDK module does);
//! * every evaluation runs in a fresh instance under the [`Limits`] (or a lower [`Budget`] of
//!   fuel, time and memory its caller gives), and returns an
//!   [`Evaluation`] (decision, trace, duration, fuel) or a typed [`EvalError`]; a trace over
//!   the limits is cut short with a marker step ([`trace`]).

mod compile_cache;
mod compile_slots;
mod contract;
mod disk_cache;
mod engine;
mod error;
mod host_functions;
mod invoke;
mod limits;
mod module;
mod prevalidate;
mod regex_cache;
mod snapshot;
mod ticker;
pub mod trace;

pub use engine::{Engine, EngineConfig};
pub use error::{EngineError, EvalError, Failure, LoadError};
pub use limits::{Budget, Limits};
pub use module::{Entries, Evaluation, PreparedSettings, RuleModule};
