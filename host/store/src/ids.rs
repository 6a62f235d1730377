//! Random ids: the one place they are made, for rows (users, decisions, audit events, groups)
//! and for the public parts of credentials.

/// A random lower-case hex id of `bytes` random bytes (16 bytes: 128 bits).
pub fn random_id(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    fill_random(&mut buffer);
    hex::encode(buffer)
}

/// `N` random bytes, for secrets.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buffer = [0u8; N];
    fill_random(&mut buffer);
    buffer
}

#[expect(clippy::expect_used, reason = "a host without an operating-system random source cannot run safely at all")]
fn fill_random(buffer: &mut [u8]) {
    getrandom::fill(buffer).expect("the operating system's random source is available");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_of_the_asked_length_and_differ() {
        let (a, b) = (random_id(16), random_id(16));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
