//! The health score: 100 minus a deduction for each problem seen, every deduction listed with
//! its reason, and the status that follows from them. Pure: the caller gathers the facts.
//! The formula is documented in docs/USER_GUIDE.md ("Health score"); keep the two together.

use optralis_proto::api::MachineStatus;
use optralis_proto::smart::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub reason: String,
    /// Points taken off (negative).
    pub weight: i32,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub score: u8,
    pub reasons: Vec<Reason>,
    pub status: MachineStatus,
}

/// What the score is computed from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Mount point and percent used, per filesystem.
    pub filesystems: Vec<(String, f64)>,
    pub swap_used_percent: f64,
    pub cpu_temp_c: Option<f64>,
    /// The lowest memory use over the last 10 minutes, when reports cover them.
    pub memory_low_10min: Option<f64>,
    /// The lowest CPU use over the last 10 minutes, when reports cover them.
    pub cpu_low_10min: Option<f64>,
    /// Name and S.M.A.R.T. verdict per disk.
    pub disks: Vec<(String, Verdict)>,
    /// System event entries of the last hour: critical (emerg, alert, crit) and errors.
    pub critical_events_1h: u64,
    pub error_events_1h: u64,
}

/// Error entries in an hour from which they weigh on the score (many machines log a few).
pub const ERROR_EVENTS_FROM: u64 = 50;

/// Below this a machine is critical whatever its reasons; below [`WARNING_BELOW`], warning.
pub const CRITICAL_BELOW: u8 = 50;
pub const WARNING_BELOW: u8 = 80;

fn pct(v: f64) -> String {
    format!("{:.0} %", v.floor())
}

/// The score of a machine that reports.
pub fn score(f: &Facts) -> Health {
    use Severity::{Critical, Warning};
    let mut reasons = Vec::new();
    let mut add = |reason: String, weight: i32, severity| {
        reasons.push(Reason {
            reason,
            weight,
            severity,
        })
    };
    for (mount, used) in &f.filesystems {
        let (weight, severity) = match *used {
            u if u >= 95.0 => (-30, Critical),
            u if u >= 90.0 => (-20, Warning),
            u if u >= 85.0 => (-10, Warning),
            _ => continue,
        };
        add(
            format!("filesystem {mount} {} full", pct(*used)),
            weight,
            severity,
        );
    }
    if let Some(low) = f.memory_low_10min {
        match low {
            m if m >= 95.0 => add(format!("memory {} for 10 min", pct(m)), -25, Critical),
            m if m >= 90.0 => add(format!("memory {} for 10 min", pct(m)), -15, Warning),
            _ => {}
        }
    }
    if let Some(low) = f.cpu_low_10min {
        match low {
            c if c >= 95.0 => add(format!("CPU {} for 10 min", pct(c)), -15, Warning),
            c if c >= 90.0 => add(format!("CPU {} for 10 min", pct(c)), -10, Warning),
            _ => {}
        }
    }
    if f.swap_used_percent >= 80.0 {
        add(
            format!("swap {} used", pct(f.swap_used_percent)),
            -10,
            Warning,
        );
    }
    if let Some(t) = f.cpu_temp_c {
        match t {
            t if t >= 90.0 => add(format!("CPU at {t:.0} °C"), -20, Critical),
            t if t >= 80.0 => add(format!("CPU at {t:.0} °C"), -10, Warning),
            _ => {}
        }
    }
    for (disk, verdict) in &f.disks {
        match verdict {
            Verdict::Failing => add(format!("disk {disk} failing (S.M.A.R.T.)"), -40, Critical),
            Verdict::Warning => add(format!("disk {disk} warning (S.M.A.R.T.)"), -15, Warning),
            Verdict::Ok => {}
        }
    }
    match f.critical_events_1h {
        0 => {}
        n => add(
            format!("{n} critical events in the last hour"),
            if n >= 10 { -20 } else { -10 },
            Warning,
        ),
    }
    if f.error_events_1h >= ERROR_EVENTS_FROM {
        add(
            format!("{} error events in the last hour", f.error_events_1h),
            -5,
            Warning,
        );
    }
    let total: i32 = reasons.iter().map(|r| r.weight).sum();
    let score = u8::try_from((100 + total).clamp(0, 100)).unwrap_or(0);
    let status = if score < CRITICAL_BELOW || reasons.iter().any(|r| r.severity == Critical) {
        MachineStatus::Critical
    } else if score < WARNING_BELOW || !reasons.is_empty() {
        MachineStatus::Warning
    } else {
        MachineStatus::Online
    };
    Health {
        score,
        reasons,
        status,
    }
}

/// The score of a machine that stopped reporting.
pub fn offline(silent_for_s: i64) -> Health {
    Health {
        score: 0,
        reasons: vec![Reason {
            reason: format!("offline: no report for {}", humanize(silent_for_s)),
            weight: -100,
            severity: Severity::Critical,
        }],
        status: MachineStatus::Offline,
    }
}

fn humanize(s: i64) -> String {
    match s {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(h: &Health) -> Vec<(String, i32)> {
        h.reasons
            .iter()
            .map(|r| (r.reason.clone(), r.weight))
            .collect()
    }

    /// Name, facts, expected score, status and reasons.
    type Case = (
        &'static str,
        Facts,
        u8,
        MachineStatus,
        Vec<(&'static str, i32)>,
    );

    #[test]
    fn score_table() {
        let fs = |m: &str, u: f64| (m.to_owned(), u);
        let cases: Vec<Case> = vec![
            (
                "healthy",
                Facts {
                    filesystems: vec![fs("/", 40.0)],
                    ..Facts::default()
                },
                100,
                MachineStatus::Online,
                vec![],
            ),
            (
                "filesystem 93 %",
                Facts {
                    filesystems: vec![fs("/", 93.4), fs("/var", 50.0)],
                    ..Facts::default()
                },
                80,
                MachineStatus::Warning,
                vec![("filesystem / 93 % full", -20)],
            ),
            (
                "filesystem 96 % is critical",
                Facts {
                    filesystems: vec![fs("/data", 96.0)],
                    ..Facts::default()
                },
                70,
                MachineStatus::Critical,
                vec![("filesystem /data 96 % full", -30)],
            ),
            (
                "memory sustained",
                Facts {
                    memory_low_10min: Some(96.2),
                    ..Facts::default()
                },
                75,
                MachineStatus::Critical,
                vec![("memory 96 % for 10 min", -25)],
            ),
            (
                "memory not sustained",
                Facts {
                    memory_low_10min: Some(40.0),
                    ..Facts::default()
                },
                100,
                MachineStatus::Online,
                vec![],
            ),
            (
                "cpu, swap and heat add up",
                Facts {
                    cpu_low_10min: Some(97.0),
                    swap_used_percent: 85.0,
                    cpu_temp_c: Some(82.0),
                    ..Facts::default()
                },
                65,
                MachineStatus::Warning,
                vec![
                    ("CPU 97 % for 10 min", -15),
                    ("swap 85 % used", -10),
                    ("CPU at 82 °C", -10),
                ],
            ),
            (
                "a failing disk",
                Facts {
                    disks: vec![
                        ("sda".into(), Verdict::Failing),
                        ("nvme0n1".into(), Verdict::Ok),
                    ],
                    ..Facts::default()
                },
                60,
                MachineStatus::Critical,
                vec![("disk sda failing (S.M.A.R.T.)", -40)],
            ),
            (
                "critical events in the last hour",
                Facts {
                    critical_events_1h: 3,
                    error_events_1h: 49,
                    ..Facts::default()
                },
                90,
                MachineStatus::Warning,
                vec![("3 critical events in the last hour", -10)],
            ),
            (
                "a storm of critical and error events",
                Facts {
                    critical_events_1h: 12,
                    error_events_1h: 50,
                    ..Facts::default()
                },
                75,
                MachineStatus::Warning,
                vec![
                    ("12 critical events in the last hour", -20),
                    ("50 error events in the last hour", -5),
                ],
            ),
            (
                "floor at zero",
                Facts {
                    filesystems: vec![
                        fs("/", 99.0),
                        fs("/a", 99.0),
                        fs("/b", 99.0),
                        fs("/c", 99.0),
                    ],
                    ..Facts::default()
                },
                0,
                MachineStatus::Critical,
                vec![
                    ("filesystem / 99 % full", -30),
                    ("filesystem /a 99 % full", -30),
                    ("filesystem /b 99 % full", -30),
                    ("filesystem /c 99 % full", -30),
                ],
            ),
        ];
        for (name, facts, want_score, want_status, want_reasons) in cases {
            let h = score(&facts);
            assert_eq!(h.score, want_score, "{name}");
            assert_eq!(h.status, want_status, "{name}");
            let want: Vec<(String, i32)> = want_reasons
                .into_iter()
                .map(|(r, w)| (r.to_owned(), w))
                .collect();
            assert_eq!(reasons(&h), want, "{name}");
        }
    }

    #[test]
    fn offline_scores_zero() {
        let h = offline(200);
        assert_eq!(h.score, 0);
        assert_eq!(h.status, MachineStatus::Offline);
        assert_eq!(
            reasons(&h),
            vec![("offline: no report for 3 min".to_owned(), -100)]
        );
    }
}
