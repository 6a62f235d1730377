//! SCIM filters (RFC 7644 §3.4.2.2): `userName eq "bjensen"`, `emails[type eq "work" and value
//! co "@example.com"]`, `not (active eq true) or meta.lastModified gt "2024-01-01T00:00:00Z"`.
//!
//! [`Filter::parse`] checks a filter against a resource type's schema (every attribute resolved,
//! every comparison type-checked), so that [`Filter::matches`] cannot fail.
//! [`Filter::index_lookup`] finds the equality on an indexed attribute that lets a store fetch
//! candidates instead of scanning.

pub(crate) mod error;
mod eval;
mod parse;

use serde_json::{Number, Value};

pub(super) use parse::parse_value_filter;

use super::schema::{AttributePath, ResourceType};
pub use error::FilterError;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LENGTH: usize = 4096;
/// Deepest nesting of parentheses, `not (…)` and value filters accepted.
pub const MAX_FILTER_DEPTH: usize = 32;

/// A parsed filter whose attribute paths are resolved against a resource type's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `attrPath pr`: the attribute has a value (not null, not an empty string or array).
    Present(AttributePath),
    /// `attrPath op value`. Comparing a complex attribute compares its `value` sub-attribute,
    /// which the path then names (`emails eq "x"` is `emails.value eq "x"`).
    Compare {
        /// The attribute compared.
        path: AttributePath,
        /// The comparison.
        operator: Operator,
        /// The value compared with, of a type the attribute supports.
        value: Literal,
    },
    /// `attrPath[valFilter]`: some element of the complex attribute matches `filter`, whose
    /// paths are relative to the element.
    ValuePath {
        /// The complex attribute.
        path: AttributePath,
        /// The filter an element must match.
        filter: Box<Filter>,
    },
    /// `not (filter)`.
    Not(Box<Filter>),
    /// Every filter matches.
    And(Vec<Filter>),
    /// At least one filter matches.
    Or(Vec<Filter>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `eq`
    Equal,
    /// `ne`
    NotEqual,
    /// `co`: the string contains the value.
    Contains,
    /// `sw`: the string starts with the value.
    StartsWith,
    /// `ew`: the string ends with the value.
    EndsWith,
    /// `gt`
    GreaterThan,
    /// `ge`
    GreaterOrEqual,
    /// `lt`
    LessThan,
    /// `le`
    LessOrEqual,
}

impl Operator {
    /// The operator spelled `keyword` (case-insensitively); `pr` is not a comparison.
    pub fn from_keyword(keyword: &str) -> Option<Operator> {
        const OPERATORS: [(&str, Operator); 9] = [
            ("eq", Operator::Equal),
            ("ne", Operator::NotEqual),
            ("co", Operator::Contains),
            ("sw", Operator::StartsWith),
            ("ew", Operator::EndsWith),
            ("gt", Operator::GreaterThan),
            ("ge", Operator::GreaterOrEqual),
            ("lt", Operator::LessThan),
            ("le", Operator::LessOrEqual),
        ];
        OPERATORS.into_iter().find(|(spelling, _)| spelling.eq_ignore_ascii_case(keyword)).map(|(_, operator)| operator)
    }

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equal => "eq",
            Operator::NotEqual => "ne",
            Operator::Contains => "co",
            Operator::StartsWith => "sw",
            Operator::EndsWith => "ew",
            Operator::GreaterThan => "gt",
            Operator::GreaterOrEqual => "ge",
            Operator::LessThan => "lt",
            Operator::LessOrEqual => "le",
        }
    }

    /// Whether the operator matches substrings (`co`, `sw`, `ew`).
    pub fn is_substring(self) -> bool {
        matches!(self, Operator::Contains | Operator::StartsWith | Operator::EndsWith)
    }
}

/// The value side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A JSON string, unescaped.
    String(String),
    /// A JSON number.
    Number(Number),
    /// `true` or `false` (also written `"True"`/`"False"` against a boolean attribute).
    Boolean(bool),
    /// `null`.
    Null,
}

impl Literal {
    /// The literal as a JSON value.
    pub fn to_json(&self) -> Value {
        match self {
            Literal::String(text) => Value::String(text.clone()),
            Literal::Number(number) => Value::Number(number.clone()),
            Literal::Boolean(boolean) => Value::Bool(*boolean),
            Literal::Null => Value::Null,
        }
    }
}

/// The attributes a store can look resources up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedAttribute {
    /// `id`
    Id,
    /// `externalId`
    ExternalId,
    /// `userName` (Users)
    UserName,
    /// `displayName` (Groups, and Users)
    DisplayName,
}

/// An equality on an indexed attribute, such as Entra ID's `userName eq "…"` and
/// `externalId eq "…"` matching queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLookup {
    /// The attribute.
    pub attribute: IndexedAttribute,
    /// The value it must equal.
    pub value: String,
    /// Whether the comparison is case-sensitive (`id`, `externalId`) or not (`userName`,
    /// `displayName`).
    pub case_exact: bool,
}

impl Filter {
    /// Parses `text` as a filter on resources of `resource_type`.
    pub fn parse(text: &str, resource_type: ResourceType) -> Result<Filter, FilterError> {
        parse::parse_filter(text, resource_type)
    }

    /// An equality on an indexed attribute that every resource matching this filter satisfies:
    /// the filter itself, or one term of a top-level `and`. A store can fetch the candidates by
    /// the index; unless the filter is exactly the equality, it must still keep only those
    /// that [`Filter::matches`].
    pub fn index_lookup(&self) -> Option<IndexLookup> {
        match self {
            Filter::Compare { path, operator: Operator::Equal, value: Literal::String(value) }
                if path.extension.is_none() && path.sub_attribute.is_none() =>
            {
                let attribute = match path.attribute.name {
                    "id" => IndexedAttribute::Id,
                    "externalId" => IndexedAttribute::ExternalId,
                    "userName" => IndexedAttribute::UserName,
                    "displayName" => IndexedAttribute::DisplayName,
                    _ => return None,
                };
                Some(IndexLookup { attribute, value: value.clone(), case_exact: path.attribute.case_exact })
            }
            Filter::And(terms) => terms.iter().find_map(Filter::index_lookup),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(text: &str, resource_type: ResourceType) -> Option<IndexLookup> {
        Filter::parse(text, resource_type).unwrap().index_lookup()
    }

    #[test]
    fn entra_matching_queries_use_the_index() {
        assert_eq!(
            lookup(r#"userName eq "8f3c0c4e-2d3b-4c59-9b0f-6f1c1d2e3a4b""#, ResourceType::User),
            Some(IndexLookup {
                attribute: IndexedAttribute::UserName,
                value: "8f3c0c4e-2d3b-4c59-9b0f-6f1c1d2e3a4b".into(),
                case_exact: false,
            })
        );
        assert_eq!(
            lookup(r#"EXTERNALID EQ "E1024""#, ResourceType::User),
            Some(IndexLookup { attribute: IndexedAttribute::ExternalId, value: "E1024".into(), case_exact: true })
        );
        assert_eq!(
            lookup(r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Sales EMEA""#, ResourceType::Group),
            Some(IndexLookup {
                attribute: IndexedAttribute::DisplayName,
                value: "Sales EMEA".into(),
                case_exact: false
            })
        );
    }

    #[test]
    fn a_conjunction_narrows_by_its_indexed_term() {
        let filter =
            r#"members eq "2819c223-7f76-453a-919d-413861904646" and id eq "e9e30dba-f08f-4109-8486-d5c6a331660a""#;
        assert_eq!(
            lookup(filter, ResourceType::Group),
            Some(IndexLookup {
                attribute: IndexedAttribute::Id,
                value: "e9e30dba-f08f-4109-8486-d5c6a331660a".into(),
                case_exact: true,
            })
        );
    }

    #[test]
    fn other_filters_do_not_use_the_index() {
        for filter in [
            r#"userName ne "bjensen""#,
            r#"userName sw "bj""#,
            r#"userName eq "bjensen" or externalId eq "E1024""#,
            r#"not (userName eq "bjensen")"#,
            r#"name.familyName eq "Jensen""#,
            r#"emails[value eq "bjensen@example.com"]"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            r#"title eq "Tour Guide""#,
        ] {
            assert_eq!(lookup(filter, ResourceType::User), None, "{filter}");
        }
    }

    #[test]
    fn operators_read_in_any_case() {
        assert_eq!(Operator::from_keyword("GE"), Some(Operator::GreaterOrEqual));
        assert_eq!(Operator::from_keyword("pr"), None);
        assert_eq!(Operator::from_keyword("equals"), None);
        assert!(Operator::Contains.is_substring() && !Operator::LessThan.is_substring());
        assert_eq!(Operator::EndsWith.as_str(), "ew");
    }
}
