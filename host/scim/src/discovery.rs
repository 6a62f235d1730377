//! The discovery documents (RFC 7644 §4, RFC 7643 §5–7): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`, built from [`super::schema`] for a base URL such as
//! `https://muster.example.com/scim/v2` (a trailing `/` is ignored).

use serde_json::{Map, Value, json};

use super::list::MAX_RESULTS;
use super::schema::{ALL_SCHEMAS, Attribute, AttributeType, ResourceType, Schema};

/// URN of the service provider configuration schema.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// URN of the resource type schema.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// URN of the schema of schema documents.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// `GET /ServiceProviderConfig`: PATCH, filters (at most [`MAX_RESULTS`] results) and `ETag`s
/// supported; bulk, sorting and password changes not; authentication by an OAuth 2.0 bearer
/// token (client credentials grant) or a long-lived bearer token.
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "An OAuth 2.0 access token obtained with the client credentials grant, \
                                sent in the Authorization header as a bearer token.",
                "specUri": "https://www.rfc-editor.org/info/rfc6749",
                "primary": true
            },
            {
                "type": "httpbearer",
                "name": "HTTP Bearer Token",
                "description": "A long-lived secret token sent in the Authorization header as a bearer token.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": false
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", trim(base_url))
        }
    })
}

/// `GET /ResourceTypes`: every resource type's document.
pub fn resource_type_documents(base_url: &str) -> Vec<Value> {
    ResourceType::ALL.into_iter().map(|resource_type| resource_type_document(resource_type, base_url)).collect()
}

/// `GET /ResourceTypes/{name}`: User (with the Enterprise User extension, optional) or Group.
pub fn resource_type_document(resource_type: ResourceType, base_url: &str) -> Value {
    let extensions: Vec<Value> =
        resource_type.extensions().iter().map(|schema| json!({"schema": schema.id, "required": false})).collect();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": resource_type.name(),
        "name": resource_type.name(),
        "endpoint": resource_type.endpoint(),
        "description": resource_type.description(),
        "schema": resource_type.schema().id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", trim(base_url), resource_type.name())
        }
    })
}

/// `GET /Schemas`: every schema's document.
pub fn schema_documents(base_url: &str) -> Vec<Value> {
    ALL_SCHEMAS.into_iter().map(|schema| schema_document(schema, base_url)).collect()
}

/// `GET /Schemas/{urn}`: one schema with all its attributes' characteristics (RFC 7643 §7).
pub fn schema_document(schema: &Schema, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute_document).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", trim(base_url), schema.id)
        }
    })
}

fn attribute_document(attribute: &Attribute) -> Value {
    let mut document = Map::new();
    let mut put = |name: &str, value: Value| {
        document.insert(name.to_owned(), value);
    };
    put("name", json!(attribute.name));
    put("type", json!(attribute.kind.as_str()));
    put("multiValued", json!(attribute.multi_valued));
    put("description", json!(attribute.description));
    put("required", json!(attribute.required));
    put("caseExact", json!(attribute.case_exact));
    put("mutability", json!(attribute.mutability.as_str()));
    put("returned", json!(attribute.returned.as_str()));
    put("uniqueness", json!(attribute.uniqueness.as_str()));
    if !attribute.canonical_values.is_empty() {
        put("canonicalValues", json!(attribute.canonical_values));
    }
    if attribute.kind == AttributeType::Reference {
        put("referenceTypes", json!(attribute.reference_types));
    }
    if attribute.kind == AttributeType::Complex {
        put("subAttributes", attribute.sub_attributes.iter().map(attribute_document).collect());
    }
    Value::Object(document)
}

fn trim(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER, GROUP, USER};

    const BASE: &str = "https://muster.example.com/scim/v2/";

    #[test]
    fn service_provider_config_advertises_what_is_supported() {
        let config = service_provider_config(BASE);
        assert_eq!(config["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]));
        assert_eq!(config["patch"], json!({"supported": true}));
        assert_eq!(config["bulk"]["supported"], false);
        assert_eq!(config["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(config["changePassword"]["supported"], false);
        assert_eq!(config["sort"]["supported"], false);
        assert_eq!(config["etag"]["supported"], true);
        let schemes: Vec<&str> = config["authenticationSchemes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|scheme| scheme["type"].as_str().unwrap())
            .collect();
        assert_eq!(schemes, ["oauthbearertoken", "httpbearer"]);
        assert_eq!(config["meta"]["location"], "https://muster.example.com/scim/v2/ServiceProviderConfig");
    }

    #[test]
    fn resource_types() {
        let documents = resource_type_documents(BASE);
        assert_eq!(
            documents[0],
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "User Account",
                "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
                "schemaExtensions": [
                    {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false}
                ],
                "meta": {
                    "resourceType": "ResourceType",
                    "location": "https://muster.example.com/scim/v2/ResourceTypes/User"
                }
            })
        );
        assert_eq!(documents[1]["endpoint"], "/Groups");
        assert_eq!(documents[1]["schemaExtensions"], json!([]));
    }

    #[test]
    fn schema_documents_follow_rfc_7643_section_7() {
        let documents = schema_documents("https://muster.example.com/scim/v2");
        let ids: Vec<&str> = documents.iter().map(|document| document["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [USER.id, ENTERPRISE_USER.id, GROUP.id]);

        let user = &documents[0];
        assert_eq!(
            user["meta"],
            json!({
                "resourceType": "Schema",
                "location": "https://muster.example.com/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
            })
        );
        let attributes = user["attributes"].as_array().unwrap();
        let user_name = attributes.iter().find(|attribute| attribute["name"] == "userName").unwrap();
        assert_eq!(
            *user_name,
            json!({
                "name": "userName",
                "type": "string",
                "multiValued": false,
                "description": "Unique identifier for the User, typically used to sign in.",
                "required": true,
                "caseExact": false,
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "server"
            })
        );
        let emails = attributes.iter().find(|attribute| attribute["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        let email_type = emails["subAttributes"].as_array().unwrap().iter().find(|sub| sub["name"] == "type").unwrap();
        assert_eq!(email_type["canonicalValues"], json!(["work", "home", "other"]));
        // Common attributes belong to no schema (RFC 7643 §3.1).
        assert!(attributes.iter().all(|attribute| attribute["name"] != "id" && attribute["name"] != "meta"));

        let manager = &documents[1]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|attribute| attribute["name"] == "manager")
            .unwrap()["subAttributes"];
        let reference = manager.as_array().unwrap().iter().find(|sub| sub["name"] == "$ref").unwrap();
        assert_eq!((&reference["type"], &reference["referenceTypes"]), (&json!("reference"), &json!(["User"])));
        assert_eq!(schema_document(&GROUP, BASE)["attributes"][0]["name"], "displayName");
    }
}
