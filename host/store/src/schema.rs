//! The migrations, embedded in the binary: `host/store/migrations/sqlite/*.sql` and
//! `host/store/migrations/postgres/*.sql`, applied in version order by sqlx's migrator on connect.
//!
//! They are listed here by hand (`include_str!`, so cargo rebuilds when one changes) rather than
//! with `sqlx::migrate!`, which would pull in sqlx's proc-macro crates and does not notice a new
//! file without a build script. A unit test checks that the lists match the directories.

use sqlx::{
    SqlSafeStr,
    migrate::{Migration, MigrationType, Migrator},
};

/// One migration: version, description, SQL.
type Embedded = (i64, &'static str, &'static str);

/// SQLite migrations, in order.
const SQLITE: &[Embedded] = &[
    (1, "initial", include_str!("../migrations/sqlite/0001_initial.sql")),
    (2, "shadow_results", include_str!("../migrations/sqlite/0002_shadow_results.sql")),
    (3, "scim", include_str!("../migrations/sqlite/0003_scim.sql")),
    (4, "internal_groups", include_str!("../migrations/sqlite/0004_internal_groups.sql")),
    (5, "failed_decisions", include_str!("../migrations/sqlite/0005_failed_decisions.sql")),
    (
        6,
        "settings_schema_and_organizations",
        include_str!("../migrations/sqlite/0006_settings_schema_and_organizations.sql"),
    ),
    (7, "failure_policy", include_str!("../migrations/sqlite/0007_failure_policy.sql")),
    (8, "auto_rollback", include_str!("../migrations/sqlite/0008_auto_rollback.sql")),
    (9, "scim_activity", include_str!("../migrations/sqlite/0009_scim_activity.sql")),
    (10, "membership_source", include_str!("../migrations/sqlite/0010_membership_source.sql")),
    (11, "realm_limits", include_str!("../migrations/sqlite/0011_realm_limits.sql")),
];

/// PostgreSQL migrations, in order (same versions and descriptions as [`SQLITE`]).
const POSTGRES: &[Embedded] = &[
    (1, "initial", include_str!("../migrations/postgres/0001_initial.sql")),
    (2, "shadow_results", include_str!("../migrations/postgres/0002_shadow_results.sql")),
    (3, "scim", include_str!("../migrations/postgres/0003_scim.sql")),
    (4, "internal_groups", include_str!("../migrations/postgres/0004_internal_groups.sql")),
    (5, "failed_decisions", include_str!("../migrations/postgres/0005_failed_decisions.sql")),
    (
        6,
        "settings_schema_and_organizations",
        include_str!("../migrations/postgres/0006_settings_schema_and_organizations.sql"),
    ),
    (7, "failure_policy", include_str!("../migrations/postgres/0007_failure_policy.sql")),
    (8, "auto_rollback", include_str!("../migrations/postgres/0008_auto_rollback.sql")),
    (9, "scim_activity", include_str!("../migrations/postgres/0009_scim_activity.sql")),
    (10, "membership_source", include_str!("../migrations/postgres/0010_membership_source.sql")),
    (11, "realm_limits", include_str!("../migrations/postgres/0011_realm_limits.sql")),
];

/// The SQLite migrator.
pub(super) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

/// The PostgreSQL migrator.
pub(super) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

fn migrator(embedded: &[Embedded]) -> Migrator {
    Migrator::with_migrations(
        embedded
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `NNNN_description.sql` file names in `host/store/migrations/<dir>`, sorted.
    fn files(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .expect("migrations directory")
            .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    fn names(embedded: &[Embedded]) -> Vec<String> {
        embedded.iter().map(|(version, description, _)| format!("{version:04}_{description}.sql")).collect()
    }

    #[test]
    fn every_migration_file_is_embedded_for_both_backends() {
        assert_eq!(names(SQLITE), files("sqlite"), "update SQLITE in store/schema.rs");
        assert_eq!(names(POSTGRES), files("postgres"), "update POSTGRES in store/schema.rs");
        assert_eq!(names(SQLITE), names(POSTGRES), "both backends need the same migrations");
    }
}
