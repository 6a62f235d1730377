//! The Muster guest SDK: organization and group rules in safe Rust.
//!
//! A rule module is a crate of type `cdylib` (plus `rlib`, for its tests) that implements
//! [`Policy`] and one or both of [`UserRules`] and [`GroupRules`], then exports them:
//!
//! ```
//! use muster_guest::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! pub struct Settings {
//!     organization: String,
//! }
//!
//! pub struct Everyone;
//!
//! impl Policy for Everyone {
//!     type Settings = Settings;
//! }
//!
//! impl UserRules for Everyone {
//!     fn decide_user(settings: &Settings, _user: &User, _: &Context, trace: &mut Trace) -> UserDecision {
//!         trace.note(Some("everyone"), "every user goes to the default organization");
//!         UserDecision::organization(&settings.organization).by_rule("everyone")
//!     }
//! }
//!
//! muster_guest::export!(Everyone { user_rules });
//! ```
//!
//! Compiled for `wasm32-unknown-unknown`, [`export!`] produces the functions the engine calls
//! (see `docs/abi.md`); natively it produces nothing, and the harness (`muster-harness`) calls the
//! very same [`runtime`] functions in-process, so a fixture means the same thing both ways.
//!
//! Settings are parsed from the tenant's JSON once, when the module is activated, and handed to
//! every evaluation in a compact binary form. [`Regex`] fields in settings are compiled (and
//! checked) at that point too.

pub mod decisions;
pub mod policy;
pub mod regex;
pub mod runtime;
#[cfg(feature = "schema")]
pub mod schema;
pub mod settings;
pub mod trace;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod ffi;

pub use muster_wire as wire;
pub use muster_wire::{Context, GroupAssignment, GroupDecision, MissingEntries, Trigger, User, UserDecision};
pub use policy::{GroupRules, Policy, UserRules};
pub use regex::{Regex, RegexError};
pub use settings::SettingsError;
pub use trace::Trace;

/// Everything a rule author usually needs, in one import.
pub mod prelude {
    pub use crate::decisions::{GroupAssignmentExt, UserDecisionExt};
    pub use crate::{
        Context, GroupAssignment, GroupDecision, GroupRules, Policy, Regex, SettingsError, Trace, Trigger, User,
        UserDecision, UserRules,
    };
}

/// Exports a policy's entry points from a rule module.
///
/// `export!(MyPolicy { user_rules })`, `export!(MyPolicy { group_rules })` or
/// `export!(MyPolicy { user_rules, group_rules })`. Settings preparation and loading (which lets
/// the host snapshot an instance with a version's settings decoded), which entries the settings
/// leave nothing to run ([`Policy::missing_entries`]), the ABI version and the allocator are
/// always exported. Add `settings_schema = include_str!("../settings.schema.json")`
/// to publish the settings' JSON Schema, as text generated natively (module `schema`, feature
/// `schema`): the module serves the text and carries no generator.
/// Expands to nothing unless compiling for `wasm32`.
#[macro_export]
macro_rules! export {
    ($policy:ty { $($entry:ident $(= $value:expr)?),+ $(,)? }) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            #[global_allocator]
            static ALLOCATOR: $crate::ffi::BumpAllocator = $crate::ffi::BumpAllocator;

            #[unsafe(no_mangle)]
            extern "C" fn muster_abi_version() -> i32 {
                $crate::wire::abi::ABI_VERSION as i32
            }

            #[unsafe(no_mangle)]
            extern "C" fn muster_alloc(len: i32) -> i32 {
                $crate::ffi::alloc(len)
            }

            #[unsafe(no_mangle)]
            extern "C" fn muster_prepare_settings(ptr: i32, len: i32) -> i64 {
                $crate::ffi::call(ptr, len, $crate::runtime::prepare_settings::<$policy>)
            }

            ::std::thread_local! {
                static LOADED: $crate::runtime::LoadedSettings<<$policy as $crate::Policy>::Settings> =
                    const { $crate::runtime::LoadedSettings::new() };
            }

            #[unsafe(no_mangle)]
            extern "C" fn muster_settings_entries(ptr: i32, len: i32) -> i64 {
                $crate::ffi::call(ptr, len, $crate::runtime::settings_entries::<$policy>)
            }

            #[unsafe(no_mangle)]
            extern "C" fn muster_load_settings(ptr: i32, len: i32) -> i64 {
                LOADED.with(|loaded| {
                    $crate::ffi::call(ptr, len, |prepared| $crate::runtime::load_settings::<$policy>(prepared, loaded))
                })
            }

            $( $crate::export!(@entry $policy, $entry $(= $value)?); )+
        };
    };
    (@entry $policy:ty, user_rules) => {
        #[unsafe(no_mangle)]
        extern "C" fn muster_user_rules(ptr: i32, len: i32) -> i64 {
            LOADED.with(|loaded| {
                $crate::ffi::call(ptr, len, |request| $crate::runtime::user_rules_loaded::<$policy>(request, loaded))
            })
        }
    };
    (@entry $policy:ty, settings_schema = $schema:expr) => {
        #[unsafe(no_mangle)]
        extern "C" fn muster_settings_schema(ptr: i32, len: i32) -> i64 {
            $crate::ffi::call(ptr, len, |_| $crate::runtime::settings_schema($schema))
        }
    };
    (@entry $policy:ty, group_rules) => {
        #[unsafe(no_mangle)]
        extern "C" fn muster_group_rules(ptr: i32, len: i32) -> i64 {
            LOADED.with(|loaded| {
                $crate::ffi::call(ptr, len, |request| $crate::runtime::group_rules_loaded::<$policy>(request, loaded))
            })
        }
    };
}
