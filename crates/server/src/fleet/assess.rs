//! Rescoring a machine from its newest report: which events still weigh, which disk verdicts
//! apply, the facts the score is computed from, and the interval that follows. No IO: the
//! store gathers what it knew before the report ([`Prior`]) and the sustained window's lows,
//! and writes what this decides.

use optralis_proto::agent::Report;
use optralis_proto::api::MachineStatus;
use optralis_proto::events::{EventSeverity, SystemEvent};
use optralis_proto::interval::{DEGRADED_INTERVAL_S, HEALTHY_INTERVAL_S};
use optralis_proto::smart::Verdict;

use super::disks;
use super::health::{self, Facts, Health};

/// The window recent events are counted over for the health score.
pub const RECENT_EVENTS_MS: i64 = 3_600_000;
/// Reports this far back are read to judge "for 10 min" rules...
pub const SUSTAINED_MS: i64 = 10 * 60_000;
/// ...when the newest one is at least this high (the lowest sustained rule).
const SUSTAINED_FROM: f64 = 90.0;
/// The window counts only when reports cover (nearly) all of it.
const SUSTAINED_SLACK_MS: i64 = 90_000;

/// A critical or error entry (or folded entries) that weighs on the score while recent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentEvent {
    pub last_ts_ms: i64,
    /// Critical; otherwise an error.
    pub critical: bool,
    pub count: u64,
}

impl RecentEvent {
    pub fn of(e: &SystemEvent) -> Option<Self> {
        (e.severity >= EventSeverity::Error).then(|| RecentEvent {
            last_ts_ms: e.last_ts_ms,
            critical: e.severity == EventSeverity::Critical,
            count: u64::from(e.count),
        })
    }
}

/// What was known of the machine before this report.
#[derive(Debug, Clone, Copy)]
pub struct Prior<'a> {
    /// The newest report assessed so far.
    pub latest_ts: Option<i64>,
    /// Name and verdict per disk, acknowledged warnings counted as ok.
    pub disks: &'a [(String, Verdict)],
    /// Disk key and acknowledged reasons, for disks with an acknowledgement.
    pub acks: &'a [(String, Vec<String>)],
    /// Critical and error events of about the last hour.
    pub recent_events: &'a [RecentEvent],
}

/// The lowest memory and CPU figures of the reports in the sustained window before the
/// newest, and the oldest of those reports' times.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowLows {
    pub memory_percent: Option<f64>,
    pub cpu_percent: Option<f64>,
    pub first_ts_ms: Option<i64>,
}

/// Whether the sustained window is worth reading: only when this report is itself high.
pub fn needs_window(latest: &Report) -> bool {
    latest.memory.used_percent() >= SUSTAINED_FROM || latest.cpu.percent >= SUSTAINED_FROM
}

/// The machine after the report: its health, and what the next assessment starts from.
#[derive(Debug, Clone)]
pub struct Judged {
    pub health: Health,
    pub disks: Vec<(String, Verdict)>,
    pub recent_events: Vec<RecentEvent>,
}

/// Judges `latest` (the newest report of `batch`) against what came before.
pub fn judge(prior: Prior<'_>, latest: &Report, batch: &[Report], lows: WindowLows) -> Judged {
    // Events of reports newer than the last assessed one are new; the rest are counted.
    let window_start = latest.ts_ms - RECENT_EVENTS_MS;
    let mut recent_events: Vec<RecentEvent> = prior
        .recent_events
        .iter()
        .copied()
        .chain(
            batch
                .iter()
                .filter(|r| prior.latest_ts.is_none_or(|t| r.ts_ms > t))
                .filter_map(|r| r.events.as_ref())
                .flat_map(|b| b.events.iter().filter_map(RecentEvent::of)),
        )
        .filter(|e| e.last_ts_ms > window_start)
        .collect();
    recent_events.shrink_to_fit();
    let count_events = |critical: bool| -> u64 {
        recent_events
            .iter()
            .filter(|e| e.critical == critical)
            .map(|e| e.count)
            .sum()
    };
    let memory_now = latest.memory.used_percent();
    let covered = lows
        .first_ts_ms
        .is_some_and(|f| f <= latest.ts_ms - SUSTAINED_MS + SUSTAINED_SLACK_MS);
    // A report carrying a S.M.A.R.T. reading is the disks' newest word. Acknowledged
    // warnings that have not worsened do not count.
    let disks = match &latest.smart {
        Some(snapshot) if snapshot.unavailable.is_none() => snapshot
            .devices
            .iter()
            .map(|d| {
                let (verdict, reasons) = d.verdict();
                let acked = prior
                    .acks
                    .iter()
                    .find(|(key, _)| *key == d.key())
                    .map(|(_, a)| a.as_slice());
                (d.name.clone(), disks::counted(verdict, &reasons, acked))
            })
            .collect(),
        _ => prior.disks.to_vec(),
    };
    let facts = Facts {
        filesystems: latest
            .filesystems
            .iter()
            .map(|f| (f.mount.clone(), f.used_percent()))
            .collect(),
        swap_used_percent: latest.memory.swap_used_percent(),
        cpu_temp_c: latest.cpu_temp_c,
        memory_low_10min: lows
            .memory_percent
            .filter(|_| covered)
            .map(|v| v.min(memory_now)),
        cpu_low_10min: lows
            .cpu_percent
            .filter(|_| covered)
            .map(|v| v.min(latest.cpu.percent)),
        disks,
        critical_events_1h: count_events(true),
        error_events_1h: count_events(false),
    };
    let health = health::score(&facts);
    Judged {
        health,
        disks: facts.disks,
        recent_events,
    }
}

/// The result of rescoring a machine after a report.
#[derive(Debug, Clone)]
pub struct HealthOutcome {
    pub health: Health,
    pub previous: MachineStatus,
    /// Below this score the organisation wants the degraded interval.
    pub degraded_below_score: i64,
}

impl HealthOutcome {
    /// The interval the machine should report at: 30 s while critical or under the
    /// organisation's score threshold, 60 s otherwise.
    pub fn interval_s(&self) -> u32 {
        let degraded = self.health.status == MachineStatus::Critical
            || i64::from(self.health.score) < self.degraded_below_score;
        if degraded {
            DEGRADED_INTERVAL_S
        } else {
            HEALTHY_INTERVAL_S
        }
    }
}
