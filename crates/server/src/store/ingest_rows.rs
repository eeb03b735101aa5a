//! How reports become rows: the column lists, the JSON arrays that carry rows to the
//! database in one parameter, and the statements that expand them. SQLite reads the arrays
//! with `json_each`, PostgreSQL with `jsonb_array_elements`; nothing else differs.

use optralis_proto::agent::Report;
use optralis_proto::api::LatestValues;
use optralis_proto::events::EventSeverity;
use serde::Serialize;

use super::{Backend, Result, StoreError};

/// Columns of a JSON row: name and PostgreSQL type (SQLite takes JSON values as they are).
type Columns = &'static [(&'static str, &'static str)];

const WIDE_COLS: Columns = &[
    ("machine_id", "text"),
    ("seq", "bigint"),
    ("ts_ms", "bigint"),
    ("cpu_percent", "float8"),
    ("load1", "float8"),
    ("load5", "float8"),
    ("load15", "float8"),
    ("mem_used_percent", "float8"),
    ("mem_used_bytes", "float8"),
    ("mem_available_bytes", "float8"),
    ("swap_used_percent", "float8"),
    ("cpu_temp_c", "float8"),
    ("uptime_s", "float8"),
    ("health_score", "float8"),
];
const INSTANCE_COLS: Columns = &[
    ("machine_id", "text"),
    ("ts_ms", "bigint"),
    ("kind", "text"),
    ("instance", "text"),
    ("v1", "float8"),
    ("v2", "float8"),
    ("v3", "float8"),
    ("v4", "float8"),
    ("v5", "float8"),
    ("v6", "float8"),
];
const MACHINE_COLS: Columns = &[
    ("id", "text"),
    ("max_seq", "bigint"),
    ("latest_ts", "bigint"),
    ("latest", "text"),
    ("facts", "text"),
    ("hostname", "text"),
    ("health_score", "bigint"),
    ("health_reasons", "text"),
    ("status", "text"),
    ("interval_s", "bigint"),
    ("agent_labels", "text"),
    ("last_ip", "text"),
    ("dropped_total", "bigint"),
];

const EVENT_COLS: Columns = &[
    ("org_id", "text"),
    ("machine_id", "text"),
    ("seq", "bigint"),
    ("idx", "bigint"),
    ("ts_ms", "bigint"),
    ("last_ts_ms", "bigint"),
    ("severity", "smallint"),
    ("source", "text"),
    ("message", "text"),
    ("count", "bigint"),
    ("boot_id", "text"),
    ("log", "text"),
    ("event_id", "bigint"),
];
const EVENT_STATE_COLS: Columns = &[
    ("id", "text"),
    ("source", "text"),
    ("unavailable", "text"),
    ("suppressed", "bigint"),
];

/// The rows of parameter `$n` (a JSON array of arrays) as a derived table `v`.
fn json_rows(backend: &Backend, cols: Columns, n: usize) -> String {
    let select: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, (name, pg_type))| match backend {
            Backend::Sqlite { .. } => format!("value ->> {i} AS {name}"),
            Backend::Postgres(_) => format!("(e ->> {i})::{pg_type} AS {name}"),
        })
        .collect();
    match backend {
        Backend::Sqlite { .. } => {
            format!("(SELECT {} FROM json_each(${n})) AS v", select.join(", "))
        }
        Backend::Postgres(_) => {
            format!(
                "(SELECT {} FROM jsonb_array_elements(${n}::jsonb) AS e) AS v",
                select.join(", ")
            )
        }
    }
}

fn insert_sql(backend: &Backend, table: &str, cols: Columns, tail: &str) -> String {
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let names = names.join(", ");
    format!(
        "INSERT INTO {table} ({names}) SELECT {names} FROM {} WHERE true {tail}",
        json_rows(backend, cols, 1)
    )
}

/// The statement texts of the write path for one backend, built once.
pub(super) struct Statements {
    pub(super) wide: String,
    pub(super) instances: String,
    pub(super) machines: String,
    pub(super) status_log: String,
    pub(super) events: String,
    pub(super) events_state: String,
}

impl Statements {
    pub(super) fn for_backend(b: &Backend) -> Self {
        Self {
            wide: insert_sql(
                b,
                "metrics_raw",
                WIDE_COLS,
                "ON CONFLICT (machine_id, seq) DO NOTHING RETURNING machine_id, seq",
            ),
            instances: insert_sql(
                b,
                "instance_raw",
                INSTANCE_COLS,
                "ON CONFLICT (machine_id, ts_ms, kind, instance) DO NOTHING",
            ),
            machines: format!(
                "UPDATE machines SET last_seen_ms = $1, \
                 last_seq = CASE WHEN machines.last_seq < v.max_seq THEN v.max_seq ELSE machines.last_seq END, \
                 latest = CASE WHEN v.latest IS NOT NULL \
                   AND (machines.latest_ts_ms IS NULL OR machines.latest_ts_ms <= v.latest_ts) \
                   THEN v.latest ELSE machines.latest END, \
                 latest_ts_ms = CASE WHEN v.latest IS NOT NULL \
                   AND (machines.latest_ts_ms IS NULL OR machines.latest_ts_ms <= v.latest_ts) \
                   THEN v.latest_ts ELSE machines.latest_ts_ms END, \
                 facts = COALESCE(v.facts, machines.facts), \
                 hostname = COALESCE(v.hostname, machines.hostname), \
                 status_since_ms = CASE WHEN v.status IS NOT NULL \
                   AND (v.status <> machines.status OR machines.status_since_ms IS NULL) \
                   THEN $1 ELSE machines.status_since_ms END, \
                 status = COALESCE(v.status, machines.status), \
                 health_score = COALESCE(v.health_score, machines.health_score), \
                 health_reasons = COALESCE(v.health_reasons, machines.health_reasons), \
                 interval_s = COALESCE(v.interval_s, machines.interval_s), \
                 agent_labels = COALESCE(v.agent_labels, machines.agent_labels), \
                 last_ip = COALESCE(v.last_ip, machines.last_ip), \
                 dropped_ms = CASE WHEN v.latest IS NOT NULL \
                   AND (machines.latest_ts_ms IS NULL OR machines.latest_ts_ms <= v.latest_ts) \
                   AND v.dropped_total > COALESCE(machines.dropped_total, 0) THEN $1 ELSE machines.dropped_ms END, \
                 dropped_total = CASE WHEN v.latest IS NOT NULL \
                   AND (machines.latest_ts_ms IS NULL OR machines.latest_ts_ms <= v.latest_ts) \
                   THEN v.dropped_total ELSE machines.dropped_total END \
                 FROM {} WHERE machines.id = v.id",
                json_rows(b, MACHINE_COLS, 2)
            ),
            // Run before `machines`, while the row still holds the previous status.
            status_log: format!(
                "INSERT INTO status_log (machine_id, ts_ms, status, score) \
                 SELECT v.id, $1, v.status, v.health_score FROM {} \
                 JOIN machines m ON m.id = v.id WHERE v.status IS NOT NULL AND v.status <> m.status",
                json_rows(b, MACHINE_COLS, 2)
            ),
            events: insert_sql(
                b,
                "events",
                EVENT_COLS,
                "ON CONFLICT (machine_id, seq, idx) DO NOTHING",
            ),
            events_state: format!(
                "UPDATE machines SET events_source = v.source, events_unavailable = v.unavailable, \
                 events_suppressed_total = machines.events_suppressed_total + v.suppressed \
                 FROM {} WHERE machines.id = v.id",
                json_rows(b, EVENT_STATE_COLS, 1)
            ),
        }
    }
}

/// org, machine, seq, idx, ts, last ts, severity rank, source, message, count, boot id, log,
/// event id.
type EventRow<'a> = (
    &'a str,
    &'a str,
    i64,
    i64,
    i64,
    i64,
    i16,
    &'a str,
    &'a str,
    i64,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
);

/// Severity as stored: a rank, so "at least error" is `severity >= 2`.
pub(super) fn severity_rank(s: EventSeverity) -> i16 {
    match s {
        EventSeverity::Warning => 1,
        EventSeverity::Error => 2,
        EventSeverity::Critical => 3,
    }
}

pub(super) fn event_rows<'a>(
    org: &'a str,
    machine: &'a str,
    r: &'a Report,
) -> impl Iterator<Item = EventRow<'a>> {
    r.events.iter().flat_map(move |b| {
        b.events.iter().enumerate().map(move |(i, e)| {
            (
                org,
                machine,
                r.seq as i64,
                i as i64,
                e.ts_ms,
                e.last_ts_ms,
                severity_rank(e.severity),
                e.source.as_str(),
                e.message.as_str(),
                i64::from(e.count),
                e.boot_id.as_deref(),
                e.log.as_deref(),
                e.event_id.map(i64::from),
            )
        })
    })
}

/// machine, source, unavailable reason, entries suppressed.
pub(super) type EventStateRow<'a> = (&'a str, &'a str, Option<&'a str>, i64);

pub(super) fn to_json<T: Serialize>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| StoreError::Corrupt(e.to_string()))
}

type WideRow<'a> = (
    &'a str,
    i64,
    i64,
    f64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    f64,
    f64,
    f64,
    f64,
    Option<f64>,
    f64,
    Option<f64>,
);

/// `health_score` is the score given to this report, if it was the one scored.
pub(super) fn wide_row<'a>(machine: &'a str, r: &Report, health_score: Option<f64>) -> WideRow<'a> {
    (
        machine,
        r.seq as i64,
        r.ts_ms,
        r.cpu.percent,
        r.cpu.load1,
        r.cpu.load5,
        r.cpu.load15,
        r.memory.used_percent(),
        r.memory.used_bytes as f64,
        r.memory.available_bytes as f64,
        r.memory.swap_used_percent(),
        r.cpu_temp_c,
        r.uptime_s as f64,
        health_score,
    )
}

/// machine, ts, kind, instance, v1…v6: the kind's figures in the catalog's order.
type InstanceRow<'a> = (
    &'a str,
    i64,
    &'static str,
    &'a str,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

fn row<'a>(
    machine: &'a str,
    ts: i64,
    kind: &'static str,
    instance: &'a str,
    v: [Option<f64>; 6],
) -> InstanceRow<'a> {
    (
        machine, ts, kind, instance, v[0], v[1], v[2], v[3], v[4], v[5],
    )
}

pub(super) fn instance_rows<'a>(
    machine: &'a str,
    r: &'a Report,
) -> impl Iterator<Item = InstanceRow<'a>> {
    let ts = r.ts_ms;
    let fs = r.filesystems.iter().map(move |f| {
        let v = [
            Some(f.used_percent()),
            Some(f.used_bytes as f64),
            Some(f.free_bytes as f64),
            f.inodes_used_percent(),
            None,
            None,
        ];
        row(machine, ts, "fs", f.mount.as_str(), v)
    });
    let disks = r.disks.iter().map(move |d| {
        let v = [
            Some(d.read_bytes_per_s),
            Some(d.write_bytes_per_s),
            Some(d.read_ops_per_s),
            Some(d.write_ops_per_s),
            Some(d.busy_percent),
            None,
        ];
        row(machine, ts, "disk", d.device.as_str(), v)
    });
    let nets = r.networks.iter().map(move |n| {
        let v = [
            Some(n.rx_bytes_per_s),
            Some(n.tx_bytes_per_s),
            Some(n.rx_errors as f64),
            Some(n.tx_errors as f64),
            Some(n.rx_drops as f64),
            Some(n.tx_drops as f64),
        ];
        row(machine, ts, "net", n.interface.as_str(), v)
    });
    fs.chain(disks).chain(nets)
}

pub(super) fn latest_values(r: &Report) -> LatestValues {
    LatestValues {
        ts_ms: r.ts_ms,
        interval_s: r.interval_s,
        cpu_percent: r.cpu.percent,
        cpu_per_core: r.cpu.per_core.clone(),
        load1: r.cpu.load1,
        load5: r.cpu.load5,
        load15: r.cpu.load15,
        memory_used_percent: r.memory.used_percent(),
        swap_used_percent: r.memory.swap_used_percent(),
        memory: r.memory.clone(),
        uptime_s: r.uptime_s,
        boot_time_ms: r.boot_time_ms,
        cpu_temp_c: r.cpu_temp_c,
        filesystems: r.filesystems.clone(),
        disks: r.disks.clone(),
        networks: r.networks.clone(),
        outbox_dropped_total: r.outbox.dropped_total,
    }
}
