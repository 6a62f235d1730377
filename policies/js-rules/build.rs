//! Inside the sandbox QuickJS runs on the module's shadow stack: give this module a larger one
//! than the workspace's 64 KiB (see `.cargo/config.toml`).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo::rustc-link-arg-cdylib=-zstack-size=1048576");
        println!("cargo::rustc-link-arg-cdylib=--initial-memory=2097152");
    }
}
