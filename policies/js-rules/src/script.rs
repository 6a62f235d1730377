//! A script loaded into QuickJS: its own runtime and context, the prelude and the script's top
//! level run once, and its entry functions kept for every call.
//!
//! The instance keeps one loaded script in a thread-local. Inside the sandbox the host loads the
//! version's settings once ([`crate::JsRules`]'s `on_load`) and snapshots the instance, so every
//! evaluation starts with the script already evaluated. Natively, and for a request that carries
//! settings, the script is loaded on first use and kept while the settings stay the same.

use std::cell::RefCell;

use muster_guest::{Context, GroupAssignment, Trace, User, UserDecision};
use rquickjs::{Ctx, Function, Module, Object, Persistent, Runtime, Value};

use crate::{
    Settings, convert,
    error::{SCRIPT_NAME, ScriptError, caught, caught_in_source, config_refused},
    helpers, limits,
};

/// Run before the script: removes what is not deterministic, defines the helpers.
const PRELUDE: &str = include_str!("js/prelude.js");

/// The entry deciding about a user.
pub const DECIDE_USER: &str = "decideUser";
/// The entry marking a provider group.
pub const DECIDE_GROUP: &str = "decideGroup";
/// The optional export that checks the settings' `config` when they are validated.
pub const VALIDATE_CONFIG: &str = "validateConfig";

/// A loaded script.
pub struct Script {
    // Fields drop in order: the values kept for the context go before the context.
    decide_user: Option<Persistent<Function<'static>>>,
    decide_group: Option<Persistent<Function<'static>>>,
    config: Persistent<Value<'static>>,
    context: rquickjs::Context,
    /// The settings this script was loaded from.
    settings: Settings,
}

thread_local! {
    static LOADED: RefCell<Option<Script>> = const { RefCell::new(None) };
}

impl Script {
    /// Loads `settings`' script: a fresh runtime, the prelude, the script's top level, its
    /// exports looked up, and the settings' `config` checked by the script's `validateConfig`
    /// when it exports one. Fails, with the place when QuickJS knows it, when the script does
    /// not parse, its top level throws, it exports neither entry, or `validateConfig` throws.
    pub fn load(settings: &Settings) -> Result<Self, ScriptError> {
        let runtime = Runtime::new().map_err(|e| ScriptError::Engine(e.to_string()))?;
        limits::configure(&runtime);
        let context = rquickjs::Context::full(&runtime).map_err(|e| ScriptError::Engine(e.to_string()))?;
        limits::start();
        let (decide_user, decide_group, config) = context.with(|ctx| {
            let deep_freeze = prelude(&ctx)?;
            let namespace = evaluate(&ctx, &settings.script)?;
            let entry = |name: &str| -> Result<Option<Persistent<Function<'static>>>, ScriptError> {
                let value: Value = namespace.get(name).map_err(|e| caught(&ctx, e, "reading the script's exports"))?;
                Ok(value.into_function().map(|function| Persistent::save(&ctx, function)))
            };
            let (decide_user, decide_group) = (entry(DECIDE_USER)?, entry(DECIDE_GROUP)?);
            if decide_user.is_none() && decide_group.is_none() {
                return Err(ScriptError::NoEntries);
            }
            let config = config(&ctx, settings.config.as_ref(), &deep_freeze)?;
            let validate: Value =
                namespace.get(VALIDATE_CONFIG).map_err(|e| caught(&ctx, e, "reading the script's exports"))?;
            if let Some(validate) = validate.into_function() {
                validate.call::<_, Value>((config.clone(),)).map_err(|e| config_refused(&ctx, e, VALIDATE_CONFIG))?;
            }
            Ok((decide_user, decide_group, Persistent::save(&ctx, config)))
        })?;
        Ok(Self { decide_user, decide_group, config, context, settings: settings.clone() })
    }

    /// Runs `f` on the loaded script for `settings`, loading it first when none is loaded or it
    /// was loaded from other settings.
    pub fn with<T>(settings: &Settings, f: impl FnOnce(&Script) -> Result<T, ScriptError>) -> Result<T, ScriptError> {
        LOADED.with(|loaded| {
            let mut loaded = loaded.borrow_mut();
            let script = match loaded.take() {
                Some(script) if script.settings == *settings => script,
                _ => Script::load(settings)?,
            };
            let result = f(&script);
            *loaded = Some(script);
            result
        })
    }

    /// Whether the script exports `decideUser` and `decideGroup`.
    pub fn exports(&self) -> (bool, bool) {
        (self.decide_user.is_some(), self.decide_group.is_some())
    }

    /// Calls `decideUser(user, context)`, recording its trace steps into `trace`.
    pub fn decide_user(&self, user: &User, context: &Context, trace: &mut Trace) -> Result<UserDecision, ScriptError> {
        let function = self.decide_user.as_ref().ok_or(ScriptError::Missing(DECIDE_USER))?;
        self.call(
            function,
            DECIDE_USER,
            trace,
            |ctx, config| Ok((convert::user(ctx, user)?, convert::context(ctx, context, config)?)),
            convert::user_decision,
        )
    }

    /// Calls `decideGroup(group, context)`, recording its trace steps into `trace`.
    pub fn decide_group(
        &self,
        group: &str,
        context: &Context,
        trace: &mut Trace,
    ) -> Result<GroupAssignment, ScriptError> {
        let function = self.decide_group.as_ref().ok_or(ScriptError::Missing(DECIDE_GROUP))?;
        self.call(
            function,
            DECIDE_GROUP,
            trace,
            |ctx, config| {
                Ok((
                    Value::from_string(rquickjs::String::from_str(ctx.clone(), group)?),
                    convert::context(ctx, context, config)?,
                ))
            },
            |ctx, returned| convert::group_assignment(ctx, group, returned),
        )
    }

    /// Calls an entry with the two arguments `arguments` builds and reads its answer with `read`.
    fn call<T>(
        &self,
        function: &Persistent<Function<'static>>,
        name: &str,
        trace: &mut Trace,
        arguments: impl for<'js> FnOnce(&Ctx<'js>, Value<'js>) -> rquickjs::Result<(Value<'js>, Value<'js>)>,
        read: impl for<'js> FnOnce(&Ctx<'js>, &Value<'js>) -> Result<T, ScriptError>,
    ) -> Result<T, ScriptError> {
        helpers::start_recording();
        limits::start();
        let result = self.context.with(|ctx| {
            let function = function.clone().restore(&ctx).map_err(|e| caught(&ctx, e, name))?;
            let config = self.config.clone().restore(&ctx).map_err(|e| caught(&ctx, e, name))?;
            let arguments = arguments(&ctx, config).map_err(|e| caught(&ctx, e, name))?;
            let returned: Value = function.call(arguments).map_err(|e| caught(&ctx, e, name))?;
            read(&ctx, &returned)
        });
        helpers::finish_recording(trace);
        result
    }
}

/// Runs the prelude; returns its `deepFreeze`.
fn prelude<'js>(ctx: &Ctx<'js>) -> Result<Function<'js>, ScriptError> {
    let during = "the prelude";
    let install: Function = ctx.eval(PRELUDE).map_err(|e| caught(ctx, e, during))?;
    install.call(helpers::natives(ctx).map_err(|e| caught(ctx, e, during))?).map_err(|e| caught(ctx, e, during))
}

/// Parses and evaluates the script as an ES module; returns its namespace (its exports).
fn evaluate<'js>(ctx: &Ctx<'js>, source: &str) -> Result<Object<'js>, ScriptError> {
    let during = "the script's top level";
    let located = |e| caught_in_source(ctx, e, source, during);
    let declared = Module::declare(ctx.clone(), SCRIPT_NAME, source).map_err(located)?;
    let (module, promise) = declared.eval().map_err(located)?;
    promise.finish::<()>().map_err(located)?;
    module.namespace().map_err(|e| caught(ctx, e, during))
}

/// The settings' `config` as a frozen JavaScript value (`null` when absent).
fn config<'js>(
    ctx: &Ctx<'js>,
    config: Option<&serde_json::Value>,
    deep_freeze: &Function<'js>,
) -> Result<Value<'js>, ScriptError> {
    let during = "reading the settings' config";
    let Some(config) = config else { return Ok(Value::new_null(ctx.clone())) };
    let value = ctx.json_parse(config.to_string()).map_err(|e| caught(ctx, e, during))?;
    deep_freeze.call((value,)).map_err(|e| caught(ctx, e, during))
}
