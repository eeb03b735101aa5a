//! The one storage API over two backends: embedded SQLite (default) and PostgreSQL.
//!
//! Each query is written once and compiled for both pools by [`on_reader!`] / [`on_writer!`];
//! only what truly differs (connection set-up, migrations) is per backend. Every call on
//! tenant data takes the caller's [`OrgId`](crate::ids::OrgId).

mod alerts;
mod audit;
mod catalog;
mod channels;
mod credentials;
mod disks;
mod events;
mod fleet;
mod health;
mod ingest;
mod ingest_rows;
mod leases;
mod live_relay;
mod machines;
mod migrations;
mod orgs;
mod rollup;
mod series;
mod sessions;
mod updates;
mod users;
mod writes;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::clock::SharedClock;

pub use alerts::{AlertChange, AlertQuery, OpenAlert, OrgLock};
pub use audit::{AuditEvent, AuditRecord};
pub use catalog::{METRICS, MetricDef, find_metric};
pub use channels::{AttemptResult, ChannelChange, ClaimedDelivery, NewChannel, StoredChannel};
pub use credentials::{ApiTokenInfo, EnrollKeyInfo, EnrollKeyLimits};
pub use events::EventQuery;
pub use fleet::{GroupChange, GroupInfo, MachineUpdate};
pub use health::Assessment;
pub use ingest::HealthWrite;
pub use ingest::IngestOutcome;
pub use leases::{Job, Lease};
pub use machines::{AgentIdentity, EnrolledMachine};
pub use orgs::{DEFAULT_ORG, OrgInfo};
pub use rollup::{DAY_MS, Retention, Tier};
pub use series::SeriesQuery;
pub use sessions::{ClientInfo, REFRESH_GRACE_MS, Refresh};
pub use updates::{NewRollout, RolloutMachine, StoredRollout};
pub use users::{LinkPurpose, Membership, OrgUser, UserAuth, normalize_email};
pub use writes::WriteHealth;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database's disk is full: nothing was written; retry once space is freed.
    #[error("the database's disk is full: {0}")]
    DiskFull(String),
    /// The database cannot be reached or refuses work for now (connection lost, shutting
    /// down, too many connections): retry later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("could not store the reports: {0}")]
    Write(String),
    #[error("no randomness available: {0}")]
    Random(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// A retry later may succeed where this failed (the request itself was fine).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::DiskFull(_) | StoreError::Unavailable(_) | StoreError::Write(_)
        )
    }

    /// The same failure, for another caller that shared the attempt.
    fn for_another(&self) -> StoreError {
        match self {
            StoreError::DiskFull(m) => StoreError::DiskFull(m.clone()),
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            other => StoreError::Write(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    /// Sorts out the failures a retry can cure (a full disk, a lost connection) from the
    /// others, on both backends.
    fn from(e: sqlx::Error) -> Self {
        match writes::classify(&e) {
            writes::Failure::DiskFull => StoreError::DiskFull(e.to_string()),
            writes::Failure::Unavailable => StoreError::Unavailable(e.to_string()),
            writes::Failure::Other => StoreError::Database(e),
        }
    }
}

#[derive(Clone)]
enum Backend {
    /// SQLite allows one writer at a time: writes go through a single connection so they
    /// queue in the pool instead of failing with SQLITE_BUSY; reads use their own pool.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to a pool that may only read.
macro_rules! on_reader {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { read: $pool, .. } => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to a pool that may write.
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { write: $pool, .. } => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
/// One statement on the writer, its parameters bound in order; the rows it changed.
macro_rules! execute {
    ($store:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::on_writer!($store, pool => {
            sqlx::query($sql)
                $(.bind($arg))*
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
    };
}
/// A row read by column name, for either backend: `row! { struct MachineRow { id: String, … } }`
/// gives the struct and its `sqlx::FromRow` (each field is the column of the same name, so
/// a query lists or aliases its columns by those names).
macro_rules! row {
    (
        $(#[$meta:meta])*
        struct $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),+ $(,)? }
    ) => {
        $(#[$meta])*
        struct $name { $( $(#[$fmeta])* $field: $ty, )+ }

        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $name
        where
            &'static str: sqlx::ColumnIndex<R>,
            $( $ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>, )+
        {
            fn from_row(row: &'r R) -> std::result::Result<Self, sqlx::Error> {
                Ok(Self { $( $field: row.try_get(stringify!($field))?, )+ })
            }
        }
    };
}
pub(crate) use {execute, on_reader, on_writer, row};

/// A statement that had to change exactly one row changed `changed`: none means the row
/// was not there (`missing` says what to answer: NotFound, or a Conflict naming why).
fn one_row(changed: u64, missing: impl FnOnce() -> StoreError) -> Result<()> {
    if changed == 0 { Err(missing()) } else { Ok(()) }
}

/// A value read back from the database that does not parse: the data is damaged.
fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A name written from one of proto's vocabulary enums, read back.
fn from_name<T>(s: &str) -> Result<T>
where
    T: std::str::FromStr<Err = optralis_proto::vocabulary::UnknownName>,
{
    s.parse().map_err(corrupt)
}

/// A value as the JSON text stored in a TEXT column.
fn json_text(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(corrupt)
}

impl Store {
    /// Deletes the row `id` of `table` if it belongs to `org`; [`StoreError::NotFound`]
    /// otherwise (another organisation's id answers like a missing one).
    async fn delete_in_org(
        &self,
        table: &'static str,
        org: &crate::ids::OrgId,
        id: &str,
    ) -> Result<()> {
        let sql = format!("DELETE FROM {table} WHERE org_id = $1 AND id = $2");
        let deleted = execute!(self, &sql, org.as_str(), id)?;
        one_row(deleted, || StoreError::NotFound)
    }
}

impl Store {
    /// How many rows of `table` belong to `org` (for the per-organisation limits).
    pub async fn count_in_org(&self, table: OrgTable, org: &crate::ids::OrgId) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE org_id = $1", table.name());
        let count = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>(&sql).bind(org.as_str()).fetch_one(pool).await
        })?;
        Ok(count)
    }
}

/// Tables counted against an organisation's limits.
#[derive(Debug, Clone, Copy)]
pub enum OrgTable {
    Rules,
    Channels,
    Silences,
}

impl OrgTable {
    fn name(self) -> &'static str {
        match self {
            OrgTable::Rules => "rules",
            OrgTable::Channels => "channels",
            OrgTable::Silences => "silences",
        }
    }
}

/// Lets the pool macros run where there is a backend but no [`Store`] (the ingest writer task
/// holds the pools, not the store, so that dropping the last store ends it).
struct BackendRef<'a> {
    backend: &'a Backend,
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    clock: SharedClock,
    /// The ingest writer's queue (see ingest.rs).
    writer: tokio::sync::mpsc::Sender<ingest::IngestJob>,
    /// Whether the writer's last commit failed for want of disk space.
    writes: std::sync::Arc<WriteHealth>,
    /// Machine tokens recently seen (see machines.rs).
    agents: std::sync::Arc<machines::AgentCache>,
    /// The other servers on this database, told of tokens no longer accepted (PostgreSQL).
    peers: Option<tokio::sync::mpsc::Sender<live_relay::Forget>>,
    /// Status and score changes, for live subscribers.
    live: crate::live::Hub,
    /// Assessment inputs of machines recently seen (see health.rs).
    health_states: std::sync::Arc<health::HealthCache>,
}

impl Store {
    /// Connects to `sqlite://PATH` or `postgres://…` and brings the schema up to date.
    pub async fn connect(url: &str, clock: SharedClock) -> Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            private_database_file(url)?;
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-16000")
                // Checkpoint every ~40 MB of WAL rather than 4 MB: pages rewritten by many
                // commits are copied back once (BENCHMARKS.md, ingest).
                .pragma("wal_autocheckpoint", "10000");
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .after_release(writes::keep_if_clean)
                .connect_with(options.clone())
                .await?;
            migrations::SQLITE.run(&write).await?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.read_only(true))
                .await?;
            Backend::Sqlite { read, write }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options =
                PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .after_release(writes::keep_if_clean)
                .connect_with(options)
                .await?;
            migrations::POSTGRES.run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::BadUrl(format!(
                "{url:?}: expected sqlite://PATH or postgres://…"
            )));
        };
        let mut live = crate::live::Hub::default();
        let agents = std::sync::Arc::new(machines::AgentCache::default());
        let mut peers = None;
        if let Backend::Postgres(pool) = &backend {
            let (relay, events) = tokio::sync::mpsc::channel(live_relay::QUEUE);
            let (forget, forgets) = tokio::sync::mpsc::channel(live_relay::QUEUE);
            live = live.relayed(relay);
            peers = Some(forget);
            live_relay::start(pool.clone(), live.clone(), events, forgets, agents.clone());
        }
        let (writer, jobs) = tokio::sync::mpsc::channel(ingest::QUEUE_DEPTH);
        let writes = std::sync::Arc::new(WriteHealth::default());
        tokio::spawn(ingest::supervise_writer(
            backend.clone(),
            clock.clone(),
            writes.clone(),
            jobs,
        ));
        let store = Self {
            backend,
            clock,
            writer,
            writes,
            agents,
            peers,
            live,
            health_states: Default::default(),
        };
        store.ensure_default_org().await?;
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Stops accepting a machine's or an organisation's tokens here and on the other
    /// servers (which forget them from their caches).
    fn forget_agents(&self, what: live_relay::Forget) {
        match &what {
            live_relay::Forget::Machine(id) => self.agents.forget_machine(id),
            live_relay::Forget::Org(id) => self
                .agents
                .forget_org(&crate::ids::OrgId::from_db(id.clone())),
        }
        if let Some(peers) = &self.peers {
            let _ = peers.try_send(what);
        }
    }

    pub fn live(&self) -> &crate::live::Hub {
        &self.live
    }

    pub fn clock(&self) -> SharedClock {
        self.clock.clone()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The report writer found the database's disk full in the last minute and has not
    /// written since.
    pub fn disk_full(&self) -> bool {
        self.writes.disk_full(self.now_ms())
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> Result<()> {
        on_reader!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// Creates the SQLite file readable by the server's user only, or narrows an existing one:
/// it holds password hashes and sealed secrets. SQLite gives the -wal and -shm files the
/// mode of the database file.
fn private_database_file(url: &str) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let failed = |e: std::io::Error| StoreError::BadUrl(format!("{path}: {e}"));
    let path = std::path::Path::new(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
        }
    }
    Ok(())
}

fn new_secret(kind: crate::secret::SecretKind) -> Result<String> {
    crate::secret::generate(kind).map_err(|e| StoreError::Random(e.to_string()))
}
