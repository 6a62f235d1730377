//! Names and numbers of the binary interface between host and module.
//!
//! A module is a core WebAssembly module for `wasm32-unknown-unknown`. It exports [`MEMORY`],
//! [`ABI_VERSION_EXPORT`], [`ALLOC`] and at least one of [`USER_RULES`] and [`GROUP_RULES`];
//! [`PREPARE_SETTINGS`], [`SETTINGS_SCHEMA`] and [`LOAD_SETTINGS`] are optional. Its only imports
//! are the functions in [`imports`].

/// The ABI version this crate speaks. A module reports the version it speaks through
/// [`ABI_VERSION_EXPORT`]; the host rejects versions it does not know.
pub const ABI_VERSION: u32 = 1;

/// Exported linear memory through which all requests and responses travel.
pub const MEMORY: &str = "memory";

/// `() -> i32`: the ABI version the module speaks.
pub const ABI_VERSION_EXPORT: &str = "muster_abi_version";

/// `(len: i32) -> i32`: reserve `len` bytes of guest memory for the host to write a request
/// into, and return their address. The buffer belongs to the guest; the host never frees it
/// (every evaluation runs in a fresh instance, so nothing outlives it).
pub const ALLOC: &str = "muster_alloc";

/// `(ptr: i32, len: i32) -> i64`: evaluate user rules on the postcard-encoded
/// [`UserRequest`](crate::UserRequest) at `ptr..ptr+len`. Returns a packed
/// [`OutputSlice`] holding a postcard-encoded `Response<UserDecision>`.
pub const USER_RULES: &str = "muster_user_rules";

/// `(ptr: i32, len: i32) -> i64`: evaluate group rules on the postcard-encoded
/// [`GroupRequest`](crate::GroupRequest). Returns a packed [`OutputSlice`] holding a
/// postcard-encoded `Response<GroupDecision>`.
pub const GROUP_RULES: &str = "muster_group_rules";

/// `(ptr: i32, len: i32) -> i64`: validate the tenant's settings document (raw JSON bytes) and
/// return a packed [`OutputSlice`] holding a postcard-encoded `Response<Vec<u8>>`: on success the
/// *prepared settings*, the opaque bytes the host passes back in every later request. A module
/// without this export receives the raw JSON bytes as its settings.
pub const PREPARE_SETTINGS: &str = "muster_prepare_settings";

/// `(ptr: i32, len: i32) -> i64`, optional: the JSON Schema of the module's settings document.
/// The host passes no request (`len` is 0) and reads a packed [`OutputSlice`] holding a
/// postcard-encoded `Response<String>`: the schema as JSON text. A module without this export
/// publishes no schema; it loads and runs as before.
pub const SETTINGS_SCHEMA: &str = "muster_settings_schema";

/// `(ptr: i32, len: i32) -> i64`, optional: decode the prepared settings at `ptr..ptr+len` and
/// keep them in the instance, answering a packed [`OutputSlice`] holding a postcard-encoded
/// `Response<()>`. Every later request of that instance whose `settings` field is empty uses the
/// kept settings. The host calls it once per module version and snapshots the initialized
/// instance, so each evaluation's fresh instance starts with the settings already decoded.
pub const LOAD_SETTINGS: &str = "muster_load_settings";

/// `(ptr: i32, len: i32) -> i64`, optional: which exported rules cannot run with the prepared
/// settings at `ptr..ptr+len`, answering a packed [`OutputSlice`] holding a postcard-encoded
/// `Response<`[`MissingEntries`](crate::MissingEntries)`>`. The host asks at upload and refuses a
/// version whose settings leave the uploaded kind's rules nothing to run. A module without this
/// export runs each entry it exports with any settings it accepts.
pub const SETTINGS_ENTRIES: &str = "muster_settings_entries";

/// The schema keyword that marks a settings field as naming organizations of the tenant
/// (`"x-muster-organization": true`): a string, or an array of strings. The host refuses
/// settings that name an organization the tenant does not have.
pub const ORGANIZATION_KEYWORD: &str = "x-muster-organization";

/// Longest regular-expression pattern the host compiles, in bytes.
pub const REGEX_MAX_PATTERN_LEN: usize = 4096;

/// Upper bound on the compiled size of one regular expression, in bytes (the `regex` crate's
/// `size_limit`). The guest SDK applies the same bound natively, so errors agree.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Host functions a module may import. Everything else is rejected when the module is loaded.
pub mod imports {
    /// The import module name of every host function.
    pub const MODULE: &str = "muster";

    /// `(pattern_ptr: i32, pattern_len: i32, err_ptr: i32, err_cap: i32) -> i32`: compile a
    /// regular expression (Rust `regex` syntax, linear-time matching). Returns a handle `>= 0`,
    /// or `-(n + 1)` after writing an `n`-byte UTF-8 error message (at most `err_cap` bytes) at
    /// `err_ptr`. Costs fuel in proportion to the pattern's length.
    pub const REGEX_COMPILE: &str = "regex_compile";

    /// `(handle: i32, text_ptr: i32, text_len: i32) -> i32`: `1` if the compiled expression
    /// matches anywhere in the UTF-8 text, `0` if not. An unknown handle traps. The match is
    /// priced in fuel before it runs, from the pattern and the text's length (`docs/abi.md`,
    /// "What a regex costs"); one the fuel or the time left cannot cover ends the evaluation
    /// as out of fuel or out of time.
    pub const REGEX_IS_MATCH: &str = "regex_is_match";

    /// `(message_ptr: i32, message_len: i32) -> !`: stop the evaluation with a message (the
    /// SDK calls it from its panic hook). The host reports it as a guest panic.
    pub const ABORT: &str = "abort";
}

/// A pointer and length in guest memory, packed into one `i64` as `(ptr << 32) | len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSlice {
    /// Address of the first byte.
    pub ptr: u32,
    /// Number of bytes.
    pub len: u32,
}

impl OutputSlice {
    /// Packs the slice into the `i64` a module returns.
    pub fn pack(self) -> i64 {
        ((u64::from(self.ptr) << 32) | u64::from(self.len)) as i64
    }

    /// Unpacks the `i64` a module returned.
    pub fn unpack(packed: i64) -> Self {
        let bits = packed as u64;
        Self { ptr: (bits >> 32) as u32, len: bits as u32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_slice_round_trips_through_the_packed_form() {
        let slice = OutputSlice { ptr: 0xFFFF_0010, len: 0x8000_0001 };
        assert_eq!(OutputSlice::unpack(slice.pack()), slice);
    }
}
