//! API keys: generation, parsing, hashing and verification.
//!
//! A key reads `mk_<id>_<secret>`: the id is public (it names the key in lists and audit
//! entries), the secret is 32 random bytes in URL-safe base64. Only the SHA-256 of the secret
//! is stored; the whole key is shown once, when it is created.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use muster_store::{
    ids::{random_bytes, random_id},
    model::{ApiKey, KeyKind},
};

/// Prefix of every key.
const PREFIX: &str = "mk_";

/// A freshly generated key: the parts to store and the text to show once.
pub struct GeneratedKey {
    /// The public id.
    pub id: String,
    /// Hex SHA-256 of the secret, to store.
    pub secret_sha256: String,
    /// The whole key, to hand to the client once.
    pub token: String,
}

/// Generates a new key.
pub fn generate() -> GeneratedKey {
    let id = random_id(8);
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    GeneratedKey { secret_sha256: sha256_hex(&secret), token: format!("{PREFIX}{id}_{secret}"), id }
}

/// A new key record for `tenant` and the token to show once.
pub fn new_api_key(tenant: &str, kind: KeyKind, label: &str, now: i64) -> (ApiKey, String) {
    let generated = generate();
    let key = ApiKey {
        id: generated.id,
        tenant_id: tenant.to_owned(),
        kind,
        label: label.to_owned(),
        secret_sha256: generated.secret_sha256,
        created_at: now,
        revoked_at: None,
    };
    (key, generated.token)
}

/// Splits a presented key into its id and secret; `None` if it is not shaped like a key.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// Whether `secret` hashes to `stored_sha256`, compared in constant time.
pub fn verify(secret: &str, stored_sha256: &str) -> bool {
    constant_time_eq(sha256_hex(secret).as_bytes(), stored_sha256.as_bytes())
}

/// Lower-case hex SHA-256 of a text.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_verify() {
        let key = generate();
        let (id, secret) = parse(&key.token).unwrap();
        assert_eq!(id, key.id);
        assert!(verify(secret, &key.secret_sha256));
        assert!(!verify("wrong", &key.secret_sha256));
        assert_ne!(generate().token, key.token);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for token in ["", "mk_", "mk_abc", "mk__secret", "mk_abc_", "Bearer x", "xx_abc_def"] {
            assert!(parse(token).is_none(), "{token}");
        }
    }
}
