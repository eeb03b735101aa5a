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
    ])
});
