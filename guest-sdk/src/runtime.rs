//! The entry points behind every export, as plain functions from request bytes to response
//! bytes.
//!
//! Inside the sandbox, [`crate::export!`] wires these to the module's exports; natively, the
//! harness calls them directly. Both therefore decode, decide and encode identically.
//!
//! A request's settings are decoded on every call, unless the instance was given them once with
//! [`load_settings`] and the request carries none: the host does that once per module version
//! and snapshots the instance (see `muster_load_settings` in `docs/abi.md`).

use std::{cell::OnceCell, ops::Deref};

use muster_wire::{GroupDecision, GroupRequest, GuestError, Response, UserRequest, codec, trace::TraceStep};
use serde::Serialize;

use crate::{GroupRules, Policy, Trace, UserRules, settings};

/// Settings decoded once by [`load_settings`], for every later request that carries none.
pub struct LoadedSettings<S>(OnceCell<S>);

impl<S> LoadedSettings<S> {
    /// Nothing loaded yet.
    pub const fn new() -> Self {
        Self(OnceCell::new())
    }
}

impl<S> Default for LoadedSettings<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// Decodes prepared settings, runs [`Policy::on_load`] on them and keeps them in `loaded`
/// (settings loaded before stay: an instance's settings never change); answers `Response<()>`.
pub fn load_settings<P: Policy>(prepared: &[u8], loaded: &LoadedSettings<P::Settings>) -> Vec<u8> {
    let result = match loaded.0.get() {
        Some(_) => Ok(()),
        None => settings::load::<P>(prepared).and_then(|settings| {
            P::on_load(&settings)?;
            let _ = loaded.0.set(settings);
            Ok(())
        }),
    };
    respond(result.map_err(GuestError::Settings), Vec::new())
}

/// Validates a JSON settings document; answers `Response<Vec<u8>>` with the prepared settings.
pub fn prepare_settings<P: Policy>(json: &[u8]) -> Vec<u8> {
    respond(settings::prepare::<P>(json).map_err(GuestError::Settings), Vec::new())
}

/// Which entries the prepared settings leave nothing to run ([`Policy::missing_entries`]);
/// answers `Response<MissingEntries>`.
pub fn settings_entries<P: Policy>(prepared: &[u8]) -> Vec<u8> {
    let result = settings::load::<P>(prepared).map(|settings| P::missing_entries(&settings));
    respond(result.map_err(GuestError::Settings), Vec::new())
}

/// Answers `Response<String>` with `schema`, the JSON Schema of the policy's settings as JSON
/// text (generated natively: [`crate::export!`]).
pub fn settings_schema(schema: &str) -> Vec<u8> {
    respond(Ok(schema.to_owned()), Vec::new())
}

/// Evaluates user rules on an encoded [`UserRequest`]; answers `Response<UserDecision>`.
pub fn user_rules<P: UserRules>(request: &[u8]) -> Vec<u8> {
    user_rules_loaded::<P>(request, &LoadedSettings::new())
}

/// [`user_rules`], using the `loaded` settings when the request carries none.
pub fn user_rules_loaded<P: UserRules>(request: &[u8], loaded: &LoadedSettings<P::Settings>) -> Vec<u8> {
    let mut trace = Trace::new();
    let result =
        decode_with_settings::<P, UserRequest>(request, |r| &r.settings, loaded).and_then(|(request, settings)| {
            P::try_decide_user(&settings, &request.user, &request.context, &mut trace).map_err(GuestError::Rule)
        });
    respond(result, trace.into_steps())
}

/// Evaluates group rules on an encoded [`GroupRequest`]; answers `Response<GroupDecision>`.
pub fn group_rules<P: GroupRules>(request: &[u8]) -> Vec<u8> {
    group_rules_loaded::<P>(request, &LoadedSettings::new())
}

/// [`group_rules`], using the `loaded` settings when the request carries none.
pub fn group_rules_loaded<P: GroupRules>(request: &[u8], loaded: &LoadedSettings<P::Settings>) -> Vec<u8> {
    let mut trace = Trace::new();
    let result =
        decode_with_settings::<P, GroupRequest>(request, |r| &r.settings, loaded).and_then(|(request, settings)| {
            let groups = request
                .groups
                .iter()
                .map(|group| P::try_decide_group(&settings, group, &request.context, &mut trace))
                .collect::<Result<_, _>>()
                .map_err(GuestError::Rule)?;
            Ok(GroupDecision { groups })
        });
    respond(result, trace.into_steps())
}

/// A request's settings: decoded from it, or the instance's loaded ones.
enum Settings<'a, S> {
    Decoded(S),
    Loaded(&'a S),
}

impl<S> Deref for Settings<'_, S> {
    type Target = S;

    fn deref(&self) -> &S {
        match self {
            Settings::Decoded(settings) => settings,
            Settings::Loaded(settings) => settings,
        }
    }
}

fn decode_with_settings<'a, P: Policy, R: serde::de::DeserializeOwned>(
    bytes: &[u8],
    settings_of: impl Fn(&R) -> &[u8],
    loaded: &'a LoadedSettings<P::Settings>,
) -> Result<(R, Settings<'a, P::Settings>), GuestError> {
    let request: R = codec::decode(bytes).map_err(|e| GuestError::Request(e.0))?;
    let settings = match (settings_of(&request), loaded.0.get()) {
        (&[], Some(settings)) => Settings::Loaded(settings),
        (carried, _) => Settings::Decoded(settings::load::<P>(carried).map_err(GuestError::Settings)?),
    };
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

#[cfg(test)]
mod tests {
    use muster_wire::{Context, User, UserDecision, codec};
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::decisions::UserDecisionExt;

    /// Every user goes to the settings' organization.
    struct Everyone;

    #[derive(Serialize, Deserialize)]
    struct Settings {
        organization: String,
    }

    impl Policy for Everyone {
        type Settings = Settings;
    }

    impl UserRules for Everyone {
        fn decide_user(settings: &Settings, _: &User, _: &Context, _: &mut Trace) -> UserDecision {
            UserDecision::organization(&settings.organization)
        }
    }

    fn prepared(organization: &str) -> Vec<u8> {
        settings::prepare::<Everyone>(format!(r#"{{"organization":"{organization}"}}"#).as_bytes()).unwrap()
    }

    fn decided(request_settings: &[u8], loaded: &LoadedSettings<Settings>) -> Result<UserDecision, GuestError> {
        let request = codec::encode_user_request(&Context::default(), request_settings, &User::default()).unwrap();
        codec::decode::<Response<UserDecision>>(&user_rules_loaded::<Everyone>(&request, loaded)).unwrap().result
    }

    #[test]
    fn loaded_settings_serve_requests_that_carry_none() {
        let loaded = LoadedSettings::new();
        let answer: Response<()> = codec::decode(&load_settings::<Everyone>(&prepared("acme"), &loaded)).unwrap();
        assert_eq!(answer.result, Ok(()));
        assert_eq!(decided(&[], &loaded).unwrap().organization.as_deref(), Some("acme"));
        // Settings a request carries win, and the loaded ones never change.
        assert_eq!(decided(&prepared("globex"), &loaded).unwrap().organization.as_deref(), Some("globex"));
        let _ = load_settings::<Everyone>(&prepared("globex"), &loaded);
        assert_eq!(decided(&[], &loaded).unwrap().organization.as_deref(), Some("acme"));
    }

    /// Counts its loads; refuses to load the organization `refused`.
    struct Counting;

    thread_local! {
        static LOADS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }

    impl Policy for Counting {
        type Settings = Settings;

        fn on_load(settings: &Settings) -> Result<(), crate::SettingsError> {
            LOADS.with(|loads| loads.set(loads.get() + 1));
            match settings.organization.as_str() {
                "refused" => Err(settings::error_at("organization", "refused at load")),
                _ => Ok(()),
            }
        }
    }

    #[test]
    fn on_load_runs_once_when_settings_are_loaded_and_its_error_fails_the_load() {
        let loaded = LoadedSettings::new();
        let answer: Response<()> = codec::decode(&load_settings::<Counting>(&prepared("acme"), &loaded)).unwrap();
        assert_eq!(answer.result, Ok(()));
        let _ = load_settings::<Counting>(&prepared("acme"), &loaded);
        assert_eq!(LOADS.with(std::cell::Cell::get), 1, "settings already loaded are not loaded again");

        let loaded = LoadedSettings::new();
        let answer: Response<()> = codec::decode(&load_settings::<Counting>(&prepared("refused"), &loaded)).unwrap();
        match answer.result {
            Err(GuestError::Settings(e)) => {
                assert_eq!((e.path.as_str(), e.message.as_str()), ("organization", "refused at load"))
            }
            other => panic!("expected a settings error, got {other:?}"),
        }
        assert!(loaded.0.get().is_none(), "settings refused at load are not kept");
    }

    /// Refuses every user, with the trace it recorded so far.
    struct Failing;

    impl Policy for Failing {
        type Settings = Settings;
    }

    impl UserRules for Failing {
        fn decide_user(_: &Settings, _: &User, _: &Context, _: &mut Trace) -> UserDecision {
            UserDecision::no_organization()
        }

        fn try_decide_user(_: &Settings, _: &User, _: &Context, trace: &mut Trace) -> Result<UserDecision, String> {
            trace.note(None, "about to fail");
            Err("the script threw".to_owned())
        }
    }

    #[test]
    fn a_rule_that_cannot_decide_fails_as_a_rule_error_and_keeps_its_trace() {
        let request = codec::encode_user_request(&Context::default(), &prepared("acme"), &User::default()).unwrap();
        let answer: Response<UserDecision> = codec::decode(&user_rules::<Failing>(&request)).unwrap();
        assert_eq!(answer.result, Err(GuestError::Rule("the script threw".to_owned())));
        assert_eq!(answer.trace.len(), 1);
    }

    #[test]
    fn without_loaded_settings_a_request_without_settings_is_refused() {
        assert!(matches!(decided(&[], &LoadedSettings::new()), Err(GuestError::Settings(_))));
        let loaded = LoadedSettings::new();
        let answer: Response<()> = codec::decode(&load_settings::<Everyone>(b"\x07corrupt", &loaded)).unwrap();
        assert!(matches!(answer.result, Err(GuestError::Settings(_))));
        assert!(matches!(decided(&[], &loaded), Err(GuestError::Settings(_))));
    }
}
