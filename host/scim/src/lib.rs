//! SCIM 2.0 (RFC 7643 / RFC 7644): the protocol pieces, independent of storage and routing.
//!
//! * [`schema`]: the User, Enterprise User and Group schemas, attribute by attribute, and the
//!   lookup of an attribute by its path: the single source of truth the other modules read;
//! * [`discovery`]: the `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` documents;
//! * [`filter`]: parsing filters against a schema, evaluating them against a resource, and
//!   spotting the equalities a store can answer from an index;
//! * [`path`]: PATCH paths (`emails[type eq "work"].value`);
//! * [`value`]: checking a client's value against its attribute and normalising it;
//! * [`patch`]: applying a `PatchOp` request to a resource;
//! * [`list`]: list and search parameters, and the `ListResponse` message;
//! * [`projection`]: `attributes` / `excludedAttributes` and the `returned` characteristic;
//! * [`error`]: the SCIM error response, and the conversions from the errors above.
//!
//! Resources are handled in their SCIM JSON form (`serde_json::Value`), with extension
//! attributes in an object under the extension's URN. Attribute names are case-insensitive
//! throughout.

pub mod discovery;
pub mod error;
pub mod filter;
mod json;
mod lexer;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod schema;
pub mod value;

/// The media type of SCIM requests and responses (RFC 7644 §8.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
