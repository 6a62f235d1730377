//! A realm's stored users: search, one user, and a user's login sessions (never their tokens).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{audit::page_limit, caller::RealmCaller, error::ApiError, extract::ApiQuery};
use crate::service::{SharedState, now_millis, sessions::SessionState};
use muster_store::{
    UserSearch,
    model::{Realm, UserRecord, UserStatus},
};

/// Longest search text accepted, in characters.
const MAX_SEARCH_CHARS: usize = 200;

/// Sessions `GET …/users/{user}/sessions` answers at most.
const MAX_SESSIONS: i64 = 100;

/// Query parameters of `GET …/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Text the user name, e-mail, display name or external id contains, ignoring case.
    search: Option<String>,
    status: Option<UserStatus>,
    organization: Option<String>,
    /// Continue after this cursor (the `next_after` of the previous page).
    after: Option<String>,
    limit: Option<i64>,
}

/// Searches the realm's users, ordered by user name ignoring case.
pub async fn list(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(query.limit)?;
    let text = query.search.filter(|text| !text.is_empty());
    if text.as_ref().is_some_and(|text| text.chars().count() > MAX_SEARCH_CHARS) {
        return Err(ApiError::BadRequest(format!("search is longer than {MAX_SEARCH_CHARS} characters")));
    }
    let page = state
        .store
        .search_users(UserSearch {
            tenant_id: realm.tenant_id,
            realm_id: realm.id,
            text,
            status: query.status,
            organization: query.organization,
            after: query.after,
            limit,
        })
        .await?;
    Ok(Json(json!({ "users": page.users, "next_after": page.next_after })))
}

/// Shows a stored user.
pub async fn get(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    Path((_, _, user)): Path<(String, String, String)>,
) -> Result<Json<UserRecord>, ApiError> {
    find(&state, &realm, &user).await.map(Json)
}

/// The user's sessions, newest first: whether each still works, never its token.
pub async fn sessions(
    State(state): State<SharedState>,
    RealmCaller { realm, .. }: RealmCaller,
    Path((_, _, user)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let user = find(&state, &realm, &user).await?;
    let now = now_millis();
    let sessions: Vec<Value> = state
        .store
        .list_user_sessions(&realm.tenant_id, &realm.id, &user.id, MAX_SESSIONS)
        .await?
        .iter()
        .map(|session| {
            json!({
                "state": SessionState::of(session, now),
                "created_at": session.created_at,
                "expires_at": session.expires_at,
                "revoked_at": session.revoked_at,
                "revoked_reason": session.revoked_reason,
            })
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

async fn find(state: &SharedState, realm: &Realm, user: &str) -> Result<UserRecord, ApiError> {
    state
        .store
        .get_user(&realm.tenant_id, &realm.id, user)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {user} in realm {}", realm.id)))
}
