//! The decision core: what the rules see of a user, how a realm's loaded rules decide, and what
//! a decision record holds. Every trigger (login, each SCIM event) and every preview (dry run,
//! impact preview, backtest, shadow, replay) goes through these functions, so what a tenant
//! tests is what runs.
//!
//! Nothing here touches the store, a cache, metrics or the async runtime: [`evaluator::evaluate`]
//! is a synchronous function of already-loaded modules and an input, as pure as the modules it
//! runs. Loading, caching, `spawn_blocking` and metrics wrap it in [`crate::service::rules`].
//!
//! * [`input`]: the one definition of the rules' input for a stored user;
//! * [`evaluator`]: running a realm's loaded modules, with the default-organization fallback;
//! * [`outcome`]: what the rules said, and its effect on the user (organization, groups, marks);
//! * [`record`]: the decision record stored for every evaluation that ran live;
//! * [`failure_policy`]: what a realm's failure policy makes of a live decision that failed;
//! * [`difference`]: what changed between a recorded decision and a replay of it.

pub mod difference;
pub mod evaluator;
pub mod failure_policy;
pub mod input;
pub mod outcome;
pub mod record;
