//! Command-line arguments of `scim_sync`.

use std::path::PathBuf;

use crate::cpu::Watch;

/// Replays an Entra ID initial provisioning cycle against a Muster realm's SCIM 2.0 endpoint
/// (`/scim/{tenant}/{realm}/v2/`) and measures it (target: ≥ 2,000 provisioning writes/s,
/// rules evaluated on each).
///
/// Three phases, each spread over `--connections` keep-alive HTTP/1.1 connections taking work
/// from one shared queue: `POST /Users` for every user, `POST /Groups` for every group, then
/// `PATCH /Groups/{id}` adding members `--batch` at a time until each user is in
/// `--memberships` groups. Every non-2xx answer is an error. At the end the server's state is
/// checked (counts, a sample of users' groups and organizations through the admin API).
#[derive(clap::Parser, Debug)]
#[command(name = "scim_sync", version)]
pub struct Args {
    /// Base URL of the server (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Tenant id.
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// Realm id.
    #[arg(long, default_value = "entra")]
    pub realm: String,
    /// File holding an admin key of the tenant (`muster serve --demo` writes
    /// `<data-dir>/demo-admin-token`): creates the SCIM credential, reads the decisions and
    /// checks the users at the end.
    #[arg(long)]
    pub admin_token_file: PathBuf,
    /// Users to provision.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub users: u64,
    /// Groups to provision (at least 5 with `--department-groups`, the default).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub groups: u64,
    /// Groups each user is put in.
    #[arg(long, default_value_t = 3)]
    pub memberships: usize,
    /// Members added per `PATCH /Groups/{id}` (Entra sends a few at a time).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Put Sales users in `sales-emea|apac|amer` and Engineering users in `engineers` (the
    /// provider groups the demo's user rules test: large groups, a third of the users between
    /// three of them); `false`: every membership goes to the small team groups.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub department_groups: bool,
    /// Concurrent keep-alive connections (Entra itself provisions a few objects at a time; more
    /// shows what the server can do).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Threads of the generator's runtime.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Users whose groups and organization are checked through the admin API at the end.
    #[arg(long, default_value_t = 50)]
    pub check_sample: u64,
    /// Also report the CPU that these processes use in each phase: a PID (the server's) or a
    /// command name (`postgres`: all its processes); repeatable.
    #[arg(long, value_name = "PID|NAME")]
    pub cpu_of: Vec<Watch>,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// How many error answers (their bodies) or failures to print, on stderr.
    #[arg(long, default_value_t = 5)]
    pub show_errors: usize,
}
