//! The rule author's test harness: the same fixture files run natively under `cargo test` and
//! through the real engine on the compiled `.wasm`.
//!
//! A fixture file (JSON, format in [`fixture`] and `docs/harness.md`) holds a settings
//! document and cases: a user and the decision expected for it, provider groups and their
//! expected organizations, or a settings document and the error expected for it.
//!
//! ```ignore
//! // policies/my-rules/tests/fixtures.rs
//! #[test]
//! fn fixtures_pass_natively() {
//!     muster_harness::native!(my_rules::MyRules { user_rules }).run(["fixtures"]).assert_passed();
//! }
//!
//! #[test]
//! fn fixtures_pass_through_the_engine() {
//!     muster_harness::Wasm::built("my_rules").run(["fixtures"]).assert_passed();
//! }
//! ```
//!
//! A failing case prints which expectation failed, expected against actual, and the full
//! trace of the evaluation.

mod built;
pub mod coverage;
mod failure;
pub mod fixture;
mod isolate;
pub mod report;
mod run;
mod scripted;
pub mod subject;

pub use built::{NotBuilt, check_fixtures_crate};
pub use coverage::Coverage;
pub use isolate::DEFAULT_CASE_TIMEOUT;
pub use report::{CaseResult, Report};
pub use run::{run_fixtures, run_fixtures_where};
pub use scripted::Scripted;
pub use subject::{Failure, Native, Subject, Wasm};

#[doc(hidden)]
pub use muster_guest as guest;

/// A [`Native`] subject running a policy's rules in-process, through the same entry points
/// the module exports: `native!(MyPolicy { user_rules, group_rules })`.
#[macro_export]
macro_rules! native {
    ($policy:ty { $($entry:ident),+ $(,)? }) => {{
        let subject = $crate::Native::new(stringify!($policy), $crate::guest::runtime::prepare_settings::<$policy>);
        $( let subject = $crate::native!(@entry subject, $policy, $entry); )+
        subject
    }};
    (@entry $subject:ident, $policy:ty, user_rules) => {
        $subject.with_user_rules($crate::guest::runtime::user_rules::<$policy>)
    };
    (@entry $subject:ident, $policy:ty, group_rules) => {
        $subject.with_group_rules($crate::guest::runtime::group_rules::<$policy>)
    };
}
