//! The settings document: rules, fallback, rule-based groups and the condition language.
//!
//! Every type here is a plain struct or an externally tagged enum, so prepared settings travel in
//! the compact binary form (see `muster_guest::settings`).

use muster_guest::Regex;
use muster_guest::schema::{self, JsonSchema};
use serde::{Deserialize, Serialize};

/// The settings document of the user-rules policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The rules, in order; the first whose condition matches decides the organization.
    pub rules: Vec<Rule>,
    /// The organization of users no rule matches; `None` (absent or `null`) blocks them.
    #[serde(default)]
    #[schemars(transform = schema::organization)]
    pub fallback: Option<String>,
    /// Rule-based groups: every entry whose condition matches adds its group.
    #[serde(default)]
    pub groups: Vec<GroupRule>,
}

/// One organization rule: a named condition and the organization it leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The rule's name, unique in the document; it names the rule in traces and decisions.
    pub name: String,
    /// The organization of users this rule matches.
    #[schemars(transform = schema::organization)]
    pub organization: String,
    /// When the rule matches.
    pub when: Condition,
}

/// One rule-based group: a named condition and the internal group it adds the user to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// The entry's name, unique in the document (among rules and group entries alike).
    pub name: String,
    /// The internal group users matching this entry are put in.
    pub group: String,
    /// When the entry matches.
    pub when: Condition,
}

/// A condition over a user.
///
/// In JSON each condition is an object with exactly one key naming its kind:
/// `{"attribute": {"name": "department", "equals": "Sales"}}`, `{"provider_group": {"in": [..]}}`,
/// `{"all": [..]}`, `{"not": {..}}`, …
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Some value of a user attribute passes the test.
    Attribute(AttributeCondition),
    /// Some provider group of the user passes the test.
    ProviderGroup(Test),
    /// Some internal group of the user passes the test.
    InternalGroup(Test),
    /// The domain of the user's e-mail address (lower-cased) passes the test.
    EmailDomain(Test),
    /// Every condition of the list matches (evaluated in order, stopping at the first miss).
    All(Vec<Condition>),
    /// At least one condition of the list matches (evaluated in order, stopping at the first hit).
    Any(Vec<Condition>),
    /// The condition does not match.
    Not(Box<Condition>),
}

/// A test on a list of values (an attribute's values, the user's groups, the e-mail domain).
///
/// The list passes when **any** of its values passes, except for `present`, which looks at the
/// list as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// A value is exactly this string (case-sensitive).
    Equals(String),
    /// A value is this string, ignoring upper and lower case (Unicode lower-casing).
    EqualsIgnoreCase(String),
    /// A value is exactly one of these strings (case-sensitive).
    In(Vec<String>),
    /// A value matches this regular expression anywhere (anchor it with `^…$` for a whole match).
    Regex(Regex),
    /// `true`: there is at least one value; `false`: there is none.
    Present(bool),
}

/// A test on the values of one named attribute.
///
/// In JSON the test sits beside the name: `{"name": "department", "equals": "Sales"}`, with
/// exactly one of `equals`, `equals_ignore_case`, `in`, `regex` and `present`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(try_from = "AttributeFields", into = "AttributeFields")]
pub struct AttributeCondition {
    /// The attribute's name, as the identity provider sends it (case-sensitive).
    pub name: String,
    /// The test its values must pass.
    pub test: Test,
}

/// The JSON (and binary) form of an [`AttributeCondition`]: the name and one optional field per
/// kind of test, exactly one of which is given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "muster_guest::schema::schemars")]
#[serde(deny_unknown_fields)]
struct AttributeFields {
    name: String,
    #[serde(default)]
    equals: Option<String>,
    #[serde(default)]
    equals_ignore_case: Option<String>,
    #[serde(default, rename = "in")]
    in_list: Option<Vec<String>>,
    #[serde(default)]
    regex: Option<Regex>,
    #[serde(default)]
    present: Option<bool>,
}

const TEST_KEYS: &str = "`equals`, `equals_ignore_case`, `in`, `regex` or `present`";

impl TryFrom<AttributeFields> for AttributeCondition {
    type Error = String;

    fn try_from(fields: AttributeFields) -> Result<Self, String> {
        let AttributeFields { name, equals, equals_ignore_case, in_list, regex, present } = fields;
        let tests = [
            equals.map(Test::Equals),
            equals_ignore_case.map(Test::EqualsIgnoreCase),
            in_list.map(Test::In),
            regex.map(Test::Regex),
            present.map(Test::Present),
        ];
        let mut given = tests.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(test), None) => Ok(AttributeCondition { name, test }),
            (None, _) => Err(format!("attribute `{name}` needs a test: one of {TEST_KEYS}")),
            (Some(_), Some(_)) => {
                Err(format!("attribute `{name}` has more than one test; give exactly one of {TEST_KEYS}"))
            }
        }
    }
}

impl From<AttributeCondition> for AttributeFields {
    fn from(condition: AttributeCondition) -> Self {
        let mut fields = AttributeFields { name: condition.name, ..AttributeFields::default() };
        match condition.test {
            Test::Equals(value) => fields.equals = Some(value),
            Test::EqualsIgnoreCase(value) => fields.equals_ignore_case = Some(value),
            Test::In(values) => fields.in_list = Some(values),
            Test::Regex(regex) => fields.regex = Some(regex),
            Test::Present(present) => fields.present = Some(present),
        }
        fields
    }
}
