//! Login sessions: recorded by `apply_decision` (a login), read by their token's hash, revoked all
//! at once when their user is deactivated (`deactivate_user`), deleted with their user.

use sqlx::AnyConnection;

use super::{
    Result, Store,
    model::{Millis, Session},
    rows::{self, session_columns},
    users::no_user,
    write_error,
};

/// Records a session; `Conflict` if its id is taken, `NotFound` if its user is missing.
pub(super) async fn insert(conn: &mut AnyConnection, session: &Session) -> Result<()> {
    sqlx::query(concat!("INSERT INTO sessions (", session_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
        .bind(session.tenant_id.as_str())
        .bind(session.realm_id.as_str())
        .bind(session.id.as_str())
        .bind(session.user_id.as_str())
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.revoked_at)
        .bind(session.revoked_reason.as_deref())
        .execute(conn)
        .await
        .map_err(|e| {
            write_error(
                e,
                || format!("a session of tenant {:?} has that token already", session.tenant_id),
                || no_user(&session.tenant_id, &session.realm_id, &session.user_id).to_string(),
            )
        })?;
    Ok(())
}

/// Revokes every session of the user not revoked yet, returning how many.
pub(super) async fn revoke_all(
    conn: &mut AnyConnection,
    tenant: &str,
    realm: &str,
    user_id: &str,
    reason: &str,
    at: Millis,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE tenant_id = $3 AND realm_id = $4 AND user_id = $5 AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(reason)
    .bind(tenant)
    .bind(realm)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

impl Store {
    /// The realm's session whose token has this SHA-256 (lower-case hex), if any, revoked and
    /// expired ones included: whether it still works is the caller's check.
    pub async fn get_session(&self, tenant: &str, realm: &str, token_sha256: &str) -> Result<Option<Session>> {
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE tenant_id = $1 AND realm_id = $2 AND id = $3"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::session)
        .transpose()
    }

    /// The user's sessions, newest first, at most `limit` (negative counts as zero), revoked and
    /// expired ones included.
    pub async fn list_user_sessions(
        &self,
        tenant: &str,
        realm: &str,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<Session>> {
        let found = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE tenant_id = $1 AND realm_id = $2 AND user_id = $3 \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(tenant)
        .bind(realm)
        .bind(user_id)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows::all(&found, rows::session)
    }
}
