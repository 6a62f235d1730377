//! Checks a compiled module against the wire contract: only Muster's host functions may be
//! imported, and the required exports must exist with the right signatures.

use muster_wire::abi::{self, imports};
use wasmtime::{ExternType, FuncType, Module, ValType};

use crate::{LoadError, module::Entries};

/// A function signature as plain value types.
struct Signature {
    params: &'static [ValType],
    results: &'static [ValType],
    text: &'static str,
}

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

const ENTRY: Signature = Signature { params: &[I32, I32], results: &[I64], text: "a function (i32, i32) -> i64" };

/// Checks imports and exports; returns which entry points the module provides.
pub fn check(module: &Module) -> Result<Entries, LoadError> {
    for import in module.imports() {
        check_import(import.module(), import.name(), &import.ty())?;
    }
    match module.get_export(abi::MEMORY) {
        Some(ExternType::Memory(memory)) if !memory.is_64() && !memory.is_shared() => {}
        Some(_) => return Err(LoadError::WrongExport { name: abi::MEMORY, expected: "a 32-bit, unshared memory" }),
        None => return Err(LoadError::MissingExport(abi::MEMORY)),
    }
    require_func(
        module,
        abi::ABI_VERSION_EXPORT,
        &Signature { params: &[], results: &[I32], text: "a function () -> i32" },
    )?;
    require_func(module, abi::ALLOC, &Signature { params: &[I32], results: &[I32], text: "a function (i32) -> i32" })?;
    let entries = Entries {
        user_rules: optional_func(module, abi::USER_RULES, &ENTRY)?,
        group_rules: optional_func(module, abi::GROUP_RULES, &ENTRY)?,
        prepare_settings: optional_func(module, abi::PREPARE_SETTINGS, &ENTRY)?,
        settings_schema: optional_func(module, abi::SETTINGS_SCHEMA, &ENTRY)?,
        load_settings: optional_func(module, abi::LOAD_SETTINGS, &ENTRY)?,
        settings_entries: optional_func(module, abi::SETTINGS_ENTRIES, &ENTRY)?,
    };
    if !entries.user_rules && !entries.group_rules {
        return Err(LoadError::NoEntryPoint);
    }
    Ok(entries)
}

fn check_import(module: &str, name: &str, ty: &ExternType) -> Result<(), LoadError> {
    let refuse =
        |reason: String| LoadError::ForbiddenImport { module: module.to_owned(), name: name.to_owned(), reason };
    if module != imports::MODULE {
        let reason = if module.starts_with("wasi") {
            "rule modules get no WASI (no filesystem, clock, randomness or network); build for wasm32-unknown-unknown"
                .to_owned()
        } else {
            format!("only the host functions of module `{}` may be imported", imports::MODULE)
        };
        return Err(refuse(reason));
    }
    let expected = match name {
        imports::REGEX_COMPILE => {
            Signature { params: &[I32, I32, I32, I32], results: &[I32], text: "(i32, i32, i32, i32) -> i32" }
        }
        imports::REGEX_IS_MATCH => {
            Signature { params: &[I32, I32, I32], results: &[I32], text: "(i32, i32, i32) -> i32" }
        }
        imports::ABORT => Signature { params: &[I32, I32], results: &[], text: "(i32, i32) -> ()" },
        _ => return Err(refuse("no such host function".to_owned())),
    };
    match ty {
        ExternType::Func(func) if matches(func, &expected) => Ok(()),
        _ => Err(refuse(format!("must be imported as a function {}", expected.text))),
    }
}

fn require_func(module: &Module, name: &'static str, signature: &Signature) -> Result<(), LoadError> {
    if optional_func(module, name, signature)? { Ok(()) } else { Err(LoadError::MissingExport(name)) }
}

fn optional_func(module: &Module, name: &'static str, signature: &Signature) -> Result<bool, LoadError> {
    match module.get_export(name) {
        None => Ok(false),
        Some(ExternType::Func(func)) if matches(&func, signature) => Ok(true),
        Some(_) => Err(LoadError::WrongExport { name, expected: signature.text }),
    }
}

fn matches(func: &FuncType, signature: &Signature) -> bool {
    let same = |actual: &mut dyn ExactSizeIterator<Item = ValType>, expected: &[ValType]| {
        actual.len() == expected.len() && actual.zip(expected).all(|(a, e)| ValType::eq(&a, e))
    };
    same(&mut func.params(), signature.params) && same(&mut func.results(), signature.results)
}
