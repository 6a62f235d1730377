//! What the checks of a group commit's decisions read (`group_commit`): the stored users and the
//! organizations the whole batch names, read up front in one statement per realm and per tenant
//! instead of two per decision, and the organizations the decisions checked so far will create.
//!
//! A prefetched user is handed out once: a second decision about the same user in the batch is
//! checked only after the first one is written (the batch flushes), and reads the user again. A
//! decision applied alone uses an empty view, which reads everything when asked.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Result, WriteTx,
    rows::{self, user_columns},
    users::{StoredUser, lock_stored_user},
};

/// Ids one look-up statement names at most.
const LOOKUP_CHUNK: usize = 500;

/// A user's row key: tenant, realm, id.
type UserKey = (String, String, String);

/// The batch's reads, and the organizations its decisions will create.
#[derive(Default)]
pub(super) struct BatchView {
    /// Users read up front and not handed out yet; `None`: not stored.
    users: BTreeMap<UserKey, Option<StoredUser>>,
    /// Per tenant, the organizations the batch names that the tenant has (read up front).
    organizations: BTreeMap<String, BTreeSet<String>>,
    /// Organizations (tenant, id) that decisions checked earlier in the batch will create.
    created: BTreeSet<(String, String)>,
}

impl BatchView {
    /// Reads the stored users `users` names (tenant, realm, id) and, per tenant, which of the
    /// organizations `named` it has.
    pub(super) async fn prefetch<'a>(
        tx: &mut WriteTx,
        users: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
        named: BTreeMap<&'a str, BTreeSet<&'a str>>,
    ) -> Result<Self> {
        let mut view = BatchView::default();
        let mut ids_by_realm: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
        for (tenant, realm, id) in users {
            ids_by_realm.entry((tenant, realm)).or_default().insert(id);
        }
        for ((tenant, realm), ids) in ids_by_realm {
            let ids: Vec<&str> = ids.into_iter().collect();
            for chunk in ids.chunks(LOOKUP_CHUNK) {
                for id in chunk {
                    view.users.insert((tenant.to_owned(), realm.to_owned(), (*id).to_owned()), None);
                }
                let sql = format!(
                    "SELECT {}, user_name_key FROM users WHERE tenant_id = $1 AND realm_id = $2 AND id IN ({})",
                    user_columns!(),
                    placeholders(3, chunk.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(realm);
                for id in chunk {
                    query = query.bind(*id);
                }
                for row in query.fetch_all(tx.conn()).await? {
                    let stored = StoredUser { user: rows::user(&row)?, name_key: rows::get(&row, "user_name_key")? };
                    let key = (tenant.to_owned(), realm.to_owned(), stored.user.id.clone());
                    view.users.insert(key, Some(stored));
                }
            }
        }
        for (tenant, named) in named {
            let known = view.organizations.entry(tenant.to_owned()).or_default();
            let named: Vec<&str> = named.into_iter().collect();
            for chunk in named.chunks(LOOKUP_CHUNK) {
                let sql = format!(
                    "SELECT id FROM organizations WHERE tenant_id = $1 AND id IN ({})",
                    placeholders(2, chunk.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant);
                for id in chunk {
                    query = query.bind(*id);
                }
                for row in query.fetch_all(tx.conn()).await? {
                    known.insert(rows::get(&row, "id")?);
                }
            }
        }
        Ok(view)
    }

    /// The stored user (locked on PostgreSQL): the prefetched one, handed out once, or read now.
    pub(super) async fn stored_user(
        &mut self,
        tx: &mut WriteTx,
        tenant: &str,
        realm: &str,
        id: &str,
    ) -> Result<Option<StoredUser>> {
        match self.users.remove(&(tenant.to_owned(), realm.to_owned(), id.to_owned())) {
            Some(prefetched) => Ok(prefetched),
            None => lock_stored_user(tx, tenant, realm, id).await,
        }
    }

    /// The organizations of `named` that `tenant` has not got and no decision checked earlier
    /// will create.
    pub(super) async fn unknown_organizations(
        &self,
        tx: &mut WriteTx,
        tenant: &str,
        named: &BTreeSet<&str>,
    ) -> Result<Vec<String>> {
        if named.is_empty() {
            return Ok(Vec::new());
        }
        let known = match self.organizations.get(tenant) {
            Some(known) => known.clone(),
            None => known_organizations(tx, tenant, named).await?,
        };
        Ok(named
            .iter()
            .filter(|id| !known.contains(**id) && !self.created.contains(&(tenant.to_owned(), (**id).to_owned())))
            .map(|id| (*id).to_owned())
            .collect())
    }

    /// Notes organizations of `tenant` a checked decision will create.
    pub(super) fn will_create(&mut self, tenant: &str, ids: &[String]) {
        self.created.extend(ids.iter().map(|id| (tenant.to_owned(), id.clone())));
    }
}

/// Which of `named` the tenant has: one indexed look-up.
async fn known_organizations(tx: &mut WriteTx, tenant: &str, named: &BTreeSet<&str>) -> Result<BTreeSet<String>> {
    let sql = format!("SELECT id FROM organizations WHERE tenant_id = $1 AND id IN ({})", placeholders(2, named.len()));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant);
    for name in named {
        query = query.bind(*name);
    }
    let found = query.fetch_all(tx.conn()).await?;
    found.iter().map(|row| rows::get::<String>(row, "id")).collect()
}

/// `$first, $first+1, …`: `count` numbered placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}
