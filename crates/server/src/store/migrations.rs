//! Schema migrations, embedded in the binary: one folder per backend.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::migrate::{Migration, MigrationType, Migrator};

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = list
        .iter()
        .map(|&(version, name, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

pub static SQLITE: LazyLock<Migrator> = LazyLock::new(|| {
    migrator(&[
        (
            1,
            "init",
            include_str!("../../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "disks",
            include_str!("../../migrations/sqlite/0002_disks.sql"),
        ),
        (
            3,
            "identity",
            include_str!("../../migrations/sqlite/0003_identity.sql"),
        ),
        (
            4,
            "fleet",
            include_str!("../../migrations/sqlite/0004_fleet.sql"),
        ),
        (
            5,
            "disk_ack",
            include_str!("../../migrations/sqlite/0005_disk_ack.sql"),
        ),
        (
            6,
            "events",
            include_str!("../../migrations/sqlite/0006_events.sql"),
        ),
        (
            7,
            "channels",
            include_str!("../../migrations/sqlite/0007_channels.sql"),
        ),
        (
            8,
            "alerts",
            include_str!("../../migrations/sqlite/0008_alerts.sql"),
        ),
        (
            9,
            "agent_drops",
            include_str!("../../migrations/sqlite/0009_agent_drops.sql"),
        ),
        (
            10,
            "enroll_key_limits",
            include_str!("../../migrations/sqlite/0010_enroll_key_limits.sql"),
        ),
        (
            11,
            "membership_consent",
            include_str!("../../migrations/sqlite/0011_membership_consent.sql"),
        ),
        (
            12,
            "agent_updates",
            include_str!("../../migrations/sqlite/0012_agent_updates.sql"),
        ),
    ])
});

pub static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| {
    migrator(&[
        (
            1,
            "init",
            include_str!("../../migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "disks",
            include_str!("../../migrations/postgres/0002_disks.sql"),
        ),
        (
            3,
            "identity",
            include_str!("../../migrations/postgres/0003_identity.sql"),
        ),
        (
            4,
            "fleet",
            include_str!("../../migrations/postgres/0004_fleet.sql"),
        ),
        (
            5,
            "disk_ack",
            include_str!("../../migrations/postgres/0005_disk_ack.sql"),
        ),
        (
            6,
            "events",
            include_str!("../../migrations/postgres/0006_events.sql"),
        ),
        (
            7,
            "channels",
            include_str!("../../migrations/postgres/0007_channels.sql"),
        ),
        (
            8,
            "alerts",
            include_str!("../../migrations/postgres/0008_alerts.sql"),
        ),
        (
            9,
            "agent_drops",
            include_str!("../../migrations/postgres/0009_agent_drops.sql"),
        ),
        (
            10,
            "enroll_key_limits",
            include_str!("../../migrations/postgres/0010_enroll_key_limits.sql"),
        ),
        (
            11,
            "membership_consent",
            include_str!("../../migrations/postgres/0011_membership_consent.sql"),
        ),
        (
            12,
            "agent_updates",
            include_str!("../../migrations/postgres/0012_agent_updates.sql"),
        ),
    ])
});

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions and names as the migrator lists them.
    fn listed(m: &Migrator) -> Vec<(i64, String)> {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    }

    /// `NNNN_name.sql` files of one backend's folder, as (version, name).
    fn files(backend: &str) -> Vec<(i64, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut found: Vec<(i64, String)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let stem = name.strip_suffix(".sql")?;
                let (version, rest) = stem.split_once('_')?;
                Some((version.parse().ok()?, rest.to_owned()))
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn both_backends_list_the_same_migrations_and_every_file() {
        assert_eq!(listed(&SQLITE), listed(&POSTGRES), "one schema history");
        assert_eq!(listed(&SQLITE), files("sqlite"), "every SQLite file listed");
        assert_eq!(
            listed(&POSTGRES),
            files("postgres"),
            "every PostgreSQL file listed"
        );
    }
}
