//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, that is `title`,
//! `name.givenName`, `members[value eq "2819c223"]`, `emails[type eq "work"].value`, each
//! optionally qualified with a schema URN
//! (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`). Names are
//! case-insensitive; paths are resolved against the resource type's schema.

use super::filter::{self, Filter, FilterError, MAX_FILTER_LENGTH};
use super::lexer::{TokenKind, Tokens};
use super::schema::{AttributePath, AttributeType, ResourceType};

/// The target of a PATCH operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    /// The attribute, with the sub-attribute written after a `.` (after the value filter in
    /// `emails[type eq "work"].value`).
    pub attribute: AttributePath,
    /// The value filter selecting elements of a multi-valued attribute, with paths relative to
    /// the element.
    pub value_filter: Option<Filter>,
}

/// A PATCH path that does not parse or names no attribute: the SCIM `invalidPath` detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path '{path}': {reason}")]
pub struct PathError {
    /// The path as the client wrote it.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl PatchPath {
    /// Parses `text` as a PATCH path on resources of `resource_type`.
    pub fn parse(text: &str, resource_type: ResourceType) -> Result<PatchPath, PathError> {
        let error = |reason: String| PathError { path: text.to_owned(), reason };
        let syntax_error = |error_in_filter: FilterError| error(error_in_filter.to_string());
        if text.len() > MAX_FILTER_LENGTH {
            return Err(error(format!("longer than {MAX_FILTER_LENGTH} bytes")));
        }
        let mut tokens = Tokens::new(text).map_err(syntax_error)?;
        let first = tokens.advance();
        let TokenKind::Word(attribute_text) = first.kind else {
            return Err(error(format!("expected an attribute path, found {}", first.kind.describe())));
        };
        let unknown = || error(format!("no attribute '{attribute_text}' on a {}", resource_type.name()));
        let mut attribute = resource_type.find_attribute(attribute_text).ok_or_else(unknown)?;

        let next = tokens.advance();
        let value_filter = match next.kind {
            TokenKind::End => None,
            TokenKind::OpenBracket => {
                if attribute.sub_attribute.is_some() || attribute.attribute.kind != AttributeType::Complex {
                    return Err(error(format!(
                        "'{attribute_text}' is not a complex attribute, so it cannot take a value filter"
                    )));
                }
                let value_filter = filter::parse_value_filter(&mut tokens, resource_type, attribute.attribute)
                    .map_err(syntax_error)?;
                let close = tokens.advance();
                if close.kind != TokenKind::CloseBracket {
                    return Err(error(format!(
                        "expected ']' to close the '[' at position {}, found {} (at position {})",
                        next.position,
                        close.kind.describe(),
                        close.position
                    )));
                }
                let after = tokens.advance();
                let expected_sub_attribute = || {
                    error(format!(
                        "expected '.' and a sub-attribute or the end of the path, found {} (at position {})",
                        after.kind.describe(),
                        after.position
                    ))
                };
                match after.kind {
                    TokenKind::End => {}
                    TokenKind::Word(word) => {
                        let sub_name = word.strip_prefix('.').ok_or_else(expected_sub_attribute)?;
                        let sub_attribute = attribute.attribute.sub_attribute(sub_name).ok_or_else(|| {
                            error(format!("'{}' has no sub-attribute '{sub_name}'", attribute.attribute.name))
                        })?;
                        attribute.sub_attribute = Some(sub_attribute);
                        let end = tokens.advance();
                        if end.kind != TokenKind::End {
                            return Err(error(format!(
                                "unexpected {} at position {}",
                                end.kind.describe(),
                                end.position
                            )));
                        }
                    }
                    _ => return Err(expected_sub_attribute()),
                }
                Some(value_filter)
            }
            _ => return Err(error(format!("unexpected {} at position {}", next.kind.describe(), next.position))),
        };
        PatchPath::new(attribute, value_filter).map_err(|rejected| error(rejected.reason))
    }

    /// A path from its parts, refusing what PATCH cannot target: a value filter on anything
    /// but a multi-valued complex attribute, and a sub-attribute of a multi-valued attribute
    /// without a value filter to say which elements (`emails.value`).
    pub fn new(attribute: AttributePath, value_filter: Option<Filter>) -> Result<PatchPath, PathError> {
        let error = |reason: String| PathError { path: attribute.to_string(), reason };
        let name = attribute.attribute.name;
        let multi_valued = attribute.attribute.multi_valued;
        if value_filter.is_some() && !multi_valued {
            return Err(error(format!("'{name}' is single-valued, so it cannot take a value filter")));
        }
        if let (None, true, Some(sub_attribute)) = (&value_filter, multi_valued, attribute.sub_attribute) {
            return Err(error(format!(
                "'{attribute}' needs a value filter to select elements of '{name}', as in {name}[…].{}",
                sub_attribute.name
            )));
        }
        Ok(PatchPath { attribute, value_filter })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Literal, Operator};
    use crate::schema::ENTERPRISE_USER;

    fn user_path(text: &str) -> PatchPath {
        PatchPath::parse(text, ResourceType::User).unwrap_or_else(|error| panic!("{error}"))
    }

    fn user_path_error(text: &str) -> String {
        PatchPath::parse(text, ResourceType::User).unwrap_err().reason
    }

    #[test]
    fn plain_and_dotted_paths() {
        let path = user_path("name.givenName");
        assert_eq!(path.attribute.to_string(), "name.givenName");
        assert_eq!(path.value_filter, None);
        assert_eq!(user_path("ACTIVE").attribute.attribute.name, "active");
    }

    #[test]
    fn entra_work_email_path() {
        let path = user_path(r#"emails[type eq "work"].value"#);
        assert_eq!(path.attribute.to_string(), "emails.value");
        let Some(Filter::Compare { path: type_path, operator, value }) = path.value_filter else {
            panic!("no comparison")
        };
        assert_eq!(type_path.attribute.name, "type");
        assert_eq!((operator, value), (Operator::Equal, Literal::String("work".into())));
    }

    #[test]
    fn member_removal_path() {
        let path = PatchPath::parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#, ResourceType::Group)
            .unwrap();
        assert_eq!(path.attribute.to_string(), "members");
        let group = serde_json::json!({"members": [{"value": "2819c223-7f76-453a-919d-413861904646"}]});
        let members = group["members"].as_array().unwrap();
        assert!(path.value_filter.unwrap().matches(&members[0]));
    }

    #[test]
    fn urn_qualified_paths() {
        let path = user_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber");
        assert_eq!(
            (path.attribute.extension, path.attribute.attribute.name),
            (Some(&ENTERPRISE_USER), "employeeNumber")
        );
        let path = user_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(path.attribute.target().name, "value");
        let path = user_path(r#"urn:ietf:params:scim:schemas:core:2.0:User:addresses[type eq "work"].postalCode"#);
        assert_eq!(path.attribute.to_string(), "addresses.postalCode");
    }

    #[test]
    fn truncated_paths_are_errors_not_panics() {
        let path = r#"urn:ietf:params:scim:schemas:core:2.0:User:addresses[type eq "wörk" and not (primary eq true)].locality"#;
        assert!(PatchPath::parse(path, ResourceType::User).is_ok());
        for (boundary, _) in path.char_indices().skip(1) {
            let (head, tail) = path.split_at(boundary);
            let _ = PatchPath::parse(head, ResourceType::User);
            let _ = PatchPath::parse(tail, ResourceType::User);
        }
    }

    #[test]
    fn invalid_paths_explain_themselves() {
        let cases = [
            ("", "expected an attribute path, found the end of the input"),
            ("favouriteColour", "no attribute 'favouriteColour' on a User"),
            ("name.nickName", "no attribute 'name.nickName' on a User"),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "no attribute 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' on a User",
            ),
            (r#"emails[type eq "work"].label"#, "'emails' has no sub-attribute 'label'"),
            (
                r#"emails[type eq "work"]value"#,
                "expected '.' and a sub-attribute or the end of the path, found 'value' (at position 22)",
            ),
            (r#"emails[type eq "work"].value extra"#, "unexpected 'extra' at position 29"),
            (
                r#"emails[type eq "work""#,
                "expected ']' to close the '[' at position 6, found the end of the input (at position 21)",
            ),
            (
                r#"emails[type equals "work"]"#,
                "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'type', found 'equals' (at position 12)",
            ),
            (r#"userName[value eq "x"]"#, "'userName' is not a complex attribute, so it cannot take a value filter"),
            (r#"name[givenName eq "Barbara"]"#, "'name' is single-valued, so it cannot take a value filter"),
            (
                "emails.value",
                "'emails.value' needs a value filter to select elements of 'emails', as in emails[…].value",
            ),
            ("userName eq", "unexpected 'eq' at position 9"),
        ];
        for (path, reason) in cases {
            assert_eq!(user_path_error(path), reason, "{path}");
        }
        let error = PatchPath::parse("title)", ResourceType::User).unwrap_err();
        assert_eq!(error.to_string(), "invalid path 'title)': unexpected ')' at position 5");
    }
}
