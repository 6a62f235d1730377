//! The native side of the helpers scripts call (`trace.check`, `trace.note`, `matches`,
//! `regex`): the steps recorded during one call, and the host regexes compiled so far.

use std::{cell::RefCell, collections::HashMap};

use muster_guest::{Regex, Trace};
use rquickjs::{Ctx, Exception, Function, Result};

/// A step recorded by the script, replayed into the evaluation's [`Trace`] afterwards.
enum Step {
    Check { rule: String, check: String, matched: bool },
    Note { rule: Option<String>, note: String },
}

thread_local! {
    /// The steps of the call under way.
    static STEPS: RefCell<Vec<Step>> = const { RefCell::new(Vec::new()) };
    /// Every pattern compiled in this instance, by pattern: those compiled while the settings
    /// were loaded are in the snapshot, so no evaluation compiles them again.
    static REGEXES: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// The native functions the prelude hands to the script's helpers: record a check, record a
/// note, match a pattern, compile a pattern.
pub fn natives<'js>(ctx: &Ctx<'js>) -> Result<(Function<'js>, Function<'js>, Function<'js>, Function<'js>)> {
    let check = Function::new(ctx.clone(), |rule: String, check: String, matched: bool| {
        STEPS.with(|steps| steps.borrow_mut().push(Step::Check { rule, check, matched }));
    })?;
    let note = Function::new(ctx.clone(), |rule: Option<String>, note: String| {
        STEPS.with(|steps| steps.borrow_mut().push(Step::Note { rule, note }));
    })?;
    let matches = Function::new(ctx.clone(), |ctx: Ctx<'js>, pattern: String, text: String| {
        with_regex(&ctx, &pattern, |regex| regex.is_match(&text))
    })?;
    let compile = Function::new(ctx.clone(), |ctx: Ctx<'js>, pattern: String| with_regex(&ctx, &pattern, |_| ()))?;
    Ok((check, note, matches, compile))
}

/// Runs `f` on the compiled `pattern`, compiling it on first use; a bad pattern throws a
/// `SyntaxError` naming it.
fn with_regex<'js, T>(ctx: &Ctx<'js>, pattern: &str, f: impl FnOnce(&Regex) -> T) -> Result<T> {
    REGEXES.with(|regexes| {
        let mut regexes = regexes.borrow_mut();
        if let Some(regex) = regexes.get(pattern) {
            return Ok(f(regex));
        }
        let regex = Regex::new(pattern)
            .map_err(|e| Exception::throw_syntax(ctx, &format!("invalid regex {pattern:?}: {e}")))?;
        let answer = f(&regex);
        regexes.insert(pattern.to_owned(), regex);
        Ok(answer)
    })
}

/// Forgets steps left by an earlier call that did not finish.
pub fn start_recording() {
    STEPS.with(|steps| steps.borrow_mut().clear());
}

/// Moves the steps recorded since [`start_recording`] into `trace`, in order.
pub fn finish_recording(trace: &mut Trace) {
    for step in STEPS.with(|steps| std::mem::take(&mut *steps.borrow_mut())) {
        match step {
            Step::Check { rule, check, matched } => {
                trace.check(&rule, check, matched);
            }
            Step::Note { rule, note } => trace.note(rule.as_deref(), note),
        }
    }
}
