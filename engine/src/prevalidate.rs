//! The shape checks a module passes before the compiler sees it.
//!
//! Cranelift's time and memory grow with the size of each function it compiles and with how
//! its code branches and nests, not with the module's size alone: one function of a few million
//! nested `block`s is a few megabytes of module and gigabytes of compiler memory. This pass reads
//! the module once with `wasmparser` (the parser wasmtime itself uses, at the same version),
//! without compiling or allocating per instruction, and refuses a module whose functions are
//! too many, too large together or one by one, hold too many blocks (Cranelift's time grows with
//! their square in one function), are too deeply nested or declare too many locals. Everything
//! else (types, validation) is left to wasmtime.

use wasmparser::{FunctionBody, Operator, Parser, Payload, TypeRef};

use crate::{Limits, LoadError};

/// Checks the module's shape against `limits`; the first limit passed is the error.
pub fn check(wasm: &[u8], limits: &Limits) -> Result<(), LoadError> {
    let mut imported_functions: u32 = 0;
    let mut defined: u32 = 0;
    let mut code_bytes: usize = 0;
    let mut blocks: u32 = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(import.map_err(invalid)?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported_functions = imported_functions.saturating_add(1);
                    }
                }
            }
            Payload::FunctionSection(functions) if functions.count() > limits.max_functions => {
                return Err(LoadError::TooManyFunctions {
                    count: u64::from(functions.count()),
                    limit: limits.max_functions,
                });
            }
            Payload::CodeSectionStart { count, .. } if count > limits.max_functions => {
                return Err(LoadError::TooManyFunctions { count: u64::from(count), limit: limits.max_functions });
            }
            Payload::CodeSectionEntry(body) => {
                let function = imported_functions.saturating_add(defined);
                let in_function = check_function(function, &body, limits)?;
                blocks = blocks.saturating_add(in_function);
                if blocks > limits.max_blocks {
                    return Err(LoadError::TooManyBlocks { function, limit: limits.max_blocks });
                }
                code_bytes = code_bytes.saturating_add(body.range().len());
                if code_bytes > limits.max_code_bytes {
                    return Err(LoadError::TooMuchCode { function, limit: limits.max_code_bytes });
                }
                defined = defined.saturating_add(1);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks one function body: its size, its locals, then how many blocks it holds and how deep
/// they nest; answers how many blocks it holds.
fn check_function(function: u32, body: &FunctionBody<'_>, limits: &Limits) -> Result<u32, LoadError> {
    let size = body.range().len();
    if size > limits.max_function_body_bytes {
        return Err(LoadError::FunctionTooLarge { function, size, limit: limits.max_function_body_bytes });
    }
    let mut locals: u64 = 0;
    for group in body.get_locals_reader().map_err(invalid)? {
        let (count, _) = group.map_err(invalid)?;
        locals += u64::from(count);
        if locals > u64::from(limits.max_locals_per_function) {
            return Err(LoadError::TooManyLocals { function, count: locals, limit: limits.max_locals_per_function });
        }
    }
    let mut operators = body.get_operators_reader().map_err(invalid)?;
    let mut depth: u32 = 0;
    let mut blocks: u32 = 0;
    while !operators.eof() {
        match operators.read().map_err(invalid)? {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. } => {
                depth = depth.saturating_add(1);
                blocks = blocks.saturating_add(1);
                if blocks > limits.max_blocks_per_function {
                    return Err(LoadError::TooManyBlocksInFunction { function, limit: limits.max_blocks_per_function });
                }
                if depth > limits.max_nesting_depth {
                    return Err(LoadError::NestingTooDeep { function, depth, limit: limits.max_nesting_depth });
                }
            }
            // `end` closes a block (or, at depth 0, the function); `delegate` closes a `try`.
            Operator::End | Operator::Delegate { .. } => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(blocks)
}

/// Bytes the parser cannot read are not WebAssembly; wasmtime would say the same.
fn invalid(error: wasmparser::BinaryReaderError) -> LoadError {
    LoadError::InvalidWasm(crate::error::one_line(&error.to_string()))
}
