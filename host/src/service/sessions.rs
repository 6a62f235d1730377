//! Login sessions: every applied login records one and hands its token to the login service,
//! which asks whether it is still valid (introspection). Deactivating a user revokes every
//! session of theirs at once. Only the token's SHA-256 is stored.

use serde::Serialize;

use super::now_millis;
use crate::auth;
use muster_store::{
    Result, Store,
    model::{Millis, Realm, Session},
};

/// Prefix of session tokens, so they are recognisable in logs and secret scanners.
const TOKEN_PREFIX: &str = "mss_";

/// A new session of `user_id`, living `lifetime` unless revoked first, and its token (shown
/// once, to the login service).
pub fn new_session(realm: &Realm, user_id: &str, now: Millis, lifetime: Millis) -> (Session, String) {
    let token = format!("{TOKEN_PREFIX}{}", muster_store::ids::random_id(24));
    let session = Session {
        tenant_id: realm.tenant_id.clone(),
        realm_id: realm.id.clone(),
        id: auth::sha256_hex(&token),
        user_id: user_id.to_owned(),
        created_at: now,
        expires_at: now.saturating_add(lifetime),
        revoked_at: None,
        revoked_reason: None,
    };
    (session, token)
}

/// Whether a session works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Neither revoked nor expired.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked (its user was deactivated), expired or not.
    Revoked,
}

impl SessionState {
    /// The state of `session` at `now`.
    pub fn of(session: &Session, now: Millis) -> Self {
        if session.revoked_at.is_some() {
            SessionState::Revoked
        } else if session.expires_at <= now {
            SessionState::Expired
        } else {
            SessionState::Active
        }
    }
}

/// Whether a session is valid now, as the introspection endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// `true` only for a known, unexpired, unrevoked session.
    pub active: bool,
    /// The session's user, when the session is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// When the session expires (or expired), when it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Millis>,
    /// Why it is not active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Looks `token` up in `realm`. Unknown tokens are simply inactive (nothing says whether the
/// token ever existed elsewhere).
pub async fn introspect(store: &Store, realm: &Realm, token: &str) -> Result<Introspection> {
    let Some(session) = store.get_session(&realm.tenant_id, &realm.id, &auth::sha256_hex(token)).await? else {
        return Ok(Introspection {
            active: false,
            user_id: None,
            expires_at: None,
            reason: Some("unknown session".into()),
        });
    };
    let reason = match SessionState::of(&session, now_millis()) {
        SessionState::Revoked => {
            Some(format!("revoked: {}", session.revoked_reason.as_deref().unwrap_or("no reason given")))
        }
        SessionState::Expired => Some("expired".into()),
        SessionState::Active => None,
    };
    Ok(Introspection {
        active: reason.is_none(),
        user_id: Some(session.user_id),
        expires_at: Some(session.expires_at),
        reason,
    })
}
