//! The routes a router declares, read from its source: every `.route(path, method_router)` of a
//! file such as `host/src/api/mod.rs`, as `(METHOD, path pattern)` pairs, so tests can check
//! that the router, the API documents and the test tables agree without a running server.
//!
//! The reader knows the shapes the routers are written in: a path is a string literal, a `let`
//! binding of one (`let realm = "/v1/…";`), or `&format!("{realm}/users/{{user}}")` over such
//! bindings; a method router is a chain of `get(…)`, `post(…)`, … calls (`any(…)` reads as the
//! method `ANY`). Anything else fails loudly rather than being skipped.

#![allow(dead_code, reason = "Each test binary uses a different subset.")]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// The routing functions of `axum::routing` the reader recognises in a method router; `any`
/// (every method) is reported as the method `ANY`.
const METHOD_FUNCTIONS: [&str; 9] = ["get", "post", "put", "patch", "delete", "head", "options", "trace", "any"];

/// `(METHOD, path pattern)` of every `.route(…)` in `file` (a path relative to the `muster`
/// crate, `host/`, such as `src/api/mod.rs`), with one pair per method of each route. Paths are
/// as axum matches them: `{tenant}` captures, `{*rest}` wildcards. Panics when a route cannot
/// be read, or when the file has none.
pub fn routes_of(file: &str) -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    // Comment lines (doc comments included) may quote `.route(` without declaring a route.
    let source: String =
        text.lines().filter(|line| !line.trim_start().starts_with("//")).map(|line| format!("{line}\n")).collect();
    let bindings = string_bindings(&source);
    let mut routes = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(start) = rest.find(".route(") {
        let call = &rest[start + ".route(".len()..];
        let end = matching_paren(call, file);
        let args = &call[..end];
        rest = &call[end..];
        let (path_arg, methods) = split_top_level_comma(args);
        let path_arg = path_arg.trim();
        let path = if let Some(literal) = path_arg.strip_prefix('"') {
            literal.trim_end_matches('"').to_owned()
        } else if let Some(format) = path_arg.strip_prefix("&format!(\"") {
            expand_format(format.trim_end_matches(')').trim_end_matches('"'), &bindings, file)
        } else {
            bindings.get(path_arg).cloned().unwrap_or_else(|| panic!("cannot read route path {path_arg:?} in {file}"))
        };
        let found = methods_of(methods);
        assert!(!found.is_empty(), "no method found for route {path} in {file}: {methods}");
        routes.extend(found.into_iter().map(|method| (method, path.clone())));
    }
    assert!(!routes.is_empty(), "no `.route(…)` in {file}");
    routes
}

/// The `let name = "literal";` bindings of `source`, which routes use as paths and prefixes.
pub fn string_bindings(source: &str) -> BTreeMap<String, String> {
    let mut bindings = BTreeMap::new();
    for line in source.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("let ")
            && let Some((name, value)) = rest.split_once('=')
            && let Some(literal) =
                value.trim().trim_end_matches(';').trim().strip_prefix('"').and_then(|v| v.strip_suffix('"'))
        {
            bindings.insert(name.trim().to_owned(), literal.to_owned());
        }
    }
    bindings
}

/// The methods a method router (`get(a).post(b)`, `delete(c)`, `any(d)`) routes, upper-case. A
/// routing function counts only as a call of its own, not as the end of a longer name
/// (`evaluate::get_user` is not `get`, nor is `users::get` without its parenthesis).
pub fn methods_of(method_router: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for function in METHOD_FUNCTIONS {
        let needle = format!("{function}(");
        let mut from = 0;
        while let Some(at) = method_router[from..].find(&needle) {
            let at = from + at;
            let before = method_router[..at].chars().last();
            if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                found.insert(function.to_uppercase());
            }
            from = at + needle.len();
        }
    }
    found
}

/// The index of the `)` closing the call whose arguments `text` starts with (parentheses in
/// string literals do not count). `file` names the source in the panic when there is none.
pub fn matching_paren(text: &str, file: &str) -> usize {
    let mut depth = 1;
    let mut in_string = false;
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        match c {
            '"' if previous != '\\' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        previous = c;
    }
    panic!("unbalanced parentheses in {file}")
}

/// `args` split at its first comma outside brackets and string literals: a route's path and
/// its method router.
pub fn split_top_level_comma(args: &str) -> (&str, &str) {
    let mut depth = 0;
    let mut in_string = false;
    for (i, c) in args.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' | '[' | '{' if !in_string => depth += 1,
            ')' | ']' | '}' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => return (&args[..i], &args[i + 1..]),
            _ => {}
        }
    }
    panic!("a route without a handler: {args}")
}

/// Expands `"{tenant}/keys/{{key}}"` as `format!` would, with `bindings` for the captures.
/// `file` names the source in the panic for an unknown capture.
pub fn expand_format(format: &str, bindings: &BTreeMap<String, String>, file: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                out.push_str(bindings.get(&name).unwrap_or_else(|| panic!("unknown capture {name} in {file}")));
            }
            other => out.push(other),
        }
    }
    out
}
