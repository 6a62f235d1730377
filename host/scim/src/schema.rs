//! The resource schemas (RFC 7643): every attribute of User, the Enterprise User extension and
//! Group with its characteristics, and the lookup of an attribute by its (case-insensitive,
//! optionally URN-qualified) path.
//!
//! This is the single source of truth the filter evaluator, the PATCH engine, the projection
//! of `attributes`/`excludedAttributes` and the discovery documents all read.

use std::fmt;

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the Enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// A sequence of Unicode characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` string, such as `2024-05-13T04:42:34Z`.
    DateTime,
    /// A URI naming another resource.
    Reference,
    /// A set of sub-attributes.
    Complex,
}

impl AttributeType {
    /// The name RFC 7643 gives the type.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Boolean => "boolean",
            AttributeType::Decimal => "decimal",
            AttributeType::Integer => "integer",
            AttributeType::DateTime => "dateTime",
            AttributeType::Reference => "reference",
            AttributeType::Complex => "complex",
        }
    }

    /// Whether values of this type are compared as strings (in filters).
    pub fn is_textual(self) -> bool {
        matches!(self, AttributeType::String | AttributeType::DateTime | AttributeType::Reference)
    }
}

/// Whether and how a client may change an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the service provider only.
    ReadOnly,
    /// May be updated and read at any time.
    ReadWrite,
    /// May be set when it has no value, never changed afterwards.
    Immutable,
    /// May be set but is never returned.
    WriteOnly,
}

impl Mutability {
    /// The name RFC 7643 gives the characteristic.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute appears in a response (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// In every response, whatever `attributes` and `excludedAttributes` say.
    Always,
    /// Never.
    Never,
    /// Unless excluded, or unless `attributes` lists others only.
    Default,
    /// Only when `attributes` names it.
    Request,
}

impl Returned {
    /// The name RFC 7643 gives the characteristic.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// How unique the service provider keeps an attribute's values (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// No uniqueness.
    None,
    /// Unique within the service provider (for us: within a tenant).
    Server,
    /// Globally unique.
    Global,
}

impl Uniqueness {
    /// The name RFC 7643 gives the characteristic.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute (or sub-attribute) and its characteristics (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// The name, as spelled in the schema; matched case-insensitively.
    pub name: &'static str,
    /// The data type.
    pub kind: AttributeType,
    /// Whether the value is an array of values.
    pub multi_valued: bool,
    /// A human-readable description.
    pub description: &'static str,
    /// Whether a resource must have a value for it.
    pub required: bool,
    /// Whether string values compare case-sensitively.
    pub case_exact: bool,
    /// Whether and how clients may change it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// How unique its values are.
    pub uniqueness: Uniqueness,
    /// Suggested values (not enforced), such as `work` and `home` for `emails.type`.
    pub canonical_values: &'static [&'static str],
    /// For references: the resource types or `external` / `uri` it may point to.
    pub reference_types: &'static [&'static str],
    /// For complex attributes: the sub-attributes.
    pub sub_attributes: &'static [Attribute],
}

impl Attribute {
    /// The sub-attribute named `name` (case-insensitively), if this attribute is complex and
    /// has one.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.sub_attributes.iter().find(|sub| sub.name.eq_ignore_ascii_case(name))
    }

    /// An attribute with the RFC 7643 §2.2 defaults: single-valued, optional, not case-exact,
    /// readWrite, returned by default, not unique.
    const fn new(name: &'static str, kind: AttributeType, description: &'static str) -> Attribute {
        Attribute {
            name,
            kind,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }

    const fn with_multi_valued(mut self) -> Attribute {
        self.multi_valued = true;
        self
    }

    const fn with_required(mut self) -> Attribute {
        self.required = true;
        self
    }

    const fn with_case_exact(mut self) -> Attribute {
        self.case_exact = true;
        self
    }

    const fn with_mutability(mut self, mutability: Mutability) -> Attribute {
        self.mutability = mutability;
        self
    }

    const fn with_returned(mut self, returned: Returned) -> Attribute {
        self.returned = returned;
        self
    }

    const fn with_uniqueness(mut self, uniqueness: Uniqueness) -> Attribute {
        self.uniqueness = uniqueness;
        self
    }

    const fn with_canonical_values(mut self, values: &'static [&'static str]) -> Attribute {
        self.canonical_values = values;
        self
    }
}

const fn string(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, AttributeType::String, description)
}

const fn boolean(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, AttributeType::Boolean, description)
}

const fn date_time(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, AttributeType::DateTime, description)
}

const fn reference(name: &'static str, types: &'static [&'static str], description: &'static str) -> Attribute {
    let mut attribute = Attribute::new(name, AttributeType::Reference, description);
    attribute.reference_types = types;
    attribute
}

const fn complex(name: &'static str, sub_attributes: &'static [Attribute], description: &'static str) -> Attribute {
    let mut attribute = Attribute::new(name, AttributeType::Complex, description);
    attribute.sub_attributes = sub_attributes;
    attribute
}

/// A schema: its URN and its attributes (RFC 7643 §7).
#[derive(Debug, PartialEq, Eq)]
pub struct Schema {
    /// The URN, such as [`USER_SCHEMA`].
    pub id: &'static str,
    /// A short name, such as `User`.
    pub name: &'static str,
    /// A human-readable description.
    pub description: &'static str,
    /// The attributes, in document order.
    pub attributes: &'static [Attribute],
}

impl Schema {
    /// The attribute named `name` (case-insensitively), if the schema has one.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes.iter().find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }
}

/// `id`, `externalId` and `meta`: the attributes every resource has whatever its schema
/// (RFC 7643 §3.1). They live at the top level of a resource, beside its core attributes, but
/// belong to no schema, so `/Schemas` does not list them.
pub static COMMON_ATTRIBUTES: &[Attribute] = &[
    string("id", "Unique identifier of the resource, assigned by the service provider.")
        .with_case_exact()
        .with_mutability(Mutability::ReadOnly)
        .with_returned(Returned::Always)
        .with_uniqueness(Uniqueness::Server),
    string("externalId", "Identifier of the resource as defined by the provisioning client.").with_case_exact(),
    complex("meta", META_SUB_ATTRIBUTES, "Resource metadata maintained by the service provider.")
        .with_mutability(Mutability::ReadOnly),
];

const META_SUB_ATTRIBUTES: &[Attribute] = &[
    string("resourceType", "The name of the resource type of the resource.")
        .with_case_exact()
        .with_mutability(Mutability::ReadOnly),
    date_time("created", "When the resource was added to the service provider.").with_mutability(Mutability::ReadOnly),
    date_time("lastModified", "When the resource was last updated.").with_mutability(Mutability::ReadOnly),
    reference("location", &["uri"], "The URI of the resource.").with_case_exact().with_mutability(Mutability::ReadOnly),
    string("version", "The version (ETag) of the resource.").with_case_exact().with_mutability(Mutability::ReadOnly),
];

/// The core User schema (RFC 7643 §4.1), without the rarely provisioned `ims`, `photos`,
/// `entitlements`, `roles`, `x509Certificates` and `password`.
pub static USER: Schema = Schema {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        string("userName", "Unique identifier for the User, typically used to sign in.")
            .with_required()
            .with_uniqueness(Uniqueness::Server),
        complex("name", NAME_SUB_ATTRIBUTES, "The components of the User's real name."),
        string("displayName", "The name of the User, suitable for display to end-users."),
        string("nickName", "The casual way to address the User in real life."),
        string("title", "The User's title, such as \"Vice President\"."),
        string("userType", "The relationship between the organization and the User, such as \"Employee\"."),
        string("preferredLanguage", "The User's preferred written or spoken language, such as \"en-US\"."),
        string("locale", "The User's default location for localization, such as \"en-US\"."),
        string("timezone", "The User's time zone in the IANA format, such as \"Europe/Paris\"."),
        boolean("active", "The User's administrative status."),
        complex("emails", EMAIL_SUB_ATTRIBUTES, "Email addresses for the User.").with_multi_valued(),
        complex("phoneNumbers", PHONE_NUMBER_SUB_ATTRIBUTES, "Phone numbers for the User.").with_multi_valued(),
        complex("addresses", ADDRESS_SUB_ATTRIBUTES, "Physical mailing addresses for the User.").with_multi_valued(),
        complex("groups", USER_GROUP_SUB_ATTRIBUTES, "The groups the User belongs to, maintained through /Groups.")
            .with_multi_valued()
            .with_mutability(Mutability::ReadOnly),
    ],
};

const NAME_SUB_ATTRIBUTES: &[Attribute] = &[
    string("formatted", "The full name, formatted for display, such as \"Ms. Barbara J Jensen, III\"."),
    string("familyName", "The family name, or last name."),
    string("givenName", "The given name, or first name."),
    string("middleName", "The middle name(s)."),
    string("honorificPrefix", "The honorific prefix(es), or title, such as \"Ms.\"."),
    string("honorificSuffix", "The honorific suffix(es), such as \"III\"."),
];

const EMAIL_SUB_ATTRIBUTES: &[Attribute] = &[
    string("value", "The email address."),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "The kind of address.").with_canonical_values(&["work", "home", "other"]),
    boolean("primary", "Whether this is the primary address."),
];

const PHONE_NUMBER_SUB_ATTRIBUTES: &[Attribute] = &[
    string("value", "The phone number, preferably in RFC 3966 form, such as \"tel:+1-201-555-0123\"."),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "The kind of phone number.")
        .with_canonical_values(&["work", "home", "mobile", "fax", "pager", "other"]),
    boolean("primary", "Whether this is the primary phone number."),
];

const ADDRESS_SUB_ATTRIBUTES: &[Attribute] = &[
    string("formatted", "The full mailing address, formatted for display."),
    string("streetAddress", "The street address."),
    string("locality", "The city or locality."),
    string("region", "The state or region."),
    string("postalCode", "The zip code or postal code."),
    string("country", "The country, as an ISO 3166-1 alpha-2 code."),
    string("type", "The kind of address.").with_canonical_values(&["work", "home", "other"]),
    boolean("primary", "Whether this is the primary address."),
];

const USER_GROUP_SUB_ATTRIBUTES: &[Attribute] = &[
    string("value", "The id of the Group.").with_case_exact().with_mutability(Mutability::ReadOnly),
    reference("$ref", &["User", "Group"], "The URI of the Group.")
        .with_case_exact()
        .with_mutability(Mutability::ReadOnly),
    string("display", "The displayName of the Group.").with_mutability(Mutability::ReadOnly),
    string("type", "How the membership was derived.")
        .with_canonical_values(&["direct", "indirect"])
        .with_mutability(Mutability::ReadOnly),
];

/// The Enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        string("employeeNumber", "A string identifier, typically numeric or alphanumeric, assigned to a person."),
        string("costCenter", "The name of a cost center."),
        string("organization", "The name of an organization."),
        string("division", "The name of a division."),
        string("department", "The name of a department."),
        complex("manager", MANAGER_SUB_ATTRIBUTES, "The User's manager."),
    ],
};

const MANAGER_SUB_ATTRIBUTES: &[Attribute] = &[
    string("value", "The id of the SCIM resource representing the User's manager.").with_case_exact(),
    reference("$ref", &["User"], "The URI of the SCIM resource representing the User's manager.").with_case_exact(),
    string("displayName", "The displayName of the User's manager.").with_mutability(Mutability::ReadOnly),
];

/// The core Group schema (RFC 7643 §4.2).
pub static GROUP: Schema = Schema {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &[
        string("displayName", "A human-readable name for the Group.").with_required(),
        complex("members", MEMBER_SUB_ATTRIBUTES, "The members of the Group.").with_multi_valued(),
    ],
};

const MEMBER_SUB_ATTRIBUTES: &[Attribute] = &[
    string("value", "The id of the member.").with_case_exact().with_mutability(Mutability::Immutable),
    reference("$ref", &["User", "Group"], "The URI of the member.")
        .with_case_exact()
        .with_mutability(Mutability::Immutable),
    string("display", "The displayName of the member.").with_mutability(Mutability::ReadOnly),
    string("type", "The kind of member.")
        .with_canonical_values(&["User", "Group"])
        .with_mutability(Mutability::Immutable),
];

/// The extensions of the User resource type.
static USER_EXTENSIONS: [&Schema; 1] = [&ENTERPRISE_USER];

/// Every schema the service provider supports, in `/Schemas` order.
pub static ALL_SCHEMAS: [&Schema; 3] = [&USER, &ENTERPRISE_USER, &GROUP];

/// The schema whose URN is `id` (case-insensitively).
pub fn schema_by_id(id: &str) -> Option<&'static Schema> {
    ALL_SCHEMAS.into_iter().find(|schema| schema.id.eq_ignore_ascii_case(id))
}

/// A kind of resource the service provider serves (RFC 7643 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// `/Users`: the core User schema with the Enterprise User extension.
    User,
    /// `/Groups`: the core Group schema.
    Group,
}

impl ResourceType {
    /// Every resource type, in `/ResourceTypes` order.
    pub const ALL: [ResourceType; 2] = [ResourceType::User, ResourceType::Group];

    /// The name, also its id and the value of `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }

    /// The resource type named `name` (case-insensitively).
    pub fn from_name(name: &str) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|resource_type| resource_type.name().eq_ignore_ascii_case(name))
    }

    /// The endpoint, relative to the SCIM base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "/Users",
            ResourceType::Group => "/Groups",
        }
    }

    /// A human-readable description.
    pub fn description(self) -> &'static str {
        match self {
            ResourceType::User => "User Account",
            ResourceType::Group => "Group",
        }
    }

    /// The core schema, whose attributes sit at the top level of a resource.
    pub fn schema(self) -> &'static Schema {
        match self {
            ResourceType::User => &USER,
            ResourceType::Group => &GROUP,
        }
    }

    /// The optional schema extensions, each an object under its URN in a resource.
    pub fn extensions(self) -> &'static [&'static Schema] {
        match self {
            ResourceType::User => &USER_EXTENSIONS,
            ResourceType::Group => &[],
        }
    }

    /// The extension whose URN is `urn` (case-insensitively).
    pub fn extension(self, urn: &str) -> Option<&'static Schema> {
        self.extensions().iter().copied().find(|schema| schema.id.eq_ignore_ascii_case(urn))
    }

    /// The attributes at the top level of a resource: the common ones, then the core schema's.
    pub fn top_level_attributes(self) -> impl Iterator<Item = &'static Attribute> {
        COMMON_ATTRIBUTES.iter().chain(self.schema().attributes)
    }

    /// The top-level attribute named `name` (case-insensitively): a common or core attribute.
    pub fn top_level_attribute(self, name: &str) -> Option<&'static Attribute> {
        self.top_level_attributes().find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }

    /// Resolves an attribute path: `userName`, `name.givenName`, or either qualified with a
    /// schema URN (`urn:ietf:params:scim:schemas:core:2.0:User:userName`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`). Names
    /// compare case-insensitively; unqualified names resolve against the common and core
    /// attributes only. `None` if the path names no attribute of this resource type.
    pub fn find_attribute(self, path: &str) -> Option<AttributePath> {
        let (extension, relative) = self.split_schema_prefix(path)?;
        let (name, sub_name) = match relative.split_once('.') {
            Some((name, sub_name)) => (name, Some(sub_name)),
            None => (relative, None),
        };
        let attribute = match extension {
            Some(schema) => schema.attribute(name)?,
            None => self.top_level_attribute(name)?,
        };
        let sub_attribute = match sub_name {
            Some(sub_name) => Some(attribute.sub_attribute(sub_name)?),
            None => None,
        };
        Some(AttributePath { extension, attribute, sub_attribute })
    }

    /// Splits a schema URN prefix off `path`: the extension it names (`None` for the core
    /// schema or no prefix) and the rest. `None` if the path starts with a URN of a schema
    /// this resource type does not have.
    fn split_schema_prefix(self, path: &str) -> Option<(Option<&'static Schema>, &str)> {
        for extension in self.extensions() {
            if let Some(relative) = strip_schema_prefix(path, extension.id) {
                return Some((Some(extension), relative));
            }
        }
        if let Some(relative) = strip_schema_prefix(path, self.schema().id) {
            return Some((None, relative));
        }
        if is_urn(path) { None } else { Some((None, path)) }
    }
}

/// The part of `path` after `urn` and a colon, if `path` starts with them (case-insensitively).
fn strip_schema_prefix<'p>(path: &'p str, urn: &str) -> Option<&'p str> {
    let (prefix, rest) = path.split_at_checked(urn.len())?;
    if prefix.eq_ignore_ascii_case(urn) { rest.strip_prefix(':') } else { None }
}

/// Whether `text` starts with `urn:` (in any case).
pub fn is_urn(text: &str) -> bool {
    text.get(..4).is_some_and(|scheme| scheme.eq_ignore_ascii_case("urn:"))
}

/// A resolved attribute path: an attribute, optionally one of its sub-attributes, and where the
/// attribute lives in a resource.
///
/// Inside a value filter (`emails[type eq "work"]`) paths are relative to one element of the
/// multi-valued attribute: `attribute` is then the sub-attribute (`type`) and `extension` is
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributePath {
    /// The extension whose object (keyed by its URN) holds the attribute; `None` for common and
    /// core attributes, which sit at the top level.
    pub extension: Option<&'static Schema>,
    /// The attribute.
    pub attribute: &'static Attribute,
    /// The sub-attribute, for paths such as `name.givenName`.
    pub sub_attribute: Option<&'static Attribute>,
}

impl AttributePath {
    /// The attribute the path ends at: the sub-attribute if there is one.
    pub fn target(&self) -> &'static Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }
}

/// Canonical spelling: `name.givenName`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
impl fmt::Display for AttributePath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(extension) = self.extension {
            write!(formatter, "{}:", extension.id)?;
        }
        formatter.write_str(self.attribute.name)?;
        if let Some(sub_attribute) = self.sub_attribute {
            write!(formatter, ".{}", sub_attribute.name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_dotted_paths_resolve_case_insensitively() {
        let path = ResourceType::User.find_attribute("USERNAME").unwrap();
        assert_eq!(path.attribute.name, "userName");
        assert_eq!(path.extension, None);
        assert!(path.attribute.required);
        assert_eq!(path.attribute.uniqueness, Uniqueness::Server);
        assert!(!path.attribute.case_exact);

        let path = ResourceType::User.find_attribute("name.familyname").unwrap();
        assert_eq!(path.to_string(), "name.familyName");
        assert_eq!(path.target().name, "familyName");

        let path = ResourceType::User.find_attribute("emails.value").unwrap();
        assert!(path.attribute.multi_valued);
        assert_eq!(path.target().kind, AttributeType::String);
    }

    #[test]
    fn common_attributes_resolve_on_both_resource_types() {
        for resource_type in ResourceType::ALL {
            let id = resource_type.find_attribute("id").unwrap();
            assert!(id.attribute.case_exact);
            assert_eq!(id.attribute.mutability, Mutability::ReadOnly);
            assert_eq!(id.attribute.returned, Returned::Always);
            assert!(resource_type.find_attribute("externalId").unwrap().attribute.case_exact);
            assert_eq!(
                resource_type.find_attribute("meta.lastModified").unwrap().target().kind,
                AttributeType::DateTime
            );
        }
    }

    #[test]
    fn urn_qualified_paths_resolve_despite_dots_and_colons_in_the_urn() {
        let path = ResourceType::User
            .find_attribute("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
            .unwrap();
        assert_eq!(path.extension, Some(&ENTERPRISE_USER));
        assert_eq!(path.attribute.name, "department");

        let path = ResourceType::User
            .find_attribute("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager.value")
            .unwrap();
        assert_eq!(path.to_string(), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");

        let path = ResourceType::User.find_attribute("urn:ietf:params:scim:schemas:core:2.0:User:userName").unwrap();
        assert_eq!((path.extension, path.attribute.name), (None, "userName"));

        let path = ResourceType::Group.find_attribute("urn:ietf:params:scim:schemas:core:2.0:Group:members.value");
        assert_eq!(path.unwrap().to_string(), "members.value");
    }

    #[test]
    fn unknown_paths_do_not_resolve() {
        let user = ResourceType::User;
        assert_eq!(user.find_attribute("favouriteColour"), None);
        assert_eq!(user.find_attribute("name.nickname"), None);
        assert_eq!(user.find_attribute("name.givenName.first"), None);
        assert_eq!(user.find_attribute("userName.value"), None);
        assert_eq!(user.find_attribute(""), None);
        // Extension attributes must be qualified; the extension itself is no attribute.
        assert_eq!(user.find_attribute("department"), None);
        assert_eq!(user.find_attribute(ENTERPRISE_USER_SCHEMA), None);
        assert_eq!(user.find_attribute("urn:ietf:params:scim:schemas:extension:custom:2.0:User:badge"), None);
        // Group has no enterprise extension and no userName.
        assert_eq!(ResourceType::Group.find_attribute("userName"), None);
        assert_eq!(
            ResourceType::Group.find_attribute("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None
        );
        // A prefix cut inside a multi-byte character must not panic.
        assert_eq!(user.find_attribute("urn:ietf:params:scim:schemas:core:2.0:Usé"), None);
    }

    #[test]
    fn characteristics_match_rfc_7643() {
        let user = ResourceType::User;
        let groups = user.find_attribute("groups").unwrap().attribute;
        assert_eq!(groups.mutability, Mutability::ReadOnly);
        assert!(groups.multi_valued);
        assert_eq!(groups.sub_attribute("$REF").unwrap().reference_types, ["User", "Group"]);
        assert_eq!(user.find_attribute("active").unwrap().attribute.kind, AttributeType::Boolean);
        assert_eq!(user.find_attribute("emails.type").unwrap().target().canonical_values, ["work", "home", "other"]);

        let members = ResourceType::Group.find_attribute("members").unwrap().attribute;
        assert_eq!(members.sub_attribute("value").unwrap().mutability, Mutability::Immutable);
        assert!(ResourceType::Group.find_attribute("displayName").unwrap().attribute.required);
    }

    #[test]
    fn resource_types_and_schemas_are_found_by_name() {
        assert_eq!(ResourceType::from_name("users"), None);
        assert_eq!(ResourceType::from_name("user"), Some(ResourceType::User));
        assert_eq!(
            ResourceType::User.extension("URN:ietf:params:scim:schemas:extension:enterprise:2.0:user"),
            Some(&ENTERPRISE_USER)
        );
        assert_eq!(ResourceType::Group.extensions(), &[] as &[&Schema]);
        assert_eq!(schema_by_id("urn:ietf:params:scim:schemas:core:2.0:group"), Some(&GROUP));
        assert_eq!(schema_by_id("urn:ietf:params:scim:schemas:core:2.0:Schema"), None);
    }
}
