//! What goes wrong with a script, in words its author can act on.

use rquickjs::{Ctx, Exception, Value};

/// The name QuickJS gives the author's script in error locations.
pub const SCRIPT_NAME: &str = "rules.js";

/// A script that could not be loaded or could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The script is not valid JavaScript (or its top level threw): where, what, and the line.
    #[error("line {line}, column {column}: {message}\n{excerpt}")]
    Located {
        /// 1-based line in the script.
        line: usize,
        /// 1-based column in the script.
        column: usize,
        /// The error's name and message (`SyntaxError: unexpected token …`).
        message: String,
        /// The offending line, numbered, for the author to see.
        excerpt: String,
    },
    /// Something the script ran threw.
    #[error("{during} threw {thrown}")]
    Threw {
        /// What was running: `decideUser`, `the script's top level`, …
        during: String,
        /// The thrown value, described with its location when it is an `Error`.
        thrown: String,
    },
    /// An entry function returned something that is not a decision.
    #[error("{entry} returned {returned}: {problem}")]
    Shape {
        /// The entry function.
        entry: &'static str,
        /// The value returned, as JSON (shortened).
        returned: String,
        /// Which field is wrong and what it must be.
        problem: String,
    },
    /// The script does not export the entry the host called.
    #[error("the script exports no function `{0}`: export one (`export function {0}(…) {{ … }}`) to decide this")]
    Missing(&'static str),
    /// The script exports neither entry.
    #[error(
        "the script exports neither `decideUser` nor `decideGroup`: export at least one, e.g. `export function decideUser(user, context) {{ … }}`"
    )]
    NoEntries,
    /// The script's `validateConfig` refused the settings' `config`.
    #[error("{message}")]
    Config {
        /// Where in `config`, in the API's notation (`rules[0].pattern`; `""`: all of it): the
        /// thrown `ConfigError`'s `path`.
        path: String,
        /// What is wrong: the thrown error's message.
        message: String,
    },
    /// The JavaScript engine itself failed (out of memory while setting up, say).
    #[error("the JavaScript engine failed: {0}")]
    Engine(String),
}

/// The most characters of a value or a line quoted in a message.
const QUOTE_LIMIT: usize = 200;

/// Turns an rquickjs error into a [`ScriptError`], taking the pending exception when there is
/// one. `during` names what was running.
pub fn caught(ctx: &Ctx<'_>, error: rquickjs::Error, during: &str) -> ScriptError {
    if !matches!(error, rquickjs::Error::Exception) {
        return ScriptError::Engine(error.to_string());
    }
    ScriptError::Threw { during: during.to_owned(), thrown: describe_thrown(ctx, &ctx.catch()) }
}

/// The pending exception of a failed `validateConfig`: a refusal of `config` at the thrown
/// error's `path` (a `ConfigError`'s, or any error's with a string `path`; else all of
/// `config`) with its message; a thrown value that is not an `Error` is described as [`caught`]
/// describes it. `during` names the function that ran.
pub fn config_refused(ctx: &Ctx<'_>, error: rquickjs::Error, during: &str) -> ScriptError {
    if !matches!(error, rquickjs::Error::Exception) {
        return ScriptError::Engine(error.to_string());
    }
    let thrown = ctx.catch();
    let Some(exception) = thrown.as_object().and_then(|o| Exception::from_object(o.clone())) else {
        return ScriptError::Threw { during: during.to_owned(), thrown: describe_thrown(ctx, &thrown) };
    };
    let path: Option<String> = exception.get("path").ok();
    let message = match exception.get::<_, Option<String>>("name").ok().flatten().as_deref() {
        Some("ConfigError") => exception.message().unwrap_or_default(),
        _ => describe_thrown(ctx, &thrown),
    };
    ScriptError::Config { path: path.unwrap_or_default(), message }
}

/// The pending exception of a failed load, located in `source` when QuickJS says where it
/// happened (a syntax error always does); otherwise as [`caught`] describes it.
pub fn caught_in_source(ctx: &Ctx<'_>, error: rquickjs::Error, source: &str, during: &str) -> ScriptError {
    if !matches!(error, rquickjs::Error::Exception) {
        return ScriptError::Engine(error.to_string());
    }
    let thrown = ctx.catch();
    match thrown.as_object().and_then(|o| Exception::from_object(o.clone())) {
        Some(exception) => match location(&exception) {
            Some((line, column)) => ScriptError::Located {
                line,
                column,
                message: name_and_message(&exception),
                excerpt: excerpt(source, line),
            },
            None => ScriptError::Threw { during: during.to_owned(), thrown: name_and_message(&exception) },
        },
        None => ScriptError::Threw { during: during.to_owned(), thrown: describe_thrown(ctx, &thrown) },
    }
}

/// A thrown value as a message: an `Error` by its name, message and place
/// (`TypeError: x is undefined at rules.js:4:11`); anything else by its type and value, with a
/// hint that throwing an `Error` gives the place.
pub fn describe_thrown<'js>(ctx: &Ctx<'js>, thrown: &Value<'js>) -> String {
    if let Some(exception) = thrown.as_object().and_then(|o| Exception::from_object(o.clone())) {
        let text = name_and_message(&exception);
        return match location(&exception) {
            Some((line, column)) => format!("{text} at {SCRIPT_NAME}:{line}:{column}"),
            None => text,
        };
    }
    let what = match thrown.type_of() {
        rquickjs::Type::String => "a string",
        rquickjs::Type::Int | rquickjs::Type::Float => "a number",
        rquickjs::Type::Bool => "a boolean",
        rquickjs::Type::Undefined | rquickjs::Type::Uninitialized => "undefined",
        rquickjs::Type::Null => "null",
        rquickjs::Type::Array => "an array",
        _ => "an object",
    };
    match json(ctx, thrown) {
        Some(text) if !thrown.is_undefined() && !thrown.is_null() => {
            format!("{what}, not an Error: {text} (throw new Error(…) to see where)")
        }
        _ => format!("{what}, not an Error (throw new Error(…) to see where)"),
    }
}

/// A value as JSON, shortened to [`QUOTE_LIMIT`] characters; `None` when it has no JSON form.
pub fn json<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> Option<String> {
    let text = ctx.json_stringify(value.clone()).ok()??.to_string().ok()?;
    Some(shorten(&text))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `TypeError: message`, or the message alone when the error has no name.
fn name_and_message(exception: &Exception<'_>) -> String {
    let name: Option<String> = exception.get("name").ok();
    let message = exception.message().unwrap_or_default();
    match name {
        Some(name) if !name.is_empty() => format!("{name}: {message}"),
        _ => message,
    }
}

/// The first place in the author's script the error's stack names, as (line, column).
fn location(exception: &Exception<'_>) -> Option<(usize, usize)> {
    let stack = exception.stack()?;
    let marker = format!("{SCRIPT_NAME}:");
    stack.lines().find_map(|frame| {
        let rest = &frame[frame.find(&marker)? + marker.len()..];
        let mut numbers = rest.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty());
        Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
    })
}

/// Line `line` of `source`, numbered as an editor shows it: `  3 | if (x ==) {`.
fn excerpt(source: &str, line: usize) -> String {
    let text = source.lines().nth(line.saturating_sub(1)).unwrap_or("");
    format!("{line:>3} | {}", shorten(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_number_the_line_and_shorten_it() {
        assert_eq!(excerpt("a\nif (x ==) {\n", 2), "  2 | if (x ==) {");
        assert!(excerpt(&"x".repeat(500), 1).ends_with('…'));
        assert_eq!(excerpt("", 9), "  9 | ");
    }
}
