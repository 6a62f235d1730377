//! The wire contract between the Muster engine (host) and rule modules (guests).
//!
//! Both sides depend on this one crate so the encoding cannot drift. The contract is written down
//! in `docs/abi.md`; this crate is its executable form:
//!
//! * [`abi`] names the ABI version, the exports a module provides and the imports it may use;
//! * [`request`] holds what the host sends (the user or provider groups, the realm and trigger,
//!   and the module's prepared settings);
//! * [`decision`] holds what a module answers (an organization or *No organization*, rule-based
//!   groups, organizations per provider group);
//! * [`trace`] holds the steps a module records to explain its decision;
//! * [`codec`] turns any of these into bytes and back (postcard, a compact binary serde format).

pub mod abi;
pub mod codec;
pub mod decision;
pub mod request;
pub mod trace;

pub use decision::{GroupAssignment, GroupDecision, GuestError, MissingEntries, Response, SettingsError, UserDecision};
pub use request::{Context, GroupRequest, Trigger, User, UserRequest};
pub use trace::{Outcome, TraceStep};
