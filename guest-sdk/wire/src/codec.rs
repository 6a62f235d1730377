//! Encoding of every wire type: postcard 1.x, a compact, non-self-describing serde format.
//!
//! Postcard was chosen over JSON because decoding the request is the dominant cost of an
//! evaluation inside the sandbox (see `docs/abi.md`). JSON stays the format at the edges
//! (HTTP, CLI, fixture files); these functions are only for the bytes that cross the sandbox.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Context, User};

/// A value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(pub String);

impl core::fmt::Display for CodecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

/// Encodes a wire value to bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    postcard::to_allocvec(value).map_err(|e| CodecError(e.to_string()))
}

/// Decodes a wire value from bytes; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| CodecError(e.to_string()))?;
    if rest.is_empty() { Ok(value) } else { Err(CodecError(format!("{} unexpected trailing bytes", rest.len()))) }
}

/// Encodes a [`UserRequest`](crate::UserRequest) from borrowed parts, byte for byte what
/// encoding the owned struct gives, without cloning the user.
pub fn encode_user_request(context: &Context, settings: &[u8], user: &User) -> Result<Vec<u8>, CodecError> {
    encode(&(context, serde_bytes::Bytes::new(settings), user))
}

/// Encodes a [`GroupRequest`](crate::GroupRequest) from borrowed parts.
pub fn encode_group_request(context: &Context, settings: &[u8], groups: &[String]) -> Result<Vec<u8>, CodecError> {
    encode(&(context, serde_bytes::Bytes::new(settings), groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GroupRequest, Trigger, UserRequest};

    #[test]
    fn borrowed_encodings_equal_the_owned_structs() {
        let context = Context { realm: "okta".into(), trigger: Trigger::Login };
        let user = User { user_name: "u".into(), provider_groups: vec!["g".into()], ..User::default() };
        let owned = UserRequest { context: context.clone(), settings: vec![9, 8], user: user.clone() };
        assert_eq!(encode_user_request(&context, &[9, 8], &user).unwrap(), encode(&owned).unwrap());
        let groups = vec!["a".to_string(), "b".to_string()];
        let owned = GroupRequest { context: context.clone(), settings: vec![1], groups: groups.clone() };
        assert_eq!(encode_group_request(&context, &[1], &groups).unwrap(), encode(&owned).unwrap());
    }
}
