//! The filter grammar of RFC 7644 §3.4.2.2 (Figure 1), by recursive descent:
//!
//! ```text
//! filter     = conjunction *("or" conjunction)
//! conjunction = factor *("and" factor)
//! factor     = "not" "(" filter ")" / "(" filter ")" / attrPath "[" valFilter "]"
//!            / attrPath "pr" / attrPath compareOp compValue
//! ```
//!
//! so `not` binds tighter than `and`, and `and` tighter than `or`. Keywords, operators and
//! attribute names are case-insensitive. Each attribute path is resolved against the schema
//! and each comparison checked against the attribute's type as it is read.

use serde_json::Number;

use super::{Filter, FilterError, Literal, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, Operator};
use crate::lexer::{Token, TokenKind, Tokens};
use crate::schema::{Attribute, AttributePath, AttributeType, ResourceType};

/// Parses a whole filter.
pub(super) fn parse_filter(text: &str, resource_type: ResourceType) -> Result<Filter, FilterError> {
    if text.len() > MAX_FILTER_LENGTH {
        return Err(FilterError::new(0, format!("the filter is longer than {MAX_FILTER_LENGTH} bytes")));
    }
    let mut tokens = Tokens::new(text)?;
    if tokens.peek().kind == TokenKind::End {
        return Err(FilterError::new(0, "the filter is empty"));
    }
    let mut parser = Parser { tokens: &mut tokens, resource_type, depth: 0 };
    let filter = parser.filter(Scope::Resource)?;
    let next = parser.tokens.advance();
    if next.kind != TokenKind::End {
        return Err(unexpected(&next, "'and', 'or' or the end of the filter"));
    }
    Ok(filter)
}

/// Parses the value filter of `parent[…]` (for PATCH paths), leaving the closing bracket to the
/// caller. Paths in it are sub-attributes of `parent`.
pub(crate) fn parse_value_filter(
    tokens: &mut Tokens<'_>,
    resource_type: ResourceType,
    parent: &'static Attribute,
) -> Result<Filter, FilterError> {
    let mut parser = Parser { tokens, resource_type, depth: 1 };
    parser.filter(Scope::Element(parent))
}

/// What attribute paths are relative to.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// The resource: paths are attributes of the resource type.
    Resource,
    /// One element of this complex attribute, inside `attr[…]`: paths are its sub-attributes.
    Element(&'static Attribute),
}

struct Parser<'t, 'a> {
    tokens: &'t mut Tokens<'a>,
    resource_type: ResourceType,
    /// How many parentheses, `not (` and `[` enclose the current position.
    depth: usize,
}

impl Parser<'_, '_> {
    /// `conjunction *("or" conjunction)`
    fn filter(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        let mut terms = vec![self.conjunction(scope)?];
        while self.next_is_keyword("or") {
            self.tokens.advance();
            terms.push(self.conjunction(scope)?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Filter::Or(terms) })
    }

    /// `factor *("and" factor)`
    fn conjunction(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        let mut terms = vec![self.factor(scope)?];
        while self.next_is_keyword("and") {
            self.tokens.advance();
            terms.push(self.factor(scope)?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Filter::And(terms) })
    }

    fn factor(&mut self, scope: Scope) -> Result<Filter, FilterError> {
        let token = self.tokens.advance();
        match token.kind {
            TokenKind::Word(word) if word.eq_ignore_ascii_case("not") => {
                let open = self.tokens.advance();
                if open.kind != TokenKind::OpenParen {
                    return Err(unexpected(&open, "'(' after 'not'"));
                }
                Ok(Filter::Not(Box::new(self.group(scope, &open)?)))
            }
            TokenKind::OpenParen => self.group(scope, &token),
            TokenKind::Word(word) => self.attribute_expression(scope, word, token.position),
            _ => Err(unexpected(&token, "an attribute path, 'not' or '('")),
        }
    }

    /// The rest of `( filter )`, after `open`.
    fn group(&mut self, scope: Scope, open: &Token<'_>) -> Result<Filter, FilterError> {
        self.enter(open.position)?;
        let filter = self.filter(scope)?;
        let close = self.tokens.advance();
        if close.kind != TokenKind::CloseParen {
            return Err(unexpected(&close, &format!("')' to close the '(' at position {}", open.position)));
        }
        self.depth -= 1;
        Ok(filter)
    }

    /// What follows an attribute path: `[valFilter]`, `pr` or `op value`.
    fn attribute_expression(&mut self, scope: Scope, word: &str, position: usize) -> Result<Filter, FilterError> {
        let path = self.resolve(scope, word, position)?;
        let token = self.tokens.advance();
        match token.kind {
            TokenKind::OpenBracket => self.value_path(scope, path, word, &token),
            TokenKind::Word(keyword) if keyword.eq_ignore_ascii_case("pr") => Ok(Filter::Present(path)),
            TokenKind::Word(keyword) => match Operator::from_keyword(keyword) {
                Some(operator) => {
                    let value_token = self.tokens.advance();
                    let value = literal(&value_token)?;
                    let (path, value) = check_comparison(path, word, operator, value, &token)?;
                    Ok(Filter::Compare { path, operator, value })
                }
                None => Err(unexpected(
                    &token,
                    &format!("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '{word}'"),
                )),
            },
            _ => Err(unexpected(
                &token,
                &format!("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '{word}'"),
            )),
        }
    }

    /// The rest of `attr[valFilter]`, after `open`.
    fn value_path(
        &mut self,
        scope: Scope,
        path: AttributePath,
        word: &str,
        open: &Token<'_>,
    ) -> Result<Filter, FilterError> {
        if let Scope::Element(_) = scope {
            return Err(FilterError::new(open.position, "value filters cannot be nested"));
        }
        if path.sub_attribute.is_some() || path.attribute.kind != AttributeType::Complex {
            return Err(FilterError::new(
                open.position,
                format!("'{word}' is not a complex attribute, so it cannot take a value filter"),
            ));
        }
        self.enter(open.position)?;
        let filter = self.filter(Scope::Element(path.attribute))?;
        let close = self.tokens.advance();
        if close.kind != TokenKind::CloseBracket {
            return Err(unexpected(&close, &format!("']' to close the '[' at position {}", open.position)));
        }
        self.depth -= 1;
        Ok(Filter::ValuePath { path, filter: Box::new(filter) })
    }

    fn resolve(&self, scope: Scope, word: &str, position: usize) -> Result<AttributePath, FilterError> {
        match scope {
            Scope::Resource => self.resource_type.find_attribute(word).ok_or_else(|| {
                FilterError::new(position, format!("unknown attribute '{word}' for a {}", self.resource_type.name()))
            }),
            Scope::Element(parent) => match parent.sub_attribute(word) {
                Some(attribute) => Ok(AttributePath { extension: None, attribute, sub_attribute: None }),
                None => Err(FilterError::new(position, format!("'{}' has no sub-attribute '{word}'", parent.name))),
            },
        }
    }

    fn enter(&mut self, position: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(FilterError::new(position, format!("the filter nests deeper than {MAX_FILTER_DEPTH} levels")));
        }
        Ok(())
    }

    fn next_is_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.peek().kind, TokenKind::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

/// `compValue = false / null / true / number / string`; the keywords in any case.
fn literal(token: &Token<'_>) -> Result<Literal, FilterError> {
    match &token.kind {
        TokenKind::String(text) => Ok(Literal::String(text.clone())),
        TokenKind::Word(word) if word.eq_ignore_ascii_case("true") => Ok(Literal::Boolean(true)),
        TokenKind::Word(word) if word.eq_ignore_ascii_case("false") => Ok(Literal::Boolean(false)),
        TokenKind::Word(word) if word.eq_ignore_ascii_case("null") => Ok(Literal::Null),
        TokenKind::Word(word) => match serde_json::from_str::<Number>(word) {
            Ok(number) => Ok(Literal::Number(number)),
            Err(_) => Err(unexpected(token, "a value (a string in double quotes, a number, true, false or null)")),
        },
        _ => Err(unexpected(token, "a value (a string in double quotes, a number, true, false or null)")),
    }
}

/// Checks that `operator` and `value` suit the attribute `path` names, and settles two
/// conveniences: a complex attribute compares its `value` sub-attribute, and a boolean
/// attribute accepts `"true"`/`"false"` strings (as Entra ID writes them).
fn check_comparison(
    mut path: AttributePath,
    word: &str,
    operator: Operator,
    value: Literal,
    operator_token: &Token<'_>,
) -> Result<(AttributePath, Literal), FilterError> {
    let error = |message: String| Err(FilterError::new(operator_token.position, message));
    if path.target().kind == AttributeType::Complex {
        match path.attribute.sub_attribute("value") {
            Some(value_attribute) => path.sub_attribute = Some(value_attribute),
            None => {
                return error(format!("'{word}' is a complex attribute; compare one of its sub-attributes instead"));
            }
        }
    }
    let kind = path.target().kind;
    let operator_name = operator.as_str();
    match value {
        Literal::Null if matches!(operator, Operator::Equal | Operator::NotEqual) => Ok((path, Literal::Null)),
        Literal::Null => error(format!("only 'eq' and 'ne' compare with null, not '{operator_name}'")),
        Literal::String(text) if kind.is_textual() => Ok((path, Literal::String(text))),
        Literal::Boolean(_) | Literal::String(_) if kind == AttributeType::Boolean => {
            let boolean = match value {
                Literal::Boolean(boolean) => boolean,
                Literal::String(text) if text.eq_ignore_ascii_case("true") => true,
                Literal::String(text) if text.eq_ignore_ascii_case("false") => false,
                _ => return error(format!("'{word}' is a boolean; compare it with true or false")),
            };
            if !matches!(operator, Operator::Equal | Operator::NotEqual) {
                return error(format!("'{operator_name}' does not apply to the boolean '{word}'; use 'eq' or 'ne'"));
            }
            Ok((path, Literal::Boolean(boolean)))
        }
        Literal::Number(number) if matches!(kind, AttributeType::Integer | AttributeType::Decimal) => {
            if operator.is_substring() {
                return error(format!("'{operator_name}' does not apply to the number '{word}'"));
            }
            Ok((path, Literal::Number(number)))
        }
        _ => error(format!("'{word}' is of type {}; the value does not match it", kind.as_str())),
    }
}

fn unexpected(token: &Token<'_>, expected: &str) -> FilterError {
    FilterError::new(token.position, format!("expected {expected}, found {}", token.kind.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTERPRISE_USER;

    fn user_filter(text: &str) -> Filter {
        parse_filter(text, ResourceType::User).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn user_error(text: &str) -> FilterError {
        parse_filter(text, ResourceType::User).unwrap_err()
    }

    fn path(text: &str) -> AttributePath {
        ResourceType::User.find_attribute(text).unwrap()
    }

    #[test]
    fn parses_an_entra_matching_query() {
        assert_eq!(
            user_filter(r#"userName eq "7c6e2b9f-5d4c-4e8a-9b1f-2a3d4c5e6f70""#),
            Filter::Compare {
                path: path("userName"),
                operator: Operator::Equal,
                value: Literal::String("7c6e2b9f-5d4c-4e8a-9b1f-2a3d4c5e6f70".into()),
            }
        );
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        let filter = user_filter(r#"title pr or userType eq "Employee" and not (active eq false)"#);
        assert_eq!(
            filter,
            Filter::Or(vec![
                Filter::Present(path("title")),
                Filter::And(vec![
                    Filter::Compare {
                        path: path("userType"),
                        operator: Operator::Equal,
                        value: Literal::String("Employee".into()),
                    },
                    Filter::Not(Box::new(Filter::Compare {
                        path: path("active"),
                        operator: Operator::Equal,
                        value: Literal::Boolean(false),
                    })),
                ]),
            ])
        );
        // Parentheses regroup; keywords read in any case.
        let filter = user_filter(r#"(title PR OR userType EQ "Employee") AND NOT(active eq FALSE)"#);
        assert!(matches!(&filter, Filter::And(terms) if matches!(terms[0], Filter::Or(_))), "{filter:?}");
    }

    #[test]
    fn value_paths_resolve_their_sub_attributes() {
        let filter = user_filter(r#"emails[TYPE eq "work" and value co "@acme.com"]"#);
        let Filter::ValuePath { path: emails, filter } = filter else { panic!("not a value path") };
        assert_eq!(emails.to_string(), "emails");
        let Filter::And(terms) = *filter else { panic!("not a conjunction") };
        let Filter::Compare { path: type_path, .. } = &terms[0] else { panic!("not a comparison") };
        assert_eq!((type_path.attribute.name, type_path.extension), ("type", None));
    }

    #[test]
    fn urn_qualified_attributes() {
        let filter = user_filter(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations""#,
        );
        let Filter::Compare { path, .. } = filter else { panic!("not a comparison") };
        assert_eq!(path.extension, Some(&ENTERPRISE_USER));
        let filter = user_filter(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        );
        let Filter::Compare { path, .. } = filter else { panic!("not a comparison") };
        assert_eq!(path.target().name, "value");
    }

    #[test]
    fn complex_attributes_compare_their_value_and_booleans_take_strings() {
        let Filter::Compare { path, .. } = user_filter(r#"emails co "example.com""#) else { panic!() };
        assert_eq!(path.to_string(), "emails.value");
        let Filter::Compare { value, .. } = user_filter(r#"active eq "True""#) else { panic!() };
        assert_eq!(value, Literal::Boolean(true));
        let Filter::ValuePath { filter, .. } = user_filter(r#"emails[primary eq "False"]"#) else { panic!() };
        assert!(matches!(*filter, Filter::Compare { value: Literal::Boolean(false), .. }), "{filter:?}");
    }

    #[test]
    fn values_are_json_literals() {
        let Filter::Compare { value, .. } = user_filter(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#) else {
            panic!()
        };
        assert_eq!(value, Literal::String("2011-05-13T04:42:34Z".into()));
        let Filter::Compare { value, .. } = user_filter("title eq null") else { panic!() };
        assert_eq!(value, Literal::Null);
        let Filter::Compare { value, .. } = user_filter(r#"displayName eq "Ren\u00e9e \"Rae\" O'Hara""#) else {
            panic!()
        };
        assert_eq!(value, Literal::String("Renée \"Rae\" O'Hara".into()));
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        let cases = [
            ("", 0, "the filter is empty"),
            (
                "userName",
                8,
                "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName', found the end of the input",
            ),
            (
                r#"userName equals "x""#,
                9,
                "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName', found 'equals'",
            ),
            (
                "userName eq",
                11,
                "expected a value (a string in double quotes, a number, true, false or null), found the end of the input",
            ),
            (
                "userName eq bjensen",
                12,
                "expected a value (a string in double quotes, a number, true, false or null), found 'bjensen'",
            ),
            (r#"favouriteColour eq "blue""#, 0, "unknown attribute 'favouriteColour' for a User"),
            (
                r#"userName eq "a" userName eq "b""#,
                16,
                "expected 'and', 'or' or the end of the filter, found 'userName'",
            ),
            (r#"(userName eq "a""#, 16, "expected ')' to close the '(' at position 0, found the end of the input"),
            (r#"not userName eq "a""#, 4, "expected '(' after 'not', found 'userName'"),
            (r#"userName eq "a")"#, 15, "expected 'and', 'or' or the end of the filter, found ')'"),
            (r#"emails[type eq "work""#, 21, "expected ']' to close the '[' at position 6, found the end of the input"),
            (r#"emails[kind eq "work"]"#, 7, "'emails' has no sub-attribute 'kind'"),
            (r#"userName[value eq "x"]"#, 8, "'userName' is not a complex attribute, so it cannot take a value filter"),
            (r#"active gt true"#, 7, "'gt' does not apply to the boolean 'active'; use 'eq' or 'ne'"),
            (r#"active eq "yes""#, 7, "'active' is a boolean; compare it with true or false"),
            (r#"userName eq 42"#, 9, "'userName' is of type string; the value does not match it"),
            (r#"title co null"#, 6, "only 'eq' and 'ne' compare with null, not 'co'"),
            (r#"name eq "Barbara""#, 5, "'name' is a complex attribute; compare one of its sub-attributes instead"),
            (r#"userName eq "unterminated"#, 12, "unterminated string"),
        ];
        for (filter, position, message) in cases {
            let error = user_error(filter);
            assert_eq!((error.position, error.message.as_str()), (position, message), "{filter}");
        }
        assert_eq!(
            user_error("userName pr and").to_string(),
            "expected an attribute path, 'not' or '(', found the end of the input (at position 15)"
        );
    }

    #[test]
    fn truncated_and_garbled_filters_are_errors_not_panics() {
        let filter = r#"not (emails[type eq "wörk" and value co "@acme"]) or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x\"y" and (meta.lastModified gt "2024-01-01T00:00:00Z")"#;
        assert!(parse_filter(filter, ResourceType::User).is_ok());
        for (boundary, _) in filter.char_indices().skip(1) {
            let (head, tail) = filter.split_at(boundary);
            // Any outcome but a panic will do; most of these are errors.
            let _ = parse_filter(head, ResourceType::User);
            let _ = parse_filter(tail, ResourceType::User);
        }
        for garbage in [
            "]",
            "[",
            "\"",
            "\\",
            "((((",
            "))",
            "emails[",
            "emails[]",
            "emails[type eq]",
            "\u{0}",
            "𝔘𝔰𝔢𝔯 eq 1",
            "not",
            "not (",
        ] {
            assert!(parse_filter(garbage, ResourceType::User).is_err(), "{garbage}");
        }
    }

    #[test]
    fn hostile_filters_are_refused_without_deep_recursion() {
        let deep = format!("{}userName pr{}", "not (".repeat(40), ")".repeat(40));
        let error = user_error(&deep);
        assert_eq!(error.message, format!("the filter nests deeper than {MAX_FILTER_DEPTH} levels"));
        let long = vec![r#"userName eq "x""#; 400].join(" or ");
        assert_eq!(user_error(&long).message, format!("the filter is longer than {MAX_FILTER_LENGTH} bytes"));
        // Long flat chains are fine: `and`/`or` do not nest.
        let chain = vec!["title pr"; 200].join(" and ");
        assert!(matches!(user_filter(&chain), Filter::And(terms) if terms.len() == 200));
        // Nested value filters are not part of the grammar.
        assert_eq!(
            parse_filter(r#"members[value[x eq "y"]]"#, ResourceType::Group).unwrap_err().message,
            "value filters cannot be nested"
        );
    }
}
