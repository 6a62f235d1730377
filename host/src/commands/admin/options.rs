//! The options every admin command shares (server, tenant, realm, admin key, timeout, `--json`)
//! and the connection they open.

use std::{io::Write as _, path::PathBuf, time::Duration};

use super::client::{self, Answer, Client, Failure};

/// Where the server is, whose tenant, and how to speak to it.
#[derive(clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// The server's base URL (http:// or https://).
    #[arg(long, env = "MUSTER_SERVER", default_value = "http://127.0.0.1:8080", value_name = "URL")]
    server: String,
    /// The tenant.
    #[arg(long, env = "MUSTER_TENANT", value_name = "TENANT")]
    tenant: Option<String>,
    /// A file holding the tenant's admin key (`mk_…`, its first line); without it the key is
    /// read from the MUSTER_TOKEN environment variable. No option takes the key itself: a
    /// command line is visible to every user of the machine (`ps`).
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// Give up on the server after this long (`30s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print the server's JSON answer unchanged instead of a short summary.
    #[arg(long)]
    json: bool,
}

/// [`Connection`] and the realm.
#[derive(clap::Args)]
pub struct RealmConnection {
    #[command(flatten)]
    connection: Connection,
    /// The realm.
    #[arg(long, env = "MUSTER_REALM", value_name = "REALM", help_heading = "Connection")]
    realm: Option<String>,
}

/// An open connection to one tenant of a server.
pub struct Tenant {
    /// The client, authenticated with the admin key.
    pub client: Client,
    /// The tenant's id.
    pub id: String,
    json: bool,
}

/// An open connection to one realm of a tenant.
pub struct Realm {
    /// The tenant's connection.
    pub tenant: Tenant,
    /// The realm's id.
    pub id: String,
}

impl Connection {
    /// Loads the admin key and opens a client of the tenant.
    pub fn open(&self) -> Result<Tenant, Failure> {
        let id = required(&self.tenant, "no tenant: give --tenant <TENANT> or set MUSTER_TENANT")?;
        let token = client::load_token(self.token_file.as_deref())?;
        let client = Client::new(&self.server, &token, self.timeout)?;
        Ok(Tenant { client, id, json: self.json })
    }
}

impl RealmConnection {
    /// [`Connection::open`], for the realm (which must be given).
    pub fn open(&self) -> Result<Realm, Failure> {
        let id = required(&self.realm, "no realm: give --realm <REALM> or set MUSTER_REALM")?;
        Ok(Realm { tenant: self.connection.open()?, id })
    }

    /// [`Connection::open`], and the realm if one is given (a filter, for commands over the
    /// whole tenant).
    pub fn open_tenant(&self) -> Result<(Tenant, Option<String>), Failure> {
        Ok((self.connection.open()?, self.realm.clone().filter(|realm| !realm.is_empty())))
    }
}

fn required(value: &Option<String>, missing: &str) -> Result<String, Failure> {
    value.clone().filter(|value| !value.is_empty()).ok_or_else(|| Failure::Usage(missing.to_owned()))
}

impl Tenant {
    /// The path of `segments` under `/v1/tenants/{tenant}`.
    pub fn path(&self, segments: &[&str]) -> String {
        client::path(&[&["v1", "tenants", &self.id], segments].concat())
    }

    /// Prints the answer: unchanged with `--json`, else as `summary` puts it.
    pub fn print(&self, answer: &Answer, summary: impl FnOnce(&serde_json::Value) -> String) -> Result<(), Failure> {
        let text = if self.json { answer.text.clone() } else { summary(&answer.json) };
        print(&text)
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.json
    }
}

impl Realm {
    /// The path of `segments` under `/v1/tenants/{tenant}/realms/{realm}`.
    pub fn path(&self, segments: &[&str]) -> String {
        self.tenant.path(&[&["realms", &self.id], segments].concat())
    }

    /// The path of `segments` under the realm's `modules/{kind}`.
    pub fn module_path(&self, kind: Kind, segments: &[&str]) -> String {
        self.path(&[&["modules", kind.as_str()], segments].concat())
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.tenant.client
    }

    /// [`Tenant::print`].
    pub fn print(&self, answer: &Answer, summary: impl FnOnce(&serde_json::Value) -> String) -> Result<(), Failure> {
        self.tenant.print(answer, summary)
    }
}

/// Writes `text` and a final newline to standard output; a reader that went away (`| head`) is
/// not an error.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    match write!(out, "{text}{newline}").and_then(|()| out.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::Usage(format!("cannot write to standard output: {error}")))
        }
        _ => Ok(()),
    }
}

/// Which rules a module version provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// User rules: a user's organization and rule-based groups.
    User,
    /// Group rules: the organizations of provider groups.
    Group,
}

impl Kind {
    /// The API's name of the kind (`user`, `group`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }

    /// The kind in words: `user rules`, `group rules`.
    pub fn rules(self) -> &'static str {
        match self {
            Kind::User => "user rules",
            Kind::Group => "group rules",
        }
    }

    /// The field of a version selection (dry run, replay) that names a version of this kind.
    pub fn version_field(self) -> &'static str {
        match self {
            Kind::User => "user_rules_version",
            Kind::Group => "group_rules_version",
        }
    }

    /// The version selection of `--kind K --version V` (dry run, replay) as a request body:
    /// `{"user_rules_version": 2}`, or `{}` when no candidate is given.
    pub fn candidate(kind: Option<Kind>, version: Option<i64>) -> serde_json::Value {
        let field =
            kind.zip(version).map(|(kind, version)| (kind.version_field(), Some(serde_json::Value::from(version))));
        client::fields(field)
    }
}

/// Parses a point in time: Unix milliseconds (`1735725600000`) or an RFC 3339 time
/// (`2025-01-01T10:00:00Z`, `2025-01-01 10:00:00`, UTC).
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(millis);
    }
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|error| format!("{error}: give Unix milliseconds or a time like 2025-01-01T10:00:00Z"))?;
    let since_epoch = time.duration_since(std::time::UNIX_EPOCH).map_err(|_| "a time before 1970".to_owned())?;
    i64::try_from(since_epoch.as_millis()).map_err(|_| "a time too far in the future".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_milliseconds_or_rfc_3339() {
        assert_eq!(parse_time("1735725600000"), Ok(1_735_725_600_000));
        assert_eq!(parse_time("2025-01-01T10:00:00Z"), Ok(1_735_725_600_000));
        assert_eq!(parse_time("2025-01-01 10:00:00"), Ok(1_735_725_600_000));
        assert!(parse_time("yesterday").unwrap_err().contains("Unix milliseconds"));
    }
}
