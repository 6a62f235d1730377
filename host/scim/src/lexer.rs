//! Tokens of the RFC 7644 filter and PATCH path grammars (§3.4.2.2, §3.5.2): words (attribute
//! paths, keywords, operators, numbers and `true`/`false`/`null`), JSON strings, parentheses
//! and brackets. Which word is which is the parsers' business.

use super::filter::error::FilterError;

/// One token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token<'a> {
    /// What the token is.
    pub kind: TokenKind<'a>,
    /// Offset of its first character, in characters from the start of the input (0-based).
    pub position: usize,
}

/// The kinds of token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind<'a> {
    /// A run of characters other than white space, `(`, `)`, `[`, `]` and `"`.
    Word(&'a str),
    /// A JSON string, unescaped.
    String(String),
    /// `(`
    OpenParen,
    /// `)`
    CloseParen,
    /// `[`
    OpenBracket,
    /// `]`
    CloseBracket,
    /// The end of the input.
    End,
}

impl TokenKind<'_> {
    /// How error messages name the token.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Word(word) => format!("'{word}'"),
            TokenKind::String(_) => "a string".to_owned(),
            TokenKind::OpenParen => "'('".to_owned(),
            TokenKind::CloseParen => "')'".to_owned(),
            TokenKind::OpenBracket => "'['".to_owned(),
            TokenKind::CloseBracket => "']'".to_owned(),
            TokenKind::End => "the end of the input".to_owned(),
        }
    }
}

/// The tokens of one input, read front to back.
#[derive(Debug)]
pub(super) struct Tokens<'a> {
    tokens: Vec<Token<'a>>,
    next: usize,
    end: Token<'a>,
}

impl<'a> Tokens<'a> {
    /// Splits `input` into tokens. (Slices are cut at byte offsets from `char_indices`, so on
    /// character boundaries.)
    pub fn new(input: &'a str) -> Result<Tokens<'a>, FilterError> {
        let mut tokens = Vec::new();
        let mut characters = input.char_indices().enumerate().peekable();
        while let Some((position, (byte, character))) = characters.next() {
            let kind = match character {
                _ if character.is_whitespace() => continue,
                '(' => TokenKind::OpenParen,
                ')' => TokenKind::CloseParen,
                '[' => TokenKind::OpenBracket,
                ']' => TokenKind::CloseBracket,
                '"' => {
                    let mut escaped = false;
                    let mut end = None;
                    for (_, (string_byte, string_character)) in characters.by_ref() {
                        match string_character {
                            _ if escaped => escaped = false,
                            '\\' => escaped = true,
                            '"' => {
                                end = Some(string_byte + 1);
                                break;
                            }
                            _ => {}
                        }
                    }
                    let Some(end) = end else {
                        return Err(FilterError::new(position, "unterminated string"));
                    };
                    let literal = &input[byte..end];
                    match serde_json::from_str::<String>(literal) {
                        Ok(text) => TokenKind::String(text),
                        Err(error) => return Err(FilterError::new(position, format!("invalid string: {error}"))),
                    }
                }
                _ => {
                    let mut end = byte + character.len_utf8();
                    while let Some(&(_, (word_byte, word_character))) = characters.peek() {
                        if word_character.is_whitespace() || "()[]\"".contains(word_character) {
                            break;
                        }
                        end = word_byte + word_character.len_utf8();
                        characters.next();
                    }
                    TokenKind::Word(&input[byte..end])
                }
            };
            tokens.push(Token { kind, position });
        }
        let end = Token { kind: TokenKind::End, position: input.chars().count() };
        Ok(Tokens { tokens, next: 0, end })
    }

    /// The next token, without consuming it.
    pub fn peek(&self) -> &Token<'a> {
        self.tokens.get(self.next).unwrap_or(&self.end)
    }

    /// Consumes and returns the next token; at the end, returns [`TokenKind::End`] again and
    /// again.
    pub fn advance(&mut self) -> Token<'a> {
        let token = self.peek().clone();
        if self.next < self.tokens.len() {
            self.next += 1;
        }
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind<'_>> {
        let mut tokens = Tokens::new(input).unwrap();
        let mut kinds = Vec::new();
        loop {
            let token = tokens.advance();
            if token.kind == TokenKind::End {
                return kinds;
            }
            kinds.push(token.kind);
        }
    }

    #[test]
    fn splits_a_value_path_filter() {
        assert_eq!(
            kinds(r#"emails[type eq "work" and value co "@acme.com"]"#),
            [
                TokenKind::Word("emails"),
                TokenKind::OpenBracket,
                TokenKind::Word("type"),
                TokenKind::Word("eq"),
                TokenKind::String("work".into()),
                TokenKind::Word("and"),
                TokenKind::Word("value"),
                TokenKind::Word("co"),
                TokenKind::String("@acme.com".into()),
                TokenKind::CloseBracket,
            ]
        );
    }

    #[test]
    fn urns_stay_one_word_and_a_sub_attribute_follows_a_bracket() {
        assert_eq!(
            kinds(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"#),
            [
                TokenKind::Word("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
                TokenKind::Word("pr")
            ]
        );
        assert_eq!(kinds(r#"emails[type eq "work"].value"#)[5..], [TokenKind::CloseBracket, TokenKind::Word(".value")]);
    }

    #[test]
    fn strings_are_unescaped_json() {
        assert_eq!(
            kinds(r#"displayName eq "Sales \"EMEA\" \u00e9quipe (north)]""#)[2],
            TokenKind::String("Sales \"EMEA\" \u{e9}quipe (north)]".into())
        );
    }

    #[test]
    fn positions_count_characters() {
        let mut tokens = Tokens::new("näme eq \"x\"").unwrap();
        assert_eq!(tokens.advance().position, 0);
        assert_eq!(tokens.advance().position, 5);
        assert_eq!(tokens.advance().position, 8);
        assert_eq!(tokens.advance(), Token { kind: TokenKind::End, position: 11 });
        assert_eq!(tokens.advance().kind, TokenKind::End);
    }

    #[test]
    fn malformed_strings_are_errors() {
        let error = Tokens::new(r#"userName eq "bjensen"#).unwrap_err();
        assert_eq!((error.position, error.message.as_str()), (12, "unterminated string"));
        let error = Tokens::new(r#"userName eq "b\qjensen""#).unwrap_err();
        assert_eq!(error.position, 12);
        assert!(error.message.starts_with("invalid string"), "{error}");
        assert!(Tokens::new(r#"userName eq "ends with a backslash\"#).is_err());
    }
}
