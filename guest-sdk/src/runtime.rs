//! The entry points behind every export, as plain functions from request bytes to response
//! bytes.
//!
//! Inside the sandbox, [`crate::export!`] wires these to the module's exports; natively, the
//! harness calls them directly. Both therefore decode, decide and encode identically.

use muster_wire::{GroupDecision, GroupRequest, GuestError, Response, UserRequest, codec, trace::TraceStep};
use serde::Serialize;

use crate::{GroupRules, Policy, Trace, UserRules, settings};

/// Validates a JSON settings document; answers `Response<Vec<u8>>` with the prepared settings.
pub fn prepare_settings<P: Policy>(json: &[u8]) -> Vec<u8> {
    respond(settings::prepare::<P>(json).map_err(GuestError::Settings), Vec::new())
}

/// Answers `Response<String>` with `schema`, the JSON Schema of the policy's settings as JSON
/// text (generated natively: [`crate::export!`]).
pub fn settings_schema(schema: &str) -> Vec<u8> {
    respond(Ok(schema.to_owned()), Vec::new())
}

/// Evaluates user rules on an encoded [`UserRequest`]; answers `Response<UserDecision>`.
pub fn user_rules<P: UserRules>(request: &[u8]) -> Vec<u8> {
    let mut trace = Trace::new();
    let result = decode_with_settings::<P, UserRequest>(request, |r| &r.settings)
        .map(|(request, settings)| P::decide_user(&settings, &request.user, &request.context, &mut trace));
    respond(result, trace.into_steps())
}

/// Evaluates group rules on an encoded [`GroupRequest`]; answers `Response<GroupDecision>`.
pub fn group_rules<P: GroupRules>(request: &[u8]) -> Vec<u8> {
    let mut trace = Trace::new();
    let result = decode_with_settings::<P, GroupRequest>(request, |r| &r.settings).map(|(request, settings)| {
        let groups = request
            .groups
            .iter()
            .map(|group| P::decide_group(&settings, group, &request.context, &mut trace))
            .collect();
        GroupDecision { groups }
    });
    respond(result, trace.into_steps())
}

fn decode_with_settings<P: Policy, R: serde::de::DeserializeOwned>(
    bytes: &[u8],
    settings_of: impl Fn(&R) -> &[u8],
) -> Result<(R, P::Settings), GuestError> {
    let request: R = codec::decode(bytes).map_err(|e| GuestError::Request(e.0))?;
    let settings = settings::load::<P>(settings_of(&request)).map_err(GuestError::Settings)?;
    Ok((request, settings))
}

fn respond<T: Serialize>(result: Result<T, GuestError>, trace: Vec<TraceStep>) -> Vec<u8> {
    codec::encode(&Response { result, trace }).unwrap_or_else(|e| {
        let failure: Response<()> = Response {
            result: Err(GuestError::Rule(format!("response could not be encoded: {e}"))),
            trace: Vec::new(),
        };
        codec::encode(&failure).unwrap_or_default()
    })
}
