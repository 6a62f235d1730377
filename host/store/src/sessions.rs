//! Login sessions: recorded by `apply_decision` (a login), read by their token's hash, revoked all
//! at once when their user is deactivated (`deactivate_user`), deleted with their user.

use sqlx::AnyConnection;

use super::{
    Result, Store,
    model::{Millis, Session},
    rows::{self, session_columns, values_placeholders},
    users::no_user,
    write_error,
};

/// Sessions one `INSERT` records at most (8 parameters each).
const INSERT_CHUNK: usize = 500;

/// Records sessions, one statement per [`INSERT_CHUNK`]; `Conflict` if an id is taken,
/// `NotFound` if a user is missing (on an error some chunks may be written: roll back).
pub(super) async fn insert_all(conn: &mut AnyConnection, sessions: &[&Session]) -> Result<()> {
    for chunk in sessions.chunks(INSERT_CHUNK) {
        let sql =
            format!("INSERT INTO sessions ({}) VALUES {}", session_columns!(), values_placeholders(chunk.len(), 8));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for session in chunk {
            query = query
                .bind(session.tenant_id.as_str())
                .bind(session.realm_id.as_str())
                .bind(session.id.as_str())
                .bind(session.user_id.as_str())
                .bind(session.created_at)
                .bind(session.expires_at)
                .bind(session.revoked_at)
                .bind(session.revoked_reason.as_deref());
        }
        query.execute(&mut *conn).await.map_err(|e| {
            let first = chunk[0];
            write_error(
                e,
                || format!("a session of tenant {:?} has that token already", first.tenant_id),
                || match chunk {
                    [one] => no_user(&one.tenant_id, &one.realm_id, &one.user_id).to_string(),
                    _ => format!("the user of one of {} sessions is missing", chunk.len()),
                },
            )
        })?;
    }
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
