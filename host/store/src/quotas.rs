//! The quotas on stored rule modules: versions and module bytes per realm, module bytes per
//! tenant, uploads per hour per tenant. Counted from what is stored, inside the upload's
//! transaction after the tenant's lock, so concurrent uploads cannot overshoot and a restart
//! forgets nothing.

use std::time::Duration;

use super::{Result, StoreError, WriteTx, model::Millis, rows};

/// The window of [`ModuleQuotas::uploads_per_hour`].
const HOUR: Duration = Duration::from_secs(60 * 60);

/// The bounds a new module version must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleQuotas {
    /// Versions (of both kinds) a realm may hold.
    pub versions_per_realm: u64,
    /// Bytes of distinct modules a realm's versions may use.
    pub module_bytes_per_realm: u64,
    /// Bytes of distinct modules a tenant may store (each stored once, however many versions
    /// use it).
    pub module_bytes_per_tenant: u64,
    /// Versions a tenant may upload in any hour.
    pub uploads_per_hour: u64,
}

impl ModuleQuotas {
    /// No bounds at all.
    pub const UNLIMITED: ModuleQuotas = ModuleQuotas {
        versions_per_realm: u64::MAX,
        module_bytes_per_realm: u64::MAX,
        module_bytes_per_tenant: u64::MAX,
        uploads_per_hour: u64::MAX,
    };
}

/// Which quota an upload would exceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaExceeded {
    /// The realm holds its most versions.
    #[error("realm {realm:?} already holds {limit} module versions, its quota")]
    VersionsPerRealm {
        /// The realm.
        realm: String,
        /// The quota.
        limit: u64,
    },
    /// The module would take the realm's modules past their bytes.
    #[error("realm {realm:?} would use {would_use} bytes of modules; its quota is {limit} bytes")]
    ModuleBytesPerRealm {
        /// The realm.
        realm: String,
        /// What it would use with the new module.
        would_use: u64,
        /// The quota.
        limit: u64,
    },
    /// The module would take the tenant's stored modules past their bytes.
    #[error("tenant {tenant:?} would store {would_use} bytes of modules; its quota is {limit} bytes")]
    ModuleBytesPerTenant {
        /// The tenant.
        tenant: String,
        /// What it would store with the new module.
        would_use: u64,
        /// The quota.
        limit: u64,
    },
    /// The tenant uploaded its most versions in the last hour.
    #[error("tenant {tenant:?} uploaded {limit} module versions in the last hour, its quota; retry in {} s", retry_after.as_secs())]
    UploadsPerHour {
        /// The tenant.
        tenant: String,
        /// The quota.
        limit: u64,
        /// When the oldest upload of the hour leaves the window.
        retry_after: Duration,
    },
}

impl QuotaExceeded {
    /// How long until the same upload may succeed, for a quota that frees itself with time
    /// (only the hourly one).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            QuotaExceeded::UploadsPerHour { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// What an upload adds.
pub(super) struct Upload<'a> {
    pub tenant: &'a str,
    pub realm: &'a str,
    pub digest: &'a str,
    pub size: i64,
    pub at: Millis,
}

/// `QuotaExceeded` unless storing `upload` keeps every one of `quotas`. Runs in the upload's
/// transaction, after the tenant is locked.
pub(super) async fn check(tx: &mut WriteTx, quotas: &ModuleQuotas, upload: &Upload<'_>) -> Result<()> {
    let Upload { tenant, realm, digest, size, at } = *upload;
    let size = u64::try_from(size).unwrap_or(0);
    let exceeded = |quota| Err(StoreError::QuotaExceeded(quota));

    let row = sqlx::query(
        "SELECT COUNT(*) AS versions, \
         COALESCE(SUM(CASE WHEN digest = $3 THEN 1 ELSE 0 END), 0) AS same_module \
         FROM module_versions WHERE tenant_id = $1 AND realm_id = $2",
    )
    .bind(tenant)
    .bind(realm)
    .bind(digest)
    .fetch_one(tx.conn())
    .await?;
    let versions = count(&row, "versions")?;
    if versions >= quotas.versions_per_realm {
        return exceeded(QuotaExceeded::VersionsPerRealm { realm: realm.to_owned(), limit: quotas.versions_per_realm });
    }
    let new_to_realm = count(&row, "same_module")? == 0;

    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes FROM module_blobs \
         WHERE tenant_id = $1 AND digest IN (SELECT digest FROM module_versions WHERE tenant_id = $1 AND realm_id = $2)",
    )
    .bind(tenant)
    .bind(realm)
    .fetch_one(tx.conn())
    .await?;
    let would_use = count(&row, "bytes")?.saturating_add(if new_to_realm { size } else { 0 });
    if would_use > quotas.module_bytes_per_realm {
        return exceeded(QuotaExceeded::ModuleBytesPerRealm {
            realm: realm.to_owned(),
            would_use,
            limit: quotas.module_bytes_per_realm,
        });
    }

    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes, \
         COALESCE(SUM(CASE WHEN digest = $2 THEN 1 ELSE 0 END), 0) AS same_module \
         FROM module_blobs WHERE tenant_id = $1",
    )
    .bind(tenant)
    .bind(digest)
    .fetch_one(tx.conn())
    .await?;
    let new_to_tenant = count(&row, "same_module")? == 0;
    let would_use = count(&row, "bytes")?.saturating_add(if new_to_tenant { size } else { 0 });
    if would_use > quotas.module_bytes_per_tenant {
        return exceeded(QuotaExceeded::ModuleBytesPerTenant {
            tenant: tenant.to_owned(),
            would_use,
            limit: quotas.module_bytes_per_tenant,
        });
    }

    let hour = i64::try_from(HOUR.as_millis()).unwrap_or(i64::MAX);
    let row = sqlx::query(
        "SELECT COUNT(*) AS uploads, MIN(created_at) AS oldest FROM module_versions \
         WHERE tenant_id = $1 AND created_at > $2",
    )
    .bind(tenant)
    .bind(at.saturating_sub(hour))
    .fetch_one(tx.conn())
    .await?;
    if count(&row, "uploads")? >= quotas.uploads_per_hour {
        let oldest: Option<i64> = rows::get(&row, "oldest")?;
        let free_at = oldest.unwrap_or(at).saturating_add(hour);
        // Whole seconds, rounded up, and at least one: `Retry-After` counts seconds.
        let wait_ms = u64::try_from(free_at.saturating_sub(at)).unwrap_or(0);
        let retry_after = Duration::from_secs(wait_ms.div_ceil(1000).max(1));
        return exceeded(QuotaExceeded::UploadsPerHour {
            tenant: tenant.to_owned(),
            limit: quotas.uploads_per_hour,
            retry_after,
        });
    }
    Ok(())
}

/// A count or sum column, which is never negative.
fn count(row: &sqlx::any::AnyRow, name: &str) -> Result<u64> {
    let value: i64 = rows::get(row, name)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("column {name}: {value} is negative")))
}
