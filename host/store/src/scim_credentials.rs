//! SCIM client credentials of a realm, the access tokens issued to them, and the realm's switch for
//! plain bearer tokens. Only SHA-256 digests of secrets and tokens are stored, and none is ever in
//! an audit event.

use std::num::NonZeroU32;

use serde_json::json;

use super::{
    Audit, Result, Store, StoreError,
    audit::{self, Event},
    model::{Millis, ScimCredential, ScimToken},
    no_realm,
    rows::{self, scim_credential_columns, scim_token_columns},
    write_error,
};

impl Store {
    /// Stores a new SCIM credential of `credential.tenant_id`/`credential.realm_id` (audited
    /// `scim.credential.created`). `Conflict` if the client id is taken (in any tenant),
    /// `NotFound` if the tenant or realm is missing.
    pub async fn insert_scim_credential(&self, credential: &ScimCredential, audit: &Audit) -> Result<()> {
        let (tenant, realm) = (credential.tenant_id.as_str(), credential.realm_id.as_str());
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        sqlx::query(concat!(
            "INSERT INTO scim_credentials (",
            scim_credential_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(credential.id.as_str())
        .bind(tenant)
        .bind(realm)
        .bind(credential.label.as_str())
        .bind(credential.secret_sha256.as_str())
        .bind(credential.created_at)
        .bind(credential.rotated_at)
        .bind(credential.revoked_at)
        .execute(tx.conn())
        .await
        .map_err(|e| {
            write_error(
                e,
                || format!("SCIM credential {:?} already exists", credential.id),
                || no_realm(tenant, realm).to_string(),
            )
        })?;
        let details = json!({ "realm_id": realm, "label": credential.label, "revoked_at": credential.revoked_at });
        let event = Event::new("scim.credential.created", credential.id.as_str(), details);
        audit::append(tx.conn(), tenant, audit, vec![event]).await?;
        tx.commit().await
    }

    /// The realm's SCIM credentials, oldest first (revoked ones included).
    pub async fn list_scim_credentials(&self, tenant: &str, realm: &str) -> Result<Vec<ScimCredential>> {
        let found = sqlx::query(concat!(
            "SELECT ",
            scim_credential_columns!(),
            " FROM scim_credentials WHERE tenant_id = $1 AND realm_id = $2 ORDER BY created_at, id"
        ))
        .bind(tenant)
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;
        rows::all(&found, rows::scim_credential)
    }

    /// The SCIM credential with this client id, whatever its tenant (for authentication: the caller
    /// must check the tenant, the realm and the revocation).
    pub async fn get_scim_credential(&self, id: &str) -> Result<Option<ScimCredential>> {
        sqlx::query(concat!("SELECT ", scim_credential_columns!(), " FROM scim_credentials WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::scim_credential)
            .transpose()
    }

    /// Gives the realm's credential a new secret, keeping its client id (audited
    /// `scim.credential.rotated`). Access tokens issued before stay valid until they expire: revoke
    /// the credential to cut them off. `NotFound` if the realm has no such credential, `Conflict` if
    /// it is revoked.
    pub async fn rotate_scim_credential(
        &self,
        tenant: &str,
        realm: &str,
        id: &str,
        new_secret_sha256: &str,
        audit: &Audit,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let done = sqlx::query(
            "UPDATE scim_credentials SET secret_sha256 = $1, rotated_at = $2 \
             WHERE tenant_id = $3 AND realm_id = $4 AND id = $5 AND revoked_at IS NULL",
        )
        .bind(new_secret_sha256)
        .bind(audit.at)
        .bind(tenant)
        .bind(realm)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(match credential_exists(&mut tx, tenant, realm, id).await? {
                true => StoreError::Conflict(format!("SCIM credential {id:?} is revoked: it cannot be rotated")),
                false => no_credential(tenant, realm, id),
            });
        }
        let event = Event::new("scim.credential.rotated", id, json!({ "realm_id": realm }));
        audit::append(tx.conn(), tenant, audit, vec![event]).await?;
        tx.commit().await
    }

    /// Revokes the realm's credential (audited `scim.credential.revoked`): its secret and every
    /// access token issued to it stop working at once. `NotFound` if the realm has no such
    /// credential; revoking a revoked credential changes nothing and succeeds.
    pub async fn revoke_scim_credential(&self, tenant: &str, realm: &str, id: &str, audit: &Audit) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let done = sqlx::query(
            "UPDATE scim_credentials SET revoked_at = $1 \
             WHERE tenant_id = $2 AND realm_id = $3 AND id = $4 AND revoked_at IS NULL",
        )
        .bind(audit.at)
        .bind(tenant)
        .bind(realm)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return match credential_exists(&mut tx, tenant, realm, id).await? {
                true => Ok(()),
                false => Err(no_credential(tenant, realm, id)),
            };
        }
        let event = Event::new("scim.credential.revoked", id, json!({ "realm_id": realm }));
        audit::append(tx.conn(), tenant, audit, vec![event]).await?;
        tx.commit().await
    }

    /// Stores an access token issued to a credential, keeping at most `max_live` of its tokens
    /// unexpired at the new token's `issued_at`: the oldest beyond are deleted, so a client that
    /// asks for token after token holds a bounded number (audited `scim.token.issued`
    /// {credential_id, expires_at, evicted}). `NotFound` if the token's realm has no such
    /// credential, `Conflict` if the credential is revoked or the token's digest is taken.
    pub async fn insert_scim_token(&self, token: &ScimToken, max_live: NonZeroU32, audit: &Audit) -> Result<()> {
        let (tenant, realm, credential) =
            (token.tenant_id.as_str(), token.realm_id.as_str(), token.credential_id.as_str());
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let found =
            sqlx::query("SELECT revoked_at FROM scim_credentials WHERE tenant_id = $1 AND realm_id = $2 AND id = $3")
                .bind(tenant)
                .bind(realm)
                .bind(credential)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| no_credential(tenant, realm, credential))?;
        if rows::get::<Option<Millis>>(&found, "revoked_at")?.is_some() {
            return Err(StoreError::Conflict(format!("SCIM credential {credential:?} is revoked")));
        }
        sqlx::query(concat!("INSERT INTO scim_tokens (", scim_token_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(token.token_sha256.as_str())
            .bind(tenant)
            .bind(realm)
            .bind(credential)
            .bind(token.issued_at)
            .bind(token.expires_at)
            .execute(tx.conn())
            .await
            .map_err(|e| {
                write_error(
                    e,
                    || "an access token with that digest exists already".to_owned(),
                    || no_credential(tenant, realm, credential).to_string(),
                )
            })?;
        // The new token and the newest `max_live - 1` other live ones stay; ties on `issued_at`
        // are broken by digest, so the choice is the same on both stores.
        let evicted = sqlx::query(
            "DELETE FROM scim_tokens WHERE tenant_id = $1 AND realm_id = $2 AND credential_id = $3 \
             AND expires_at > $4 AND token_sha256 <> $5 AND token_sha256 NOT IN (\
               SELECT token_sha256 FROM scim_tokens WHERE tenant_id = $1 AND realm_id = $2 AND credential_id = $3 \
               AND expires_at > $4 AND token_sha256 <> $5 ORDER BY issued_at DESC, token_sha256 DESC LIMIT $6)",
        )
        .bind(tenant)
        .bind(realm)
        .bind(credential)
        .bind(token.issued_at)
        .bind(token.token_sha256.as_str())
        .bind(i64::from(max_live.get() - 1))
        .execute(tx.conn())
        .await?
        .rows_affected();
        let details = json!({
            "realm_id": realm, "credential_id": credential, "expires_at": token.expires_at, "evicted": evicted,
        });
        audit::append(tx.conn(), tenant, audit, vec![Event::new("scim.token.issued", credential, details)]).await?;
        tx.commit().await
    }

    /// The access token with this SHA-256 (lower-case hex), whatever its tenant, if it works at
    /// `now`: not expired, and its credential not revoked. The caller must check that its tenant
    /// and realm are those of the request.
    pub async fn find_scim_token(&self, token_sha256: &str, now: Millis) -> Result<Option<ScimToken>> {
        sqlx::query(
            "SELECT t.token_sha256, t.tenant_id, t.realm_id, t.credential_id, t.issued_at, t.expires_at \
             FROM scim_tokens t JOIN scim_credentials c \
             ON c.id = t.credential_id AND c.tenant_id = t.tenant_id AND c.realm_id = t.realm_id \
             WHERE t.token_sha256 = $1 AND t.expires_at > $2 AND c.revoked_at IS NULL",
        )
        .bind(token_sha256)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::scim_token)
        .transpose()
    }

    /// Deletes every access token expired at `now`, in every tenant, returning how many (not
    /// audited: housekeeping).
    pub async fn purge_expired_scim_tokens(&self, now: Millis) -> Result<u64> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM scim_tokens WHERE expires_at <= $1").bind(now).execute(tx.conn()).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Lets the realm's SCIM endpoint accept a credential's secret as a plain bearer token, or stops
    /// it (audited `scim.bearer_set` {enabled}). `NotFound` if the tenant has no such realm; setting
    /// the current value changes nothing.
    pub async fn set_scim_bearer_enabled(&self, tenant: &str, realm: &str, enabled: bool, audit: &Audit) -> Result<()> {
        let mut tx = self.write().await?;
        tx.lock_tenant(tenant).await?;
        let row = sqlx::query("SELECT scim_bearer_enabled FROM realms WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(realm)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| no_realm(tenant, realm))?;
        if rows::get::<i64>(&row, "scim_bearer_enabled")? == i64::from(enabled) {
            return Ok(());
        }
        sqlx::query("UPDATE realms SET scim_bearer_enabled = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(i64::from(enabled))
            .bind(tenant)
            .bind(realm)
            .execute(tx.conn())
            .await?;
        let details = json!({ "realm_id": realm, "enabled": enabled });
        let target = format!("realm/{realm}");
        audit::append(tx.conn(), tenant, audit, vec![Event::new("scim.bearer_set", target, details)]).await?;
        tx.commit().await
    }
}

/// `NotFound` for a missing credential.
fn no_credential(tenant: &str, realm: &str, id: &str) -> StoreError {
    StoreError::NotFound(format!("no SCIM credential {id:?} in realm {realm:?} of tenant {tenant:?}"))
}

/// Whether the realm has the credential.
async fn credential_exists(tx: &mut super::WriteTx, tenant: &str, realm: &str, id: &str) -> Result<bool> {
    let found = sqlx::query("SELECT id FROM scim_credentials WHERE tenant_id = $1 AND realm_id = $2 AND id = $3")
        .bind(tenant)
        .bind(realm)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(found.is_some())
}
