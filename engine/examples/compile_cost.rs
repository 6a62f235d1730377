//! `compile_cost SHAPE`: loads one module built to be as costly to compile as the engine's shape
//! limits allow, and reports the module's size, how the load ended, the time it took and the
//! process's peak and final resident memory (`VmHWM`, `VmRSS`). One shape a run, so that the
//! peak is that shape's alone.
//!
//! Every shape but `finding` fills `max_module_bytes` (8 MiB) with functions at the default
//! limits (`max_function_body_bytes`, `max_nesting_depth`, `max_locals_per_function`,
//! `max_functions`); `finding` is the shape of the security finding (one function of 2.5 M
//! nested blocks) loaded with the shape limits lifted, the cost before they existed. The compile
//! timeout is lifted for all of them, so the figures are the whole compile.
//!
//! ```text
//! cargo run --release -p muster-engine --example compile_cost -- nested
//! ```

use std::time::{Duration, Instant};

use muster_engine::{Engine, EngineConfig, Limits};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemorySection, MemoryType, Module,
    TypeSection, ValType,
};

const END: u8 = 0x0b;
const BLOCK: [u8; 2] = [0x02, 0x40];

fn main() {
    let shape = std::env::args().nth(1).unwrap_or_default();
    // An optional second argument: the module size to fill, in KiB (default: max_module_bytes).
    let fill_kib: Option<usize> = std::env::args().nth(2).and_then(|kib| kib.parse().ok());
    let mut defaults = Limits {
        max_module_bytes: fill_kib.map_or(Limits::default().max_module_bytes, |kib| kib << 10),
        ..Limits::default()
    };
    // Then `depth=N`, `locals=N`, `body=N`: other shape limits to build the module at.
    for setting in std::env::args().skip(3) {
        let (key, value) = setting.split_once('=').unwrap_or((&setting, ""));
        let value: usize = value.parse().unwrap_or_else(|_| panic!("{setting}: expected KEY=NUMBER"));
        match key {
            "depth" => defaults.max_nesting_depth = value as u32,
            "locals" => defaults.max_locals_per_function = value as u32,
            "body" => defaults.max_function_body_bytes = value,
            _ => panic!("{setting}: unknown limit (depth, locals, body)"),
        }
    }
    let lifted = Limits {
        max_functions: u32::MAX,
        max_function_body_bytes: usize::MAX,
        max_nesting_depth: u32::MAX,
        max_locals_per_function: u32::MAX,
        ..defaults.clone()
    };
    let (limits, wasm) = match shape.as_str() {
        "finding" => (lifted, module(vec![finding()])),
        "nested" => (defaults.clone(), fill(&defaults, || nested(&defaults))),
        "arith" => (defaults.clone(), fill(&defaults, || arithmetic(&defaults))),
        "locals" => (defaults.clone(), fill(&defaults, || locals(&defaults))),
        "br_table" => (defaults.clone(), fill(&defaults, || br_table(&defaults))),
        "small" => (defaults.clone(), small_functions(&defaults)),
        _ => {
            eprintln!("usage: compile_cost finding|nested|arith|locals|br_table|small");
            std::process::exit(2);
        }
    };
    let limits = Limits { compile_timeout: Duration::from_secs(3600), ..limits };
    let engine = Engine::new(EngineConfig { limits, ..EngineConfig::default() }).expect("the engine starts");
    let started = Instant::now();
    let result = engine.load(&wasm);
    let elapsed = started.elapsed();
    let outcome = match &result {
        Ok(_) => "loaded".to_owned(),
        Err(error) => format!("refused: {error}"),
    };
    drop(result);
    println!(
        "{shape}: {} bytes, {outcome}, {:.2} s, peak RSS {} MB, RSS after {} MB",
        wasm.len(),
        elapsed.as_secs_f64(),
        status_kib("VmHWM") / 1024,
        status_kib("VmRSS") / 1024
    );
}

/// A `/proc/self/status` figure, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// As many bodies from `body` as fit in `max_module_bytes` (with room for the rest of the
/// module), or `max_functions` of them.
fn fill(limits: &Limits, body: impl Fn() -> Vec<u8>) -> Vec<u8> {
    let one = body();
    let count = ((limits.max_module_bytes - 4096) / (one.len() + 4)).min(limits.max_functions as usize - 3);
    module((0..count).map(|_| one.clone()).collect())
}

/// The finding's shape: 2.5 M nested blocks in one function, 7.5 MB (wasmparser refuses a
/// function over 7 654 321 bytes).
fn finding() -> Vec<u8> {
    nest(2_500_000, 1)
}

/// A body without locals that opens `depth` blocks and closes them, `repeats` times.
fn nest(depth: usize, repeats: usize) -> Vec<u8> {
    let mut body = vec![0x00];
    for _ in 0..repeats {
        for _ in 0..depth {
            body.extend_from_slice(&BLOCK);
        }
        body.resize(body.len() + depth, END);
    }
    body.push(END);
    body
}

/// Nested blocks to the depth limit, repeated to the body size limit.
fn nested(limits: &Limits) -> Vec<u8> {
    let depth = limits.max_nesting_depth as usize;
    nest(depth, (limits.max_function_body_bytes - 2) / (3 * depth))
}

/// Dependent arithmetic on a local loaded from memory and stored back, to the body size limit.
fn arithmetic(limits: &Limits) -> Vec<u8> {
    let statement = [0x20, 0x00, 0x41, 0x07, 0x6c, 0x41, 0x03, 0x6a, 0x21, 0x00];
    let mut body = vec![0x01, 0x01, 0x7f, 0x41, 0x00, 0x28, 0x02, 0x00, 0x21, 0x00];
    while body.len() + statement.len() + 8 <= limits.max_function_body_bytes {
        body.extend_from_slice(&statement);
    }
    body.extend_from_slice(&[0x41, 0x00, 0x20, 0x00, 0x36, 0x02, 0x00, END]);
    body
}

/// The most locals, all live around one loop: each iteration adds each local to the next, so
/// every local is a value flowing around the back edge (a block parameter in Cranelift).
fn locals(limits: &Limits) -> Vec<u8> {
    let count = limits.max_locals_per_function;
    let mut body = leb128(1);
    body.extend(leb128(count));
    body.push(0x7f);
    body.extend_from_slice(&[0x03, 0x40]); // loop
    let mut i = 0u32;
    while body.len() + 24 <= limits.max_function_body_bytes {
        let (a, b) = (i % count, (i + 1) % count);
        // local.set b (i32.add (local.get a) (local.get b))
        body.push(0x20);
        body.extend(leb128(a));
        body.push(0x20);
        body.extend(leb128(b));
        body.push(0x6a);
        body.push(0x21);
        body.extend(leb128(b));
        i += 1;
    }
    // br_if 0 (local.get 0), then end the loop and the function.
    body.extend_from_slice(&[0x20, 0x00, 0x0d, 0x00, END, END]);
    body
}

/// Blocks nested to the depth limit around `br_table`s whose targets spread over every level,
/// to the body size limit.
fn br_table(limits: &Limits) -> Vec<u8> {
    let depth = limits.max_nesting_depth;
    let mut body = vec![0x00];
    for _ in 0..depth {
        body.extend_from_slice(&BLOCK);
    }
    let room = limits.max_function_body_bytes - body.len() - depth as usize - 16;
    // Each table: `i32.const 0`, `br_table` with n targets (2 bytes each below 16384), default.
    let per_table = 20_000usize;
    let mut written = 0;
    while written + per_table * 2 + 16 <= room {
        // Each table in a block of its own, which it may branch to, so the code after it is
        // reachable again (the compiler skips unreachable code).
        body.extend_from_slice(&BLOCK);
        body.extend_from_slice(&[0x41, 0x00, 0x0e]);
        body.extend(leb128(per_table as u32));
        for t in 0..per_table {
            body.extend(leb128((t as u32) % (depth + 1)));
        }
        body.extend(leb128(0));
        body.push(END);
        written += per_table * 2 + 10;
    }
    body.resize(body.len() + depth as usize, END);
    body.push(END);
    body
}

/// `max_functions` small functions of arithmetic, filling the module.
fn small_functions(limits: &Limits) -> Vec<u8> {
    let count = limits.max_functions as usize - 3;
    let size = (limits.max_module_bytes - 4096) / count - 4;
    let small = Limits { max_function_body_bytes: size, ..limits.clone() };
    let one = arithmetic(&small);
    module((0..count).map(|_| one.clone()).collect())
}

/// `value` as unsigned LEB128.
fn leb128(mut value: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

/// A minimal rule module (memory, `muster_abi_version`, `muster_alloc`, `muster_user_rules`)
/// with one more function of type `() -> ()` per body.
fn module(bodies: Vec<Vec<u8>>) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32, ValType::I32], [ValType::I64]);
    types.ty().function([], []);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("muster_abi_version", ExportKind::Func, 0);
    exports.export("muster_alloc", ExportKind::Func, 1);
    exports.export("muster_user_rules", ExportKind::Func, 2);
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for (ty, value) in
        [(0, Instruction::I32Const(1)), (1, Instruction::I32Const(0x8000)), (2, Instruction::I64Const(0))]
    {
        functions.function(ty);
        let mut function = Function::new([]);
        function.instruction(&value).instruction(&Instruction::End);
        code.function(&function);
    }
    for body in &bodies {
        functions.function(3);
        code.raw(body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&memories).section(&exports).section(&code);
    module.finish()
}
