//! The Muster host: storage, the evaluation service and the HTTP API behind `muster serve`.
//!
//! * [`store`]: everything kept, behind one interface (SQLite or PostgreSQL);
//! * [`service`]: access control, running a realm's rules, logins;
//! * [`api`]: the HTTP routes (`docs/api.md`);
//! * [`auth`]: API keys;
//! * [`scim`]: the SCIM 2.0 protocol (filters, PATCH, schemas, errors).

pub mod api;
pub mod auth;

pub mod service;
