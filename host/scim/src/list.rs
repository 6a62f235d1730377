//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): the query parameters of `GET /Users` and
//! `GET /Groups`, the `POST /.search` body, and the `ListResponse` message.
//!
//! `startIndex` is 1-based (a value below 1 counts as 1); `count` below 0 counts as 0 and is
//! capped at [`MAX_RESULTS`], which is also its default. `sortBy` and `sortOrder` are ignored:
//! the service provider does not sort (its `ServiceProviderConfig` says so).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::filter::{Filter, FilterError};
use super::json;
use super::projection::{AttributeSelection, SelectionError};
use super::schema::ResourceType;

/// URN of the list response message.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of the search request message.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Most resources in one response (`filter.maxResults` in the `ServiceProviderConfig`).
pub const MAX_RESULTS: usize = 200;

/// What a list or search asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// The 1-based index of the first result.
    pub start_index: usize,
    /// How many results at most, never over [`MAX_RESULTS`].
    pub count: usize,
    /// The attributes to return.
    pub selection: AttributeSelection,
}

/// A list or search request that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// `startIndex` or `count` is not an integer (SCIM `invalidValue`).
    #[error("{parameter} must be an integer, not {value}")]
    NotAnInteger {
        /// `startIndex` or `count`.
        parameter: &'static str,
        /// What was given.
        value: String,
    },
    /// A parameter is given twice (SCIM `invalidValue`).
    #[error("{0} is given more than once")]
    Repeated(&'static str),
    /// The search body is not a `SearchRequest` message (SCIM `invalidSyntax`).
    #[error("{0}")]
    InvalidSearchRequest(String),
    /// The filter is malformed (SCIM `invalidFilter`).
    #[error("invalid filter: {0}")]
    Filter(#[from] FilterError),
    /// `attributes` or `excludedAttributes` names no attribute (SCIM `invalidValue`).
    #[error(transparent)]
    Selection(#[from] SelectionError),
}

/// The query parameters read, in their canonical spelling.
const PARAMETERS: [&str; 5] = ["filter", "startIndex", "count", "attributes", "excludedAttributes"];

impl ListQuery {
    /// Reads the query parameters of a `GET` on a resource endpoint, as name–value pairs
    /// (percent-decoded). Parameter names are case-insensitive; unknown ones are ignored.
    pub fn from_query<'p>(
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
        resource_type: ResourceType,
    ) -> Result<ListQuery, ListError> {
        let mut given: HashMap<&'static str, &'p str> = HashMap::new();
        for (name, value) in pairs {
            let Some(parameter) = PARAMETERS.into_iter().find(|parameter| parameter.eq_ignore_ascii_case(name)) else {
                continue;
            };
            if given.insert(parameter, value).is_some() {
                return Err(ListError::Repeated(parameter));
            }
        }
        let integer = |parameter: &'static str| {
            let Some(text) = given.get(parameter) else { return Ok(None) };
            let parsed = text.trim().parse::<i64>();
            parsed.map(Some).map_err(|_| ListError::NotAnInteger { parameter, value: format!("\"{text}\"") })
        };
        Ok(ListQuery {
            filter: given.get("filter").map(|filter| Filter::parse(filter, resource_type)).transpose()?,
            start_index: start_index(integer("startIndex")?),
            count: count(integer("count")?),
            selection: AttributeSelection::from_query(
                given.get("attributes").copied(),
                given.get("excludedAttributes").copied(),
                resource_type,
            )?,
        })
    }

    /// Reads the body of a `POST /.search` (a `SearchRequest` message). Member names are
    /// case-insensitive; `attributes` and `excludedAttributes` are arrays of strings.
    pub fn from_search_request(body: &Value, resource_type: ResourceType) -> Result<ListQuery, ListError> {
        let invalid = |message: &str| ListError::InvalidSearchRequest(message.to_owned());
        let Some(message) = body.as_object() else { return Err(invalid("the search body must be a JSON object")) };
        let schemas = json::get(message, "schemas").and_then(Value::as_array);
        let is_search =
            |schema: &Value| schema.as_str().is_some_and(|urn| urn.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA));
        if !schemas.is_some_and(|schemas| schemas.iter().any(is_search)) {
            return Err(ListError::InvalidSearchRequest(format!("\"schemas\" must list \"{SEARCH_REQUEST_SCHEMA}\"")));
        }
        let filter = match json::get(message, "filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(filter)) => Some(Filter::parse(filter, resource_type)?),
            Some(_) => return Err(invalid("\"filter\" must be a string")),
        };
        let integer = |parameter: &'static str| match json::get(message, parameter) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                value.as_i64().map(Some).ok_or_else(|| ListError::NotAnInteger { parameter, value: value.to_string() })
            }
        };
        let names = |parameter: &'static str| match json::get(message, parameter) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(names)) => names
                .iter()
                .map(|name| {
                    name.as_str().ok_or_else(|| invalid(&format!("\"{parameter}\" must be an array of strings")))
                })
                .collect(),
            Some(_) => Err(invalid(&format!("\"{parameter}\" must be an array of strings"))),
        };
        Ok(ListQuery {
            filter,
            start_index: start_index(integer("startIndex")?),
            count: count(integer("count")?),
            selection: AttributeSelection::new(names("attributes")?, names("excludedAttributes")?, resource_type)?,
        })
    }

    /// How many results to skip: `startIndex - 1`.
    pub fn offset(&self) -> usize {
        self.start_index.saturating_sub(1)
    }
}

/// `startIndex`: 1 when absent or below 1.
fn start_index(given: Option<i64>) -> usize {
    given.map_or(1, |index| usize::try_from(index.max(1)).unwrap_or(usize::MAX))
}

/// `count`: [`MAX_RESULTS`] when absent, 0 when negative, at most [`MAX_RESULTS`].
fn count(given: Option<i64>) -> usize {
    given.map_or(MAX_RESULTS, |count| usize::try_from(count).unwrap_or(0).min(MAX_RESULTS))
}

/// The `ListResponse` message for one page: `resources` (already projected), the number of
/// results in all pages, and the page's 1-based `start_index`.
pub fn list_response(resources: Vec<Value>, total_results: usize, start_index: usize) -> Value {
    let mut message = Map::new();
    message.insert("schemas".to_owned(), Value::from(vec![LIST_RESPONSE_SCHEMA]));
    message.insert("totalResults".to_owned(), Value::from(total_results));
    message.insert("startIndex".to_owned(), Value::from(start_index));
    message.insert("itemsPerPage".to_owned(), Value::from(resources.len()));
    message.insert("Resources".to_owned(), Value::Array(resources));
    Value::Object(message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::{IndexLookup, IndexedAttribute};

    fn query(pairs: &[(&str, &str)]) -> Result<ListQuery, ListError> {
        ListQuery::from_query(pairs.iter().copied(), ResourceType::User)
    }

    #[test]
    fn entra_matching_query() {
        let query = query(&[("filter", r#"userName eq "ryan.lee@contoso.com""#)]).unwrap();
        assert_eq!(
            query.filter.as_ref().and_then(Filter::index_lookup),
            Some(IndexLookup {
                attribute: IndexedAttribute::UserName,
                value: "ryan.lee@contoso.com".into(),
                case_exact: false
            })
        );
        assert_eq!((query.start_index, query.count, query.offset()), (1, MAX_RESULTS, 0));
    }

    #[test]
    fn okta_paging() {
        let query = query(&[("startIndex", "101"), ("count", "100"), ("sortBy", "userName")]).unwrap();
        assert_eq!((query.start_index, query.count, query.offset(), query.filter), (101, 100, 100, None));
    }

    #[test]
    fn out_of_range_paging_is_clamped() {
        let query = query(&[("STARTINDEX", "0"), ("Count", "-5")]).unwrap();
        assert_eq!((query.start_index, query.count), (1, 0));
        let query = self::query(&[("startIndex", "-3"), ("count", "5000")]).unwrap();
        assert_eq!((query.start_index, query.count), (1, MAX_RESULTS));
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert_eq!(
            query(&[("count", "ten")]).unwrap_err(),
            ListError::NotAnInteger { parameter: "count", value: "\"ten\"".into() }
        );
        assert_eq!(
            query(&[("startIndex", "99999999999999999999")]).unwrap_err().to_string(),
            "startIndex must be an integer, not \"99999999999999999999\""
        );
        assert_eq!(query(&[("filter", "a pr"), ("Filter", "b pr")]).unwrap_err(), ListError::Repeated("filter"));
        assert!(matches!(query(&[("filter", "userName equals \"x\"")]), Err(ListError::Filter(_))));
        assert!(matches!(query(&[("attributes", "userName,shoeSize")]), Err(ListError::Selection(_))));
    }

    #[test]
    fn attributes_parameters_select() {
        let query = query(&[("attributes", "userName"), ("excludedAttributes", "")]).unwrap();
        let user =
            json!({"schemas": [crate::schema::USER_SCHEMA], "id": "2819c223", "userName": "bjensen", "active": true});
        assert_eq!(
            query.selection.project(&user),
            json!({"schemas": [crate::schema::USER_SCHEMA], "id": "2819c223", "userName": "bjensen"})
        );
    }

    #[test]
    fn search_request_body() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["displayName", "userName"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1,
            "count": 10,
            "sortBy": "displayName"
        });
        let query = ListQuery::from_search_request(&body, ResourceType::User).unwrap();
        assert!(query.filter.is_some());
        assert_eq!((query.start_index, query.count), (1, 10));
        let projected = query.selection.project(&json!({"id": "1", "userName": "jsmith", "title": "CEO"}));
        assert_eq!(projected, json!({"id": "1", "userName": "jsmith"}));

        let minimal = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
        let query = ListQuery::from_search_request(&minimal, ResourceType::Group).unwrap();
        assert_eq!((query.filter, query.start_index, query.count), (None, 1, MAX_RESULTS));
    }

    #[test]
    fn malformed_search_requests() {
        let cases = [
            (json!([]), "the search body must be a JSON object"),
            (
                json!({"filter": "userName pr"}),
                "\"schemas\" must list \"urn:ietf:params:scim:api:messages:2.0:SearchRequest\"",
            ),
            (
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 3}),
                "\"filter\" must be a string",
            ),
            (
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "attributes": "userName"}),
                "\"attributes\" must be an array of strings",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(ListQuery::from_search_request(&body, ResourceType::User).unwrap_err().to_string(), message);
        }
        let fractional = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 2.5});
        assert_eq!(
            ListQuery::from_search_request(&fractional, ResourceType::User).unwrap_err(),
            ListError::NotAnInteger { parameter: "count", value: "2.5".into() }
        );
    }

    #[test]
    fn list_response_message() {
        let resources =
            vec![json!({"id": "2819c223", "userName": "bjensen"}), json!({"id": "c75ad752", "userName": "jsmith"})];
        assert_eq!(
            list_response(resources, 12, 3),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 12,
                "startIndex": 3,
                "itemsPerPage": 2,
                "Resources": [{"id": "2819c223", "userName": "bjensen"}, {"id": "c75ad752", "userName": "jsmith"}]
            })
        );
        assert_eq!(list_response(Vec::new(), 0, 1)["Resources"], json!([]));
    }
}
