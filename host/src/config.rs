//! Every operational knob of the service, in one place: [`Config`].
//!
//! A knob has one name in each source, derived from its file key: `engine.fuel` is the flag
//! `--engine-fuel`, the environment variable `MUSTER_ENGINE_FUEL` and the key `fuel` of the
//! file's `[engine]` table. Sources, strongest first:
//!
//! 1. command-line flags;
//! 2. environment variables (`MUSTER_…`);
//! 3. the file named by `--config <file>` / `MUSTER_CONFIG` (JSON when its name ends in `.json`,
//!    TOML otherwise);
//! 4. the defaults ([`Config::default`]; the engine's limits default to [`Limits::default`]).
//!
//! Durations are written the humantime way (`12h`, `90s`, `250ms`) and must be longer than
//! zero. A bad value or an unknown key is a one-line [`ConfigError`] naming the key.
//! `docs/configuration.md` lists every knob.

use std::{
    fmt,
    net::SocketAddr,
    num::{NonZeroU32, NonZeroUsize},
    path::{Path, PathBuf},
    time::Duration,
};

use muster_engine::{EngineConfig, Limits};
use muster_store::ModuleQuotas;

use serde::{Deserialize, Deserializer};

/// How the service runs. Deserializable from a file (unknown keys are refused, missing keys
/// take their defaults); [`ConfigArgs`] layers flags and environment variables over it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address `muster serve` listens on (an in-process server is handed its listener
    /// instead). Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite store and of the compiled-module cache (kept there
    /// with PostgreSQL too). Default `muster-data`.
    pub data_dir: PathBuf,
    /// PostgreSQL URL (`postgres://user@host/db`) to use instead of the embedded store.
    /// Default: none (the embedded store).
    pub database_url: Option<String>,
    /// Database connections the store pools at most. Default 8
    /// ([`muster_store::DEFAULT_MAX_CONNECTIONS`]).
    pub store_pool_size: NonZeroU32,
    /// The operator token, which the operator routes (`/v1/tenants`) require. Default: none
    /// (operator routes disabled).
    pub operator_token: Option<Secret>,
    /// Compiled modules kept in memory; more are reloaded from the disk cache on demand.
    /// Default 1024.
    pub module_cache: NonZeroUsize,
    /// Most bytes of compiled code kept in memory; the least recently used modules beyond it
    /// are dropped (and reloaded from the disk cache on demand). Default 536870912 (512 MiB).
    pub module_cache_bytes: usize,
    /// Most bytes of compiled code kept in the disk cache (`<data_dir>/module-cache`); the
    /// least recently used entries beyond it are removed. Default 1073741824 (1 GiB).
    pub module_disk_cache_bytes: u64,
    /// Most bytes of compiled functions kept in memory for later compiles to reuse (a
    /// version's settings snapshot compiles its module's functions again); the least recently
    /// used beyond it are dropped, and 0 keeps none. Default 67108864 (64 MiB).
    pub compile_cache_bytes: usize,
    /// Largest decision record stored (its input, output and trace as JSON), in bytes: a
    /// longer trace is cut short with a marker step; a record still larger without its trace
    /// fails the decision. Default 4194304 (4 MiB).
    pub max_decision_record_bytes: usize,
    /// Module versions (both kinds) a realm may hold. Default 1000.
    pub quota_versions_per_realm: u64,
    /// Bytes of distinct modules a realm's versions may use. Default 268435456 (256 MiB).
    pub quota_module_bytes_per_realm: u64,
    /// Bytes of distinct modules a tenant may store. Default 1073741824 (1 GiB).
    pub quota_module_bytes_per_tenant: u64,
    /// Module versions a tenant may upload in any hour. Default 60.
    pub quota_uploads_per_hour: u64,
    /// How often decision records past their tenant's retention and expired SCIM access
    /// tokens are deleted. Default `1h`.
    #[serde(deserialize_with = "duration::deserialize")]
    pub retention_interval: Duration,
    /// Largest request body of every route but module uploads, in bytes. Default 1048576
    /// (1 MiB).
    pub max_body_bytes: usize,
    /// Largest module upload body, in bytes: the module travels base64-encoded, so this should
    /// exceed 4/3 of `engine.max_module_bytes` plus the settings. Default 16777216 (16 MiB).
    pub max_upload_bytes: usize,
    /// How long a login session lives unless revoked first. Default `12h`.
    #[serde(deserialize_with = "duration::deserialize")]
    pub session_lifetime: Duration,
    /// How long a SCIM access token from the OAuth2 token endpoint lives. Default `1h`.
    #[serde(deserialize_with = "duration::deserialize")]
    pub scim_token_lifetime: Duration,
    /// Shadow evaluations allowed in flight at once; beyond that they are dropped (and
    /// counted), never queued. Default 64.
    pub shadow_max_in_flight: NonZeroUsize,
    /// Users re-decided at once after a SCIM group write changed their groups. Default 8.
    pub scim_redecide_concurrency: NonZeroUsize,
    /// The absolute base URL clients reach the server at (`https://muster.example.com`, or
    /// with the path prefix a reverse proxy serves it under): every absolute URL the server
    /// writes (SCIM `meta.location` and `$ref`, a SCIM client's `token_url` and `scim_url`)
    /// starts with it, and the request's `Host` and `X-Forwarded-Proto` are ignored. Default:
    /// none, and those URLs take the request's `Host` and `X-Forwarded-Proto`, accepted only as
    /// a host name or IP address with an optional port and as `http` or `https`.
    pub public_url: Option<PublicUrl>,
    /// Connections served at once; more wait in the listener's backlog until one closes.
    /// Default 1024.
    pub max_connections: NonZeroUsize,
    /// Longest a connection may take to send a whole request head, counted from when it opens
    /// or, on a keep-alive connection, from the previous answer (so it is also the idle
    /// timeout). A connection past it is closed. Default `30s`.
    #[serde(deserialize_with = "duration::deserialize")]
    pub header_read_timeout: Duration,
    /// Longest a request may take from its head to its answer, body included; past it the
    /// answer is `408`. Default `60s`.
    #[serde(deserialize_with = "duration::deserialize")]
    pub request_timeout: Duration,
    /// Requests answered on one keep-alive connection before the server closes it (the last
    /// answer says `Connection: close`). Default 10000.
    pub max_requests_per_connection: NonZeroU32,
    /// Failed authentications (API keys, the operator token, SCIM tokens and secrets) one source
    /// address may make per minute, in a burst or spread out; past that its requests are answered
    /// `429` with `Retry-After`, whatever credentials they carry, until the budget refills.
    /// Default 30.
    pub auth_failures_per_minute: NonZeroU32,
    /// Token requests per minute on the SCIM token endpoint, per SCIM client and per source
    /// address; past either, `429` with `Retry-After`. Default 60.
    pub token_requests_per_minute: NonZeroU32,
    /// Unexpired access tokens one SCIM client may hold; issuing one more deletes the oldest.
    /// Default 10.
    pub max_live_tokens_per_client: NonZeroU32,
    /// Evaluations of one tenant running at once (its share of the engine's instances and of the
    /// blocking threads); one more waits up to twice `engine.timeout` for a slot, then is refused
    /// with `429`. Default: one fewer than the CPUs the process may use (at least one), so one
    /// tenant alone never takes every core.
    pub max_evaluations_per_tenant: NonZeroUsize,
    /// Engine work (an evaluation, a compile, a settings check) running longer than this drops
    /// its thread to the lowest priority until it ends, so a module spinning to its deadline
    /// gives its core to other tenants' requests at once (`off`: never; Linux only, and only
    /// where the server may raise a thread's priority back). Default `5ms`, some 70 times a
    /// 20-rule evaluation.
    #[serde(deserialize_with = "duration::or_off")]
    pub demote_engine_work_after: Option<Duration>,
    /// Serve `POST /floor`, the cheapest request with a body (read and parsed as JSON; no key,
    /// no store, no rules), which `scripts/load-login` drives beside the logins to measure them
    /// against the HTTP request they ride on. For benchmarks only: it reads bodies of anyone.
    /// Default `false`.
    pub benchmark_floor: bool,
    /// Modules of one tenant loaded (compiled) at the same time; another load of the tenant
    /// waits up to `engine.compile_wait` for its turn, then is refused with `429`. Default 1.
    pub tenant_max_concurrent_compiles: NonZeroUsize,
    /// The bounds every rule module and evaluation runs under (the `[engine]` table). Default
    /// [`Limits::default`].
    #[serde(deserialize_with = "engine_limits")]
    pub engine: Limits,
}

/// Connections served at once by default.
const MAX_CONNECTIONS: NonZeroUsize = NonZeroUsize::new(1024).expect("1024 is not zero");
/// Requests per keep-alive connection by default.
const MAX_REQUESTS_PER_CONNECTION: NonZeroU32 = NonZeroU32::new(10_000).expect("10000 is not zero");
/// Failed authentications per address and minute by default.
const AUTH_FAILURES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(30).expect("30 is not zero");
/// Token requests per client (and per address) and minute by default.
const TOKEN_REQUESTS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(60).expect("60 is not zero");
/// Live SCIM access tokens per client by default.
const MAX_LIVE_TOKENS_PER_CLIENT: NonZeroU32 = NonZeroU32::new(10).expect("10 is not zero");
/// Compiled modules kept in memory by default.
const MODULE_CACHE: NonZeroUsize = NonZeroUsize::new(1024).expect("1024 is not zero");
/// Shadow evaluations in flight by default.
const SHADOW_MAX_IN_FLIGHT: NonZeroUsize = NonZeroUsize::new(64).expect("64 is not zero");
/// Module loads of one tenant at once by default.
const TENANT_MAX_CONCURRENT_COMPILES: NonZeroUsize = NonZeroUsize::MIN;
/// Evaluations of one tenant at once by default, on a machine of `cpus`: all but one core (and
/// at least one), so a tenant whose rules burn their whole budget leaves a core to the others.
fn evaluations_per_tenant(cpus: Option<NonZeroUsize>) -> NonZeroUsize {
    cpus.and_then(|cpus| NonZeroUsize::new(cpus.get() - 1)).unwrap_or(NonZeroUsize::MIN)
}

/// Users re-decided at once by default.
const SCIM_REDECIDE_CONCURRENCY: NonZeroUsize = NonZeroUsize::new(8).expect("8 is not zero");
/// The store's pool size by default.
const STORE_POOL_SIZE: NonZeroU32 = match NonZeroU32::new(muster_store::DEFAULT_MAX_CONNECTIONS) {
    Some(size) => size,
    None => NonZeroU32::MIN,
};

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("muster-data"),
            database_url: None,
            store_pool_size: STORE_POOL_SIZE,
            operator_token: None,
            module_cache: MODULE_CACHE,
            module_cache_bytes: 512 << 20,
            module_disk_cache_bytes: EngineConfig::DEFAULT_CACHE_MAX_BYTES,
            compile_cache_bytes: EngineConfig::DEFAULT_COMPILE_CACHE_BYTES,
            max_decision_record_bytes: 4 << 20,
            quota_versions_per_realm: 1000,
            quota_module_bytes_per_realm: 256 << 20,
            quota_module_bytes_per_tenant: 1 << 30,
            quota_uploads_per_hour: 60,
            retention_interval: Duration::from_secs(60 * 60),
            max_body_bytes: 1 << 20,
            max_upload_bytes: 16 << 20,
            session_lifetime: Duration::from_secs(12 * 60 * 60),
            scim_token_lifetime: Duration::from_secs(60 * 60),
            shadow_max_in_flight: SHADOW_MAX_IN_FLIGHT,
            scim_redecide_concurrency: SCIM_REDECIDE_CONCURRENCY,
            public_url: None,
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_requests_per_connection: MAX_REQUESTS_PER_CONNECTION,
            auth_failures_per_minute: AUTH_FAILURES_PER_MINUTE,
            token_requests_per_minute: TOKEN_REQUESTS_PER_MINUTE,
            max_live_tokens_per_client: MAX_LIVE_TOKENS_PER_CLIENT,
            max_evaluations_per_tenant: evaluations_per_tenant(std::thread::available_parallelism().ok()),
            demote_engine_work_after: Some(Duration::from_millis(5)),
            benchmark_floor: false,
            tenant_max_concurrent_compiles: TENANT_MAX_CONCURRENT_COMPILES,
            engine: Limits::default(),
        }
    }
}

impl Config {
    /// Reads a configuration file: JSON when its name ends in `.json`, TOML otherwise. Keys it
    /// leaves out take their defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let file_error = |message: String| ConfigError::File { path: path.to_owned(), message };
        let config = if path.extension().is_some_and(|extension| extension == "json") {
            let mut json = serde_json::Deserializer::from_str(&text);
            serde_path_to_error::deserialize(&mut json).map_err(|e| file_error(located(e.path(), e.inner())))?
        } else {
            let table: toml::Table = toml::from_str(&text).map_err(|e| file_error(toml_syntax(&text, &e)))?;
            serde_path_to_error::deserialize(table).map_err(|e| file_error(located(e.path(), e.inner().message())))?
        };
        Ok(config)
    }

    /// Checks what the types cannot: every duration is longer than zero (a configuration built
    /// in code skips the parsers that refuse zero).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let durations = [
            ("retention_interval", self.retention_interval),
            ("session_lifetime", self.session_lifetime),
            ("scim_token_lifetime", self.scim_token_lifetime),
            ("header_read_timeout", self.header_read_timeout),
            ("request_timeout", self.request_timeout),
            ("engine.compile_timeout", self.engine.compile_timeout),
            ("engine.compile_wait", self.engine.compile_wait),
            ("engine.timeout", self.engine.timeout),
        ];
        match durations.into_iter().find(|(_, duration)| duration.is_zero()) {
            Some((key, _)) => Err(ConfigError::value(key, "must be longer than zero".into())),
            None => Ok(()),
        }
    }

    /// How the engine is built: these limits, and compiled code cached in
    /// `<data_dir>/module-cache`.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            limits: self.engine.clone(),
            cache_dir: Some(self.data_dir.join("module-cache")),
            cache_max_bytes: self.module_disk_cache_bytes,
            compile_cache_bytes: self.compile_cache_bytes,
        }
    }

    /// The quotas every module upload is held to.
    pub fn module_quotas(&self) -> ModuleQuotas {
        ModuleQuotas {
            versions_per_realm: self.quota_versions_per_realm,
            module_bytes_per_realm: self.quota_module_bytes_per_realm,
            module_bytes_per_tenant: self.quota_module_bytes_per_tenant,
            uploads_per_hour: self.quota_uploads_per_hour,
        }
    }

    /// [`Config::session_lifetime`] in milliseconds.
    pub fn session_lifetime_millis(&self) -> i64 {
        millis(self.session_lifetime)
    }

    /// [`Config::scim_token_lifetime`] in milliseconds.
    pub fn scim_token_lifetime_millis(&self) -> i64 {
        millis(self.scim_token_lifetime)
    }
}

/// A duration in whole milliseconds, saturating.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `key: message`, or just the message for an error about the whole document.
fn located(path: &serde_path_to_error::Path, message: impl fmt::Display) -> String {
    match path.to_string().as_str() {
        "." | "" => message.to_string(),
        key => format!("{key}: {message}"),
    }
}

/// A TOML syntax error on one line, with its line number.
fn toml_syntax(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let line = text.get(..span.start).map_or(1, |before| before.matches('\n').count() + 1);
            format!("line {line}: {}", error.message().trim())
        }
        None => error.message().trim().to_owned(),
    }
}

/// An absolute `http` or `https` URL without credentials, query or fragment: the base of the
/// URLs the server writes ([`Config::public_url`]). Its text is normalised: the scheme in lower
/// case, no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PublicUrl {
    /// `scheme://authority[/path]`, without a trailing `/`.
    url: String,
}

impl PublicUrl {
    /// Parses `http(s)://host[:port][/path]`.
    pub fn parse(text: &str) -> Result<PublicUrl, String> {
        let text = text.trim();
        let expected = "expected an absolute URL such as https://muster.example.com";
        let (scheme, rest) = text.split_once("://").ok_or_else(|| format!("{text:?} is not absolute: {expected}"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{text:?} has scheme {scheme:?}: only http and https are served"));
        }
        if rest.contains(['?', '#']) {
            return Err(format!("{text:?} has a query or fragment: {expected}"));
        }
        let (authority, path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
        if authority.contains('@') {
            return Err(format!("{text:?} has credentials in it: {expected}"));
        }
        if !is_authority(authority) {
            return Err(format!("{text:?} does not name a host name or IP address, with an optional port: {expected}"));
        }
        if !is_url_path(path) {
            return Err(format!("{text:?} has characters a URL path cannot hold: {expected}"));
        }
        Ok(PublicUrl { url: format!("{scheme}://{authority}{}", path.trim_end_matches('/')) })
    }

    /// The URL, without a trailing `/`: what the server's paths are appended to.
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl TryFrom<String> for PublicUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        PublicUrl::parse(&text)
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Whether `text` is a URL authority without credentials: a host name (letters, digits, `-`
/// and `_` in dot-separated labels), an IPv4 address or a bracketed IPv6 address, with an
/// optional port (1–65535). Nothing that could end the authority (`/`, `?`, `#`, `@`, spaces,
/// a second `:`) gets through.
pub fn is_authority(text: &str) -> bool {
    let (host, port) = match text.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((ip, rest)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => ("[v6]", rest),
            _ => return false,
        },
        None => text.find(':').map_or((text, ""), |colon| text.split_at(colon)),
    };
    let port_ok = match port.strip_prefix(':') {
        Some(digits) => {
            (1..=5).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.parse::<u16>().is_ok_and(|port| port > 0)
        }
        None => port.is_empty(),
    };
    let host_ok = host == "[v6]"
        || (host.len() <= 253
            && host.strip_suffix('.').unwrap_or(host).split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }));
    port_ok && host_ok
}

/// Whether `path` is empty or an absolute URL path (RFC 3986 `path-abempty`, percent-escapes
/// well-formed).
fn is_url_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    if !(bytes.is_empty() || bytes[0] == b'/') {
        return false;
    }
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' => {
                if !(bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                at += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) => at += 1,
            _ => return false,
        }
    }
    true
}

/// A value kept out of logs and `Debug` output (the operator token).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A configuration that cannot be used, in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or JSON, has an unknown key or a bad value.
    #[error("configuration file {}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A flag, environment variable or configured value is not acceptable.
    #[error("{key} (--{flag}, {env}): {message}")]
    Value {
        /// The file key (`engine.fuel`).
        key: &'static str,
        /// The flag, without its dashes (`engine-fuel`).
        flag: String,
        /// The environment variable (`MUSTER_ENGINE_FUEL`).
        env: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    fn value(key: &'static str, message: String) -> ConfigError {
        ConfigError::Value { key, flag: flag_of(key), env: env_of(key), message }
    }
}

/// The flag of a file key: `engine.fuel` → `engine-fuel`.
fn flag_of(key: &str) -> String {
    key.replace(['.', '_'], "-")
}

/// The environment variable of a file key: `engine.fuel` → `MUSTER_ENGINE_FUEL`.
fn env_of(key: &str) -> String {
    format!("MUSTER_{}", key.replace('.', "_").to_ascii_uppercase())
}

// ---------------------------------------------------------------------------------------------
// Flags and environment variables.

/// The flags of every knob (each with its `MUSTER_…` environment variable), and `--config`.
/// Values are parsed by [`ConfigArgs::load`], so that a bad one is reported like a bad file
/// value.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    #[arg(
        long,
        env = "MUSTER_CONFIG",
        value_name = "FILE",
        help = "A TOML or JSON file of settings (JSON when the name ends in .json); flags and environment variables override it [default: none]"
    )]
    config: Option<PathBuf>,

    #[arg(long, env = "MUSTER_LISTEN", value_name = "ADDRESS", help = help("Address to listen on", Config::default().listen))]
    listen: Option<String>,
    #[arg(long, env = "MUSTER_DATA_DIR", value_name = "DIR", help = help("Directory of the embedded SQLite store and the compiled-module cache", Config::default().data_dir.display()))]
    data_dir: Option<String>,
    #[arg(
        long,
        env = "MUSTER_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        help = "Use PostgreSQL instead of the embedded store (postgres://user@host/db) [default: none]"
    )]
    database_url: Option<String>,
    #[arg(long, env = "MUSTER_STORE_POOL_SIZE", value_name = "N", help = help("Database connections pooled at most", Config::default().store_pool_size))]
    store_pool_size: Option<String>,
    #[arg(
        long,
        env = "MUSTER_OPERATOR_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        help = "Token the operator routes (/v1/tenants) require; prefer the environment variable or the file, a flag shows in the process list [default: none, operator routes disabled]"
    )]
    operator_token: Option<String>,
    #[arg(long, env = "MUSTER_MODULE_CACHE", value_name = "N", help = help("Compiled modules kept in memory, each module version's settings snapshot counting as one (more are reloaded from the disk cache on demand)", Config::default().module_cache))]
    module_cache: Option<String>,
    #[arg(long, env = "MUSTER_MODULE_CACHE_BYTES", value_name = "BYTES", help = help("Most bytes of compiled code kept in memory (least recently used modules beyond it are dropped)", Config::default().module_cache_bytes))]
    module_cache_bytes: Option<String>,
    #[arg(long, env = "MUSTER_MODULE_DISK_CACHE_BYTES", value_name = "BYTES", help = help("Most bytes of compiled code kept in the disk cache (least recently used entries beyond it are removed)", Config::default().module_disk_cache_bytes))]
    module_disk_cache_bytes: Option<String>,
    #[arg(long, env = "MUSTER_COMPILE_CACHE_BYTES", value_name = "BYTES", help = help("Most bytes of compiled functions kept in memory for later compiles to reuse, such as a version's settings snapshot (0 keeps none)", Config::default().compile_cache_bytes))]
    compile_cache_bytes: Option<String>,
    #[arg(long, env = "MUSTER_MAX_DECISION_RECORD_BYTES", value_name = "BYTES", help = help("Largest decision record stored (a longer trace is cut short with a marker step)", Config::default().max_decision_record_bytes))]
    max_decision_record_bytes: Option<String>,
    #[arg(long, env = "MUSTER_QUOTA_VERSIONS_PER_REALM", value_name = "N", help = help("Module versions a realm may hold", Config::default().quota_versions_per_realm))]
    quota_versions_per_realm: Option<String>,
    #[arg(long, env = "MUSTER_QUOTA_MODULE_BYTES_PER_REALM", value_name = "BYTES", help = help("Bytes of distinct modules a realm's versions may use", Config::default().quota_module_bytes_per_realm))]
    quota_module_bytes_per_realm: Option<String>,
    #[arg(long, env = "MUSTER_QUOTA_MODULE_BYTES_PER_TENANT", value_name = "BYTES", help = help("Bytes of distinct modules a tenant may store", Config::default().quota_module_bytes_per_tenant))]
    quota_module_bytes_per_tenant: Option<String>,
    #[arg(long, env = "MUSTER_QUOTA_UPLOADS_PER_HOUR", value_name = "N", help = help("Module versions a tenant may upload in any hour", Config::default().quota_uploads_per_hour))]
    quota_uploads_per_hour: Option<String>,
    #[arg(long, env = "MUSTER_RETENTION_INTERVAL", value_name = "DURATION", help = help("How often decision records past their tenant's retention are deleted (e.g. 1h, 10m)", humantime::format_duration(Config::default().retention_interval)))]
    retention_interval: Option<String>,
    #[arg(long, env = "MUSTER_MAX_BODY_BYTES", value_name = "BYTES", help = help("Largest request body of every route but module uploads", Config::default().max_body_bytes))]
    max_body_bytes: Option<String>,
    #[arg(long, env = "MUSTER_MAX_UPLOAD_BYTES", value_name = "BYTES", help = help("Largest module upload body (the module is base64 in it)", Config::default().max_upload_bytes))]
    max_upload_bytes: Option<String>,
    #[arg(long, env = "MUSTER_SESSION_LIFETIME", value_name = "DURATION", help = help("How long a login session lives unless revoked", humantime::format_duration(Config::default().session_lifetime)))]
    session_lifetime: Option<String>,
    #[arg(long, env = "MUSTER_SCIM_TOKEN_LIFETIME", value_name = "DURATION", help = help("How long a SCIM access token from the token endpoint lives", humantime::format_duration(Config::default().scim_token_lifetime)))]
    scim_token_lifetime: Option<String>,
    #[arg(long, env = "MUSTER_SHADOW_MAX_IN_FLIGHT", value_name = "N", help = help("Shadow evaluations in flight at once (more are dropped and counted)", Config::default().shadow_max_in_flight))]
    shadow_max_in_flight: Option<String>,
    #[arg(long, env = "MUSTER_SCIM_REDECIDE_CONCURRENCY", value_name = "N", help = help("Users re-decided at once after a SCIM group write", Config::default().scim_redecide_concurrency))]
    scim_redecide_concurrency: Option<String>,
    #[arg(
        long,
        env = "MUSTER_PUBLIC_URL",
        value_name = "URL",
        help = "Absolute base URL clients reach the server at (https://muster.example.com): the URLs the server writes (SCIM locations, token_url, scim_url) use it, never the request's Host or X-Forwarded-Proto [default: none, those URLs use the request's Host and X-Forwarded-Proto, checked to be a host name and http or https]"
    )]
    public_url: Option<String>,
    #[arg(long, env = "MUSTER_MAX_CONNECTIONS", value_name = "N", help = help("Connections served at once (more wait in the backlog)", Config::default().max_connections))]
    max_connections: Option<String>,
    #[arg(long, env = "MUSTER_HEADER_READ_TIMEOUT", value_name = "DURATION", help = help("Longest wait for a whole request head, idle keep-alive time included; the connection is then closed", humantime::format_duration(Config::default().header_read_timeout)))]
    header_read_timeout: Option<String>,
    #[arg(long, env = "MUSTER_REQUEST_TIMEOUT", value_name = "DURATION", help = help("Longest a request may take, body included (then 408)", humantime::format_duration(Config::default().request_timeout)))]
    request_timeout: Option<String>,
    #[arg(long, env = "MUSTER_MAX_REQUESTS_PER_CONNECTION", value_name = "N", help = help("Requests answered on one keep-alive connection before it is closed", Config::default().max_requests_per_connection))]
    max_requests_per_connection: Option<String>,
    #[arg(long, env = "MUSTER_AUTH_FAILURES_PER_MINUTE", value_name = "N", help = help("Failed authentications one source address may make per minute (then 429)", Config::default().auth_failures_per_minute))]
    auth_failures_per_minute: Option<String>,
    #[arg(long, env = "MUSTER_TOKEN_REQUESTS_PER_MINUTE", value_name = "N", help = help("SCIM token requests per minute, per client and per source address (then 429)", Config::default().token_requests_per_minute))]
    token_requests_per_minute: Option<String>,
    #[arg(long, env = "MUSTER_MAX_LIVE_TOKENS_PER_CLIENT", value_name = "N", help = help("Unexpired access tokens one SCIM client may hold (a new one deletes the oldest)", Config::default().max_live_tokens_per_client))]
    max_live_tokens_per_client: Option<String>,
    #[arg(long, env = "MUSTER_MAX_EVALUATIONS_PER_TENANT", value_name = "N", help = help("Evaluations of one tenant running at once (more wait briefly, then 429)", "the number of CPUs less one, at least 1"))]
    max_evaluations_per_tenant: Option<String>,
    #[arg(long, env = "MUSTER_DEMOTE_ENGINE_WORK_AFTER", value_name = "DURATION|off", help = help("Engine work running longer than this drops to the lowest priority until it ends (off: never)", duration::display_or_off(Config::default().demote_engine_work_after)))]
    demote_engine_work_after: Option<String>,
    #[arg(long, env = "MUSTER_BENCHMARK_FLOOR", value_name = "true|false", help = help("Serve POST /floor, the cheapest request with a body, for load benchmarks (never on a public listener)", Config::default().benchmark_floor))]
    benchmark_floor: Option<String>,
    #[arg(long, env = "MUSTER_TENANT_MAX_CONCURRENT_COMPILES", value_name = "N", help = help("Modules of one tenant compiled at the same time (another waits up to --engine-compile-wait, then gets 429)", Config::default().tenant_max_concurrent_compiles))]
    tenant_max_concurrent_compiles: Option<String>,

    #[arg(long, env = "MUSTER_ENGINE_MAX_MODULE_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Largest rule module accepted", Limits::default().max_module_bytes))]
    engine_max_module_bytes: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_COMPILE_TIMEOUT", value_name = "DURATION", help_heading = ENGINE, help = help("Longest time compiling one module may take", humantime::format_duration(Limits::default().compile_timeout)))]
    engine_compile_timeout: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_FUNCTIONS", value_name = "N", help_heading = ENGINE, help = help("Most functions a rule module may define (checked before compiling)", Limits::default().max_functions))]
    engine_max_functions: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_CODE_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Most bytes of code (all function bodies) of a rule module (checked before compiling)", Limits::default().max_code_bytes))]
    engine_max_code_bytes: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_FUNCTION_BODY_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Largest function body of a rule module (checked before compiling)", Limits::default().max_function_body_bytes))]
    engine_max_function_body_bytes: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_NESTING_DEPTH", value_name = "N", help_heading = ENGINE, help = help("Deepest nesting of blocks, loops and ifs in a function (checked before compiling)", Limits::default().max_nesting_depth))]
    engine_max_nesting_depth: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_BLOCKS_PER_FUNCTION", value_name = "N", help_heading = ENGINE, help = help("Most blocks, loops and ifs in one function (checked before compiling)", Limits::default().max_blocks_per_function))]
    engine_max_blocks_per_function: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_BLOCKS", value_name = "N", help_heading = ENGINE, help = help("Most blocks, loops and ifs in a module (checked before compiling)", Limits::default().max_blocks))]
    engine_max_blocks: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_LOCALS_PER_FUNCTION", value_name = "N", help_heading = ENGINE, help = help("Most locals a function may declare (checked before compiling)", Limits::default().max_locals_per_function))]
    engine_max_locals_per_function: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_CONCURRENT_COMPILES", value_name = "N", help_heading = ENGINE, help = help("Modules compiled at the same time, by all tenants (a timed-out compile keeps its slot until it ends)", Limits::default().max_concurrent_compiles))]
    engine_max_concurrent_compiles: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_COMPILE_WAIT", value_name = "DURATION", help_heading = ENGINE, help = help("Longest time a compile waits for a free slot before it is refused (503)", humantime::format_duration(Limits::default().compile_wait)))]
    engine_compile_wait: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_FUEL", value_name = "N", help_heading = ENGINE, help = help("Instruction budget (wasmtime fuel) of one evaluation", Limits::default().fuel))]
    engine_fuel: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_TIMEOUT", value_name = "DURATION", help_heading = ENGINE, help = help("Wall-clock budget of one evaluation", humantime::format_duration(Limits::default().timeout)))]
    engine_timeout: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_MEMORY_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Largest linear memory of a module", Limits::default().max_memory_bytes))]
    engine_max_memory_bytes: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_TABLE_ELEMENTS", value_name = "N", help_heading = ENGINE, help = help("Most table elements of a module", Limits::default().max_table_elements))]
    engine_max_table_elements: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_STACK_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Deepest WebAssembly call stack", Limits::default().max_stack_bytes))]
    engine_max_stack_bytes: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_INPUT_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Largest encoded request handed to a module", Limits::default().max_input_bytes))]
    engine_max_input_bytes: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_OUTPUT_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Largest encoded response accepted from a module", Limits::default().max_output_bytes))]
    engine_max_output_bytes: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_CONCURRENT_EVALUATIONS", value_name = "N", help_heading = ENGINE, help = help("Evaluations running at the same time (instance slots)", Limits::default().max_concurrent_evaluations))]
    engine_max_concurrent_evaluations: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_TRACE_STEPS", value_name = "N", help_heading = ENGINE, help = help("Most trace steps kept of one evaluation (the rest are dropped, with a marker step)", Limits::default().max_trace_steps))]
    engine_max_trace_steps: Option<String>,
    #[arg(long, env = "MUSTER_ENGINE_MAX_TRACE_BYTES", value_name = "BYTES", help_heading = ENGINE, help = help("Most trace text kept of one evaluation (the rest is dropped, with a marker step)", Limits::default().max_trace_bytes))]
    engine_max_trace_bytes: Option<String>,
}

/// The help heading of the engine's limits.
const ENGINE: &str = "Engine limits";

/// A flag's help: what it does and its default.
fn help(text: &str, default: impl fmt::Display) -> String {
    format!("{text} [default: {default}]")
}

impl ConfigArgs {
    /// The configuration: the file's (or the defaults), with every flag or environment variable
    /// given laid over it.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        let c = &mut config;
        set(&mut c.listen, "listen", &self.listen)?;
        set(&mut c.data_dir, "data_dir", &self.data_dir)?;
        set(&mut c.database_url, "database_url", &self.database_url)?;
        set(&mut c.store_pool_size, "store_pool_size", &self.store_pool_size)?;
        set(&mut c.operator_token, "operator_token", &self.operator_token)?;
        set(&mut c.module_cache, "module_cache", &self.module_cache)?;
        set(&mut c.module_cache_bytes, "module_cache_bytes", &self.module_cache_bytes)?;
        set(&mut c.module_disk_cache_bytes, "module_disk_cache_bytes", &self.module_disk_cache_bytes)?;
        set(&mut c.compile_cache_bytes, "compile_cache_bytes", &self.compile_cache_bytes)?;
        set(&mut c.max_decision_record_bytes, "max_decision_record_bytes", &self.max_decision_record_bytes)?;
        set(&mut c.quota_versions_per_realm, "quota_versions_per_realm", &self.quota_versions_per_realm)?;
        set(&mut c.quota_module_bytes_per_realm, "quota_module_bytes_per_realm", &self.quota_module_bytes_per_realm)?;
        set(
            &mut c.quota_module_bytes_per_tenant,
            "quota_module_bytes_per_tenant",
            &self.quota_module_bytes_per_tenant,
        )?;
        set(&mut c.quota_uploads_per_hour, "quota_uploads_per_hour", &self.quota_uploads_per_hour)?;
        set(&mut c.retention_interval, "retention_interval", &self.retention_interval)?;
        set(&mut c.max_body_bytes, "max_body_bytes", &self.max_body_bytes)?;
        set(&mut c.max_upload_bytes, "max_upload_bytes", &self.max_upload_bytes)?;
        set(&mut c.session_lifetime, "session_lifetime", &self.session_lifetime)?;
        set(&mut c.scim_token_lifetime, "scim_token_lifetime", &self.scim_token_lifetime)?;
        set(&mut c.shadow_max_in_flight, "shadow_max_in_flight", &self.shadow_max_in_flight)?;
        set(&mut c.scim_redecide_concurrency, "scim_redecide_concurrency", &self.scim_redecide_concurrency)?;
        set(&mut c.public_url, "public_url", &self.public_url)?;
        set(&mut c.max_connections, "max_connections", &self.max_connections)?;
        set(&mut c.header_read_timeout, "header_read_timeout", &self.header_read_timeout)?;
        set(&mut c.request_timeout, "request_timeout", &self.request_timeout)?;
        set(&mut c.max_requests_per_connection, "max_requests_per_connection", &self.max_requests_per_connection)?;
        set(&mut c.auth_failures_per_minute, "auth_failures_per_minute", &self.auth_failures_per_minute)?;
        set(&mut c.token_requests_per_minute, "token_requests_per_minute", &self.token_requests_per_minute)?;
        set(&mut c.max_live_tokens_per_client, "max_live_tokens_per_client", &self.max_live_tokens_per_client)?;
        set(&mut c.max_evaluations_per_tenant, "max_evaluations_per_tenant", &self.max_evaluations_per_tenant)?;
        set(&mut c.demote_engine_work_after, "demote_engine_work_after", &self.demote_engine_work_after)?;
        set(&mut c.benchmark_floor, "benchmark_floor", &self.benchmark_floor)?;
        set(
            &mut c.tenant_max_concurrent_compiles,
            "tenant_max_concurrent_compiles",
            &self.tenant_max_concurrent_compiles,
        )?;
        let e = &mut c.engine;
        set(&mut e.max_module_bytes, "engine.max_module_bytes", &self.engine_max_module_bytes)?;
        set(&mut e.compile_timeout, "engine.compile_timeout", &self.engine_compile_timeout)?;
        set(&mut e.max_functions, "engine.max_functions", &self.engine_max_functions)?;
        set(&mut e.max_code_bytes, "engine.max_code_bytes", &self.engine_max_code_bytes)?;
        set(&mut e.max_function_body_bytes, "engine.max_function_body_bytes", &self.engine_max_function_body_bytes)?;
        set(&mut e.max_nesting_depth, "engine.max_nesting_depth", &self.engine_max_nesting_depth)?;
        set(&mut e.max_blocks_per_function, "engine.max_blocks_per_function", &self.engine_max_blocks_per_function)?;
        set(&mut e.max_blocks, "engine.max_blocks", &self.engine_max_blocks)?;
        set(&mut e.max_locals_per_function, "engine.max_locals_per_function", &self.engine_max_locals_per_function)?;
        set(&mut e.max_concurrent_compiles, "engine.max_concurrent_compiles", &self.engine_max_concurrent_compiles)?;
        set(&mut e.compile_wait, "engine.compile_wait", &self.engine_compile_wait)?;
        set(&mut e.fuel, "engine.fuel", &self.engine_fuel)?;
        set(&mut e.timeout, "engine.timeout", &self.engine_timeout)?;
        set(&mut e.max_memory_bytes, "engine.max_memory_bytes", &self.engine_max_memory_bytes)?;
        set(&mut e.max_table_elements, "engine.max_table_elements", &self.engine_max_table_elements)?;
        set(&mut e.max_stack_bytes, "engine.max_stack_bytes", &self.engine_max_stack_bytes)?;
        set(&mut e.max_input_bytes, "engine.max_input_bytes", &self.engine_max_input_bytes)?;
        set(&mut e.max_output_bytes, "engine.max_output_bytes", &self.engine_max_output_bytes)?;
        set(
            &mut e.max_concurrent_evaluations,
            "engine.max_concurrent_evaluations",
            &self.engine_max_concurrent_evaluations,
        )?;
        set(&mut e.max_trace_steps, "engine.max_trace_steps", &self.engine_max_trace_steps)?;
        set(&mut e.max_trace_bytes, "engine.max_trace_bytes", &self.engine_max_trace_bytes)?;
        config.validate()?;
        Ok(config)
    }
}

/// Lays a flag's or environment variable's value, if given, over `slot`.
fn set<T: Setting>(slot: &mut T, key: &'static str, value: &Option<String>) -> Result<(), ConfigError> {
    if let Some(text) = value {
        *slot = T::parse_setting(text).map_err(|message| ConfigError::value(key, message))?;
    }
    Ok(())
}

/// A knob's type, as written in a flag or environment variable.
trait Setting: Sized {
    fn parse_setting(text: &str) -> Result<Self, String>;
}

/// [`Setting`] through [`FromStr`](std::str::FromStr), with what was expected in the message.
macro_rules! setting_from_str {
    ($($type:ty => $expected:literal),* $(,)?) => {$(
        impl Setting for $type {
            fn parse_setting(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|error| format!("invalid value {text:?} ({error}): expected {}", $expected))
            }
        }
    )*};
}

setting_from_str!(
    SocketAddr => "an address such as 127.0.0.1:8080",
    u64 => "a whole number",
    u32 => "a whole number",
    usize => "a whole number",
    NonZeroU32 => "a whole number, at least 1",
    NonZeroUsize => "a whole number, at least 1",
    bool => "true or false",
);

impl Setting for PathBuf {
    fn parse_setting(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
}

/// An empty value is no value.
impl Setting for Option<String> {
    fn parse_setting(text: &str) -> Result<Self, String> {
        Ok(Some(text.to_owned()).filter(|text| !text.is_empty()))
    }
}

/// An empty value is no value.
impl Setting for Option<PublicUrl> {
    fn parse_setting(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() { Ok(None) } else { PublicUrl::parse(text).map(Some) }
    }
}

/// An empty value is no value.
impl Setting for Option<Secret> {
    fn parse_setting(text: &str) -> Result<Self, String> {
        Ok(Some(Secret::new(text)).filter(|secret| !secret.expose().is_empty()))
    }
}

impl Setting for Duration {
    fn parse_setting(text: &str) -> Result<Self, String> {
        duration::parse(text)
    }
}

/// A duration, or `off`.
impl Setting for Option<Duration> {
    fn parse_setting(text: &str) -> Result<Self, String> {
        duration::parse_or_off(text)
    }
}

// ---------------------------------------------------------------------------------------------
// File values the derive cannot read by itself.

/// Durations as humantime text, longer than zero.
mod duration {
    use std::{fmt, time::Duration};

    use serde::{Deserialize, Deserializer, de};

    /// Parses `12h`, `90s`, `250ms`, …; zero is refused.
    pub fn parse(text: &str) -> Result<Duration, String> {
        match humantime::parse_duration(text.trim()) {
            Ok(duration) if duration.is_zero() => Err(format!("{text:?} is zero: must be longer than zero")),
            Ok(duration) => Ok(duration),
            Err(error) => Err(format!("invalid duration {text:?} ({error}): expected one such as 12h, 90s or 250ms")),
        }
    }

    /// A duration in a file: a string [`parse`] takes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        deserializer.deserialize_str(Visitor)
    }

    /// [`deserialize`], for an optional field.
    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        deserialize(deserializer).map(Some)
    }

    /// A duration, or `off` (`None`).
    pub fn parse_or_off(text: &str) -> Result<Option<Duration>, String> {
        if text.trim() == "off" { Ok(None) } else { parse(text).map(Some).map_err(|error| format!("{error}, or off")) }
    }

    /// A duration or `off` in a file: a string [`parse_or_off`] takes.
    pub fn or_off<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_or_off(&text).map_err(de::Error::custom)
    }

    /// How [`parse_or_off`] reads `duration`.
    pub fn display_or_off(duration: Option<Duration>) -> String {
        duration.map_or_else(|| "off".to_owned(), |duration| humantime::format_duration(duration).to_string())
    }

    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as \"12h\", \"90s\" or \"250ms\"")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
            parse(text).map_err(E::custom)
        }
    }
}

/// The `[engine]` table: each key it names replaces that one of [`Limits::default`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineLimits {
    max_module_bytes: Option<usize>,
    #[serde(default, deserialize_with = "duration::optional")]
    compile_timeout: Option<Duration>,
    max_functions: Option<u32>,
    max_code_bytes: Option<usize>,
    max_function_body_bytes: Option<usize>,
    max_nesting_depth: Option<u32>,
    max_blocks_per_function: Option<u32>,
    max_blocks: Option<u32>,
    max_locals_per_function: Option<u32>,
    max_concurrent_compiles: Option<u32>,
    #[serde(default, deserialize_with = "duration::optional")]
    compile_wait: Option<Duration>,
    fuel: Option<u64>,
    #[serde(default, deserialize_with = "duration::optional")]
    timeout: Option<Duration>,
    max_memory_bytes: Option<usize>,
    max_table_elements: Option<usize>,
    max_stack_bytes: Option<usize>,
    max_input_bytes: Option<usize>,
    max_output_bytes: Option<usize>,
    max_concurrent_evaluations: Option<u32>,
    max_trace_steps: Option<usize>,
    max_trace_bytes: Option<usize>,
}

fn engine_limits<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Limits, D::Error> {
    let file = EngineLimits::deserialize(deserializer)?;
    let mut limits = Limits::default();
    let EngineLimits {
        max_module_bytes,
        compile_timeout,
        max_functions,
        max_code_bytes,
        max_function_body_bytes,
        max_nesting_depth,
        max_blocks_per_function,
        max_blocks,
        max_locals_per_function,
        max_concurrent_compiles,
        compile_wait,
        fuel,
        timeout,
        max_memory_bytes,
        max_table_elements,
        max_stack_bytes,
        max_input_bytes,
        max_output_bytes,
        max_concurrent_evaluations,
        max_trace_steps,
        max_trace_bytes,
    } = file;
    limits.max_module_bytes = max_module_bytes.unwrap_or(limits.max_module_bytes);
    limits.compile_timeout = compile_timeout.unwrap_or(limits.compile_timeout);
    limits.max_functions = max_functions.unwrap_or(limits.max_functions);
    limits.max_code_bytes = max_code_bytes.unwrap_or(limits.max_code_bytes);
    limits.max_function_body_bytes = max_function_body_bytes.unwrap_or(limits.max_function_body_bytes);
    limits.max_nesting_depth = max_nesting_depth.unwrap_or(limits.max_nesting_depth);
    limits.max_blocks_per_function = max_blocks_per_function.unwrap_or(limits.max_blocks_per_function);
    limits.max_blocks = max_blocks.unwrap_or(limits.max_blocks);
    limits.max_locals_per_function = max_locals_per_function.unwrap_or(limits.max_locals_per_function);
    limits.max_concurrent_compiles = max_concurrent_compiles.unwrap_or(limits.max_concurrent_compiles);
    limits.compile_wait = compile_wait.unwrap_or(limits.compile_wait);
    limits.fuel = fuel.unwrap_or(limits.fuel);
    limits.timeout = timeout.unwrap_or(limits.timeout);
    limits.max_memory_bytes = max_memory_bytes.unwrap_or(limits.max_memory_bytes);
    limits.max_table_elements = max_table_elements.unwrap_or(limits.max_table_elements);
    limits.max_stack_bytes = max_stack_bytes.unwrap_or(limits.max_stack_bytes);
    limits.max_input_bytes = max_input_bytes.unwrap_or(limits.max_input_bytes);
    limits.max_output_bytes = max_output_bytes.unwrap_or(limits.max_output_bytes);
    limits.max_concurrent_evaluations = max_concurrent_evaluations.unwrap_or(limits.max_concurrent_evaluations);
    limits.max_trace_steps = max_trace_steps.unwrap_or(limits.max_trace_steps);
    limits.max_trace_bytes = max_trace_bytes.unwrap_or(limits.max_trace_bytes);
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use clap::{CommandFactory as _, Parser};

    use super::*;

    /// The flags alone, as `muster serve` has them.
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: ConfigArgs,
    }

    /// Tests that parse flags read the process environment too: one at a time.
    static ENVIRONMENT: Mutex<()> = Mutex::new(());

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("muster").chain(args.iter().copied())).unwrap();
        cli.config.load()
    }

    fn scratch(name: &str, contents: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("muster-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Every knob set to something other than its default.
    fn everything() -> Config {
        Config {
            listen: "0.0.0.0:9000".parse().unwrap(),
            data_dir: "/var/lib/muster".into(),
            database_url: Some("postgres://muster@db/muster".into()),
            store_pool_size: NonZeroU32::new(3).unwrap(),
            operator_token: Some(Secret::new("s3cret")),
            module_cache: NonZeroUsize::new(10).unwrap(),
            module_cache_bytes: 11_000,
            module_disk_cache_bytes: 12_000,
            compile_cache_bytes: 12_500,
            max_decision_record_bytes: 13_000,
            quota_versions_per_realm: 14,
            quota_module_bytes_per_realm: 15_000,
            quota_module_bytes_per_tenant: 16_000,
            quota_uploads_per_hour: 17,
            retention_interval: Duration::from_secs(600),
            max_body_bytes: 4096,
            max_upload_bytes: 8192,
            session_lifetime: Duration::from_secs(2 * 60 * 60),
            scim_token_lifetime: Duration::from_secs(5 * 60),
            shadow_max_in_flight: NonZeroUsize::new(5).unwrap(),
            scim_redecide_concurrency: NonZeroUsize::new(2).unwrap(),
            public_url: Some(PublicUrl::parse("https://muster.example.com").unwrap()),
            max_connections: NonZeroUsize::new(11).unwrap(),
            header_read_timeout: Duration::from_secs(7),
            request_timeout: Duration::from_secs(8),
            max_requests_per_connection: NonZeroU32::new(12).unwrap(),
            auth_failures_per_minute: NonZeroU32::new(13).unwrap(),
            token_requests_per_minute: NonZeroU32::new(14).unwrap(),
            max_live_tokens_per_client: NonZeroU32::new(15).unwrap(),
            max_evaluations_per_tenant: NonZeroUsize::new(16).unwrap(),
            demote_engine_work_after: None,
            benchmark_floor: true,
            tenant_max_concurrent_compiles: NonZeroUsize::new(3).unwrap(),
            engine: Limits {
                max_module_bytes: 1000,
                compile_timeout: Duration::from_secs(3),
                max_functions: 11,
                max_code_bytes: 17,
                max_function_body_bytes: 12,
                max_nesting_depth: 13,
                max_blocks_per_function: 18,
                max_blocks: 19,
                max_locals_per_function: 14,
                max_concurrent_compiles: 15,
                compile_wait: Duration::from_secs(16),
                fuel: 1234,
                timeout: Duration::from_millis(50),
                max_memory_bytes: 2000,
                max_table_elements: 30,
                max_stack_bytes: 4000,
                max_input_bytes: 5000,
                max_output_bytes: 6000,
                max_concurrent_evaluations: 7,
                max_trace_steps: 8,
                max_trace_bytes: 9000,
            },
        }
    }

    const EVERYTHING_TOML: &str = r#"
        listen = "0.0.0.0:9000"
        data_dir = "/var/lib/muster"
        database_url = "postgres://muster@db/muster"
        store_pool_size = 3
        operator_token = "s3cret"
        module_cache = 10
        module_cache_bytes = 11000
        module_disk_cache_bytes = 12000
        compile_cache_bytes = 12500
        max_decision_record_bytes = 13000
        quota_versions_per_realm = 14
        quota_module_bytes_per_realm = 15000
        quota_module_bytes_per_tenant = 16000
        quota_uploads_per_hour = 17
        retention_interval = "10m"
        max_body_bytes = 4096
        max_upload_bytes = 8192
        session_lifetime = "2h"
        scim_token_lifetime = "5m"
        shadow_max_in_flight = 5
        scim_redecide_concurrency = 2
        public_url = "https://muster.example.com"
        max_connections = 11
        header_read_timeout = "7s"
        request_timeout = "8s"
        max_requests_per_connection = 12
        auth_failures_per_minute = 13
        token_requests_per_minute = 14
        max_live_tokens_per_client = 15
        max_evaluations_per_tenant = 16
        demote_engine_work_after = "off"
        benchmark_floor = true
        tenant_max_concurrent_compiles = 3

        [engine]
        max_module_bytes = 1000
        compile_timeout = "3s"
        max_functions = 11
        max_code_bytes = 17
        max_function_body_bytes = 12
        max_nesting_depth = 13
        max_blocks_per_function = 18
        max_blocks = 19
        max_locals_per_function = 14
        max_concurrent_compiles = 15
        compile_wait = "16s"
        fuel = 1234
        timeout = "50ms"
        max_memory_bytes = 2000
        max_table_elements = 30
        max_stack_bytes = 4000
        max_input_bytes = 5000
        max_output_bytes = 6000
        max_concurrent_evaluations = 7
        max_trace_steps = 8
        max_trace_bytes = 9000
    "#;

    const EVERYTHING_FLAGS: &[&str] = &[
        "--listen=0.0.0.0:9000",
        "--data-dir=/var/lib/muster",
        "--database-url=postgres://muster@db/muster",
        "--store-pool-size=3",
        "--operator-token=s3cret",
        "--module-cache=10",
        "--module-cache-bytes=11000",
        "--module-disk-cache-bytes=12000",
        "--compile-cache-bytes=12500",
        "--max-decision-record-bytes=13000",
        "--quota-versions-per-realm=14",
        "--quota-module-bytes-per-realm=15000",
        "--quota-module-bytes-per-tenant=16000",
        "--quota-uploads-per-hour=17",
        "--retention-interval=10m",
        "--max-body-bytes=4096",
        "--max-upload-bytes=8192",
        "--session-lifetime=2h",
        "--scim-token-lifetime=5m",
        "--shadow-max-in-flight=5",
        "--scim-redecide-concurrency=2",
        "--public-url=https://muster.example.com/",
        "--max-connections=11",
        "--header-read-timeout=7s",
        "--request-timeout=8s",
        "--max-requests-per-connection=12",
        "--auth-failures-per-minute=13",
        "--token-requests-per-minute=14",
        "--max-live-tokens-per-client=15",
        "--max-evaluations-per-tenant=16",
        "--demote-engine-work-after=off",
        "--benchmark-floor=true",
        "--tenant-max-concurrent-compiles=3",
        "--engine-max-module-bytes=1000",
        "--engine-compile-timeout=3s",
        "--engine-max-functions=11",
        "--engine-max-code-bytes=17",
        "--engine-max-function-body-bytes=12",
        "--engine-max-nesting-depth=13",
        "--engine-max-blocks-per-function=18",
        "--engine-max-blocks=19",
        "--engine-max-locals-per-function=14",
        "--engine-max-concurrent-compiles=15",
        "--engine-compile-wait=16s",
        "--engine-fuel=1234",
        "--engine-timeout=50ms",
        "--engine-max-memory-bytes=2000",
        "--engine-max-table-elements=30",
        "--engine-max-stack-bytes=4000",
        "--engine-max-input-bytes=5000",
        "--engine-max-output-bytes=6000",
        "--engine-max-concurrent-evaluations=7",
        "--engine-max-trace-steps=8",
        "--engine-max-trace-bytes=9000",
    ];

    #[test]
    fn defaults_are_the_documented_ones_and_the_engines() {
        let _env = ENVIRONMENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let config = parse(&[]).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.engine, Limits::default());
        assert_eq!(config.session_lifetime_millis(), 12 * 60 * 60 * 1000);
        assert_eq!(config.scim_token_lifetime_millis(), 60 * 60 * 1000);
        assert_eq!(config.store_pool_size.get(), muster_store::DEFAULT_MAX_CONNECTIONS);
        assert_eq!(config.max_body_bytes, 1 << 20);
        config.validate().unwrap();
    }

    #[test]
    fn a_tenant_gets_all_cores_but_one_by_default() {
        let cpus = |n| NonZeroUsize::new(n);
        assert_eq!(evaluations_per_tenant(cpus(8)).get(), 7);
        assert_eq!(evaluations_per_tenant(cpus(2)).get(), 1);
        assert_eq!(evaluations_per_tenant(cpus(1)).get(), 1, "never none");
        assert_eq!(evaluations_per_tenant(None).get(), 1, "unknown: one");
    }

    #[test]
    fn every_knob_has_a_flag_an_environment_variable_and_a_file_key() {
        let _env = ENVIRONMENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        assert_eq!(parse(EVERYTHING_FLAGS).unwrap(), everything());
        assert_eq!(Config::from_file(&scratch("everything.toml", EVERYTHING_TOML)).unwrap(), everything());
        let json = r#"{"listen": "0.0.0.0:9000", "data_dir": "/var/lib/muster",
            "database_url": "postgres://muster@db/muster", "store_pool_size": 3, "operator_token": "s3cret",
            "module_cache": 10, "module_cache_bytes": 11000, "module_disk_cache_bytes": 12000, "compile_cache_bytes": 12500,
            "max_decision_record_bytes": 13000, "quota_versions_per_realm": 14,
            "quota_module_bytes_per_realm": 15000, "quota_module_bytes_per_tenant": 16000,
            "quota_uploads_per_hour": 17, "retention_interval": "10m", "max_body_bytes": 4096, "max_upload_bytes": 8192,
            "session_lifetime": "2h", "scim_token_lifetime": "5m", "shadow_max_in_flight": 5,
            "scim_redecide_concurrency": 2, "public_url": "HTTPS://muster.example.com",
            "max_connections": 11, "header_read_timeout": "7s", "request_timeout": "8s",
            "max_requests_per_connection": 12, "auth_failures_per_minute": 13, "token_requests_per_minute": 14,
            "max_live_tokens_per_client": 15, "max_evaluations_per_tenant": 16, "demote_engine_work_after": "off", "benchmark_floor": true,
            "tenant_max_concurrent_compiles": 3,
            "engine": {"max_module_bytes": 1000, "compile_timeout": "3s", "max_functions": 11,
                "max_code_bytes": 17, "max_function_body_bytes": 12, "max_nesting_depth": 13, "max_blocks_per_function": 18, "max_blocks": 19, "max_locals_per_function": 14,
                "max_concurrent_compiles": 15, "compile_wait": "16s", "fuel": 1234, "timeout": "50ms",
                "max_memory_bytes": 2000, "max_table_elements": 30, "max_stack_bytes": 4000,
                "max_input_bytes": 5000, "max_output_bytes": 6000, "max_concurrent_evaluations": 7,
                "max_trace_steps": 8, "max_trace_bytes": 9000}}"#;
        assert_eq!(Config::from_file(&scratch("everything.json", json)).unwrap(), everything());
        // Each flag's environment variable is named after it, and one flag per file key.
        let command = Cli::command();
        let flags: Vec<_> = command.get_arguments().filter(|arg| arg.get_long() != Some("help")).collect();
        assert_eq!(flags.len(), EVERYTHING_FLAGS.len() + 1, "one flag per knob, and --config");
        for arg in flags {
            let long = arg.get_long().unwrap();
            let env = arg.get_env().unwrap().to_str().unwrap();
            assert_eq!(env, format!("MUSTER_{}", long.replace('-', "_").to_ascii_uppercase()), "{long}");
            let help = arg.get_help().unwrap().to_string();
            assert!(help.contains("[default: "), "--{long} states its default: {help}");
        }
    }

    #[test]
    fn flags_beat_environment_variables_which_beat_the_file_which_beats_the_defaults() {
        let _env = ENVIRONMENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let file = scratch(
            "precedence.toml",
            "session_lifetime = \"2h\"\nscim_token_lifetime = \"20m\"\nmax_body_bytes = 100\n[engine]\nfuel = 10\n",
        );
        let environment = [
            ("MUSTER_CONFIG", file.to_str().unwrap()),
            ("MUSTER_SESSION_LIFETIME", "3h"),
            ("MUSTER_SCIM_TOKEN_LIFETIME", "30m"),
            ("MUSTER_ENGINE_FUEL", "20"),
        ];
        // SAFETY: the only tests that read the environment take `ENVIRONMENT` first.
        unsafe {
            environment.iter().for_each(|(name, value)| std::env::set_var(name, value));
        }
        let config = parse(&["--session-lifetime", "4h"]);
        unsafe {
            environment.iter().for_each(|(name, _)| std::env::remove_var(name));
        }
        let config = config.unwrap();
        assert_eq!(config.session_lifetime, Duration::from_secs(4 * 60 * 60), "flag over environment and file");
        assert_eq!(config.scim_token_lifetime, Duration::from_secs(30 * 60), "environment over file");
        assert_eq!(config.engine.fuel, 20, "environment over file, in the engine's limits");
        assert_eq!(config.max_body_bytes, 100, "file over default");
        let untouched = Limits { fuel: 20, ..Limits::default() };
        assert_eq!(config.engine, untouched, "the engine keys the file leaves out keep the engine's defaults");
        assert_eq!(config.retention_interval, Config::default().retention_interval, "default");
        // `--config` itself: the flag beats the file named in the environment.
        let other = scratch("other.toml", "max_body_bytes = 7\n");
        let config = parse(&["--config", other.to_str().unwrap()]).unwrap();
        assert_eq!(config.max_body_bytes, 7);
    }

    #[test]
    fn a_bad_key_or_value_is_one_line_naming_the_key() {
        let _env = ENVIRONMENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let cases = [
            ("unknown.toml", "sesion_lifetime = \"1h\"\n", "unknown field `sesion_lifetime`"),
            ("unknown-engine.toml", "[engine]\nfule = 1\n", "engine.fule: unknown field `fule`"),
            ("type.toml", "[engine]\nfuel = \"lots\"\n", "engine.fuel: invalid type: string \"lots\""),
            ("duration.toml", "session_lifetime = 12\n", "session_lifetime: invalid type: integer `12`"),
            ("humantime.toml", "session_lifetime = \"12 lightyears\"\n", "session_lifetime: invalid duration"),
            ("zero.toml", "retention_interval = \"0s\"\n", "retention_interval: \"0s\" is zero"),
            ("or-off.toml", "demote_engine_work_after = \"never\"\n", "demote_engine_work_after: invalid duration"),
            ("pool.toml", "store_pool_size = 0\n", "store_pool_size: "),
            ("syntax.toml", "max_body_bytes = 1\nlisten = \n", "line 2: "),
            ("unknown.json", r#"{"engine": {"fuel": 1}, "shadow": 3}"#, "unknown field `shadow`"),
            ("type.json", r#"{"max_body_bytes": -1}"#, "max_body_bytes: invalid value: integer `-1`"),
        ];
        for (name, contents, expected) in cases {
            let error = Config::from_file(&scratch(name, contents)).unwrap_err().to_string();
            assert!(error.contains(expected), "{name}: {error}");
            assert!(error.contains(name), "{name} names the file: {error}");
            assert!(!error.contains('\n'), "{name}: one line: {error:?}");
        }
        let error = parse(&["--engine-fuel", "lots"]).unwrap_err().to_string();
        assert_eq!(
            error,
            "engine.fuel (--engine-fuel, MUSTER_ENGINE_FUEL): invalid value \"lots\" (invalid digit found in string): expected a whole number"
        );
        let error = parse(&["--session-lifetime", "0ms"]).unwrap_err().to_string();
        assert!(error.starts_with("session_lifetime (--session-lifetime, MUSTER_SESSION_LIFETIME): "), "{error}");
        assert_eq!(
            parse(&["--demote-engine-work-after", "20ms"]).unwrap().demote_engine_work_after,
            Some(Duration::from_millis(20))
        );
        let error = parse(&["--demote-engine-work-after", "0s"]).unwrap_err().to_string();
        assert!(error.contains("is zero: must be longer than zero, or off"), "{error}");
        let error = parse(&["--shadow-max-in-flight", "0"]).unwrap_err().to_string();
        assert!(error.contains("at least 1"), "{error}");
        let missing = parse(&["--config", "/nonexistent/muster.toml"]).unwrap_err().to_string();
        assert!(missing.starts_with("cannot read the configuration file /nonexistent/muster.toml: "), "{missing}");
        let built = Config { session_lifetime: Duration::ZERO, ..Config::default() };
        assert!(built.validate().unwrap_err().to_string().contains("must be longer than zero"));
    }

    #[test]
    fn public_urls_are_absolute_http_urls_naming_a_host() {
        for (text, normalised) in [
            ("https://muster.example.com", "https://muster.example.com"),
            ("HTTP://Muster.Example.com:8080/", "http://Muster.Example.com:8080"),
            ("https://10.0.0.5:8443/muster/", "https://10.0.0.5:8443/muster"),
            ("https://[::1]:8080/a%20b/c", "https://[::1]:8080/a%20b/c"),
            ("  http://localhost  ", "http://localhost"),
        ] {
            assert_eq!(PublicUrl::parse(text).unwrap().as_str(), normalised, "{text}");
        }
        for bad in [
            "muster.example.com",
            "javascript://evil.example/",
            "ftp://muster.example.com",
            "https://",
            "https://user:pass@muster.example.com",
            "https://muster.example.com?x=1",
            "https://muster.example.com/#top",
            "https://muster example.com",
            "https://muster.example.com:99999",
            "https://muster.example.com:0",
            "https://muster.example.com:80:80",
            "https://[::1",
            "https://[nope]:80",
            "https://muster..example.com",
            "https://muster.example.com/a b",
            "https://muster.example.com/%zz",
            "https://muster.example.com/\"<script>",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad:?} is refused");
        }
        assert!(is_authority("muster.example.com.") && is_authority("muster_1:8080") && is_authority("[::1]"));
        for bad in ["", ":80", "a/b", "a@b", "a b", "a:", "a:port", "[::1]x", "a\r\nb", "é.example"] {
            assert!(!is_authority(bad), "{bad:?} is no authority");
        }
        let _env = ENVIRONMENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        assert_eq!(parse(&["--public-url="]).unwrap().public_url, None, "empty is none");
        let error = parse(&["--public-url", "javascript://evil.example"]).unwrap_err().to_string();
        assert!(error.starts_with("public_url (--public-url, MUSTER_PUBLIC_URL): "), "{error}");
        let error = Config::from_file(&scratch("url.toml", "public_url = \"evil.example/x\"\n")).unwrap_err();
        assert!(error.to_string().contains("public_url: "), "{error}");
    }

    #[test]
    fn empty_tokens_are_no_token_and_secrets_stay_out_of_debug() {
        let _env = ENVIRONMENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        assert_eq!(parse(&["--operator-token="]).unwrap().operator_token, None);
        let config = parse(&["--operator-token", "s3cret"]).unwrap();
        assert_eq!(config.operator_token.as_ref().map(Secret::expose), Some("s3cret"));
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
