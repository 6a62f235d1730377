//! The Muster host: the evaluation service and the HTTP API behind `muster serve`.
//!
//! * [`api`]: the HTTP routes (`docs/api.md`), including the SCIM endpoints;
//! * [`service`]: access control, logins, provisioning, previews: what the routes call;
//! * [`decision`]: the decision core (the rules' input, the pure evaluator, decision records);
//! * [`auth`]: API keys;
//! * [`config`]: every operational knob, from flags, environment variables and a file;
//! * [`server`]: the wiring of a running server (`muster serve`, or in-process in tests).
//!
//! Storage is the `muster-store` crate and the SCIM protocol the `muster-scim` crate; neither
//! depends on anything here (`docs/architecture.md`).

pub mod api;
pub mod auth;
pub mod config;
pub mod decision;
pub mod server;
pub mod service;
