//! Alert rules without IO: checking a specification, the default set, and judging one
//! machine against one rule (with hysteresis).

use optralis_proto::alerts::{
    AlertSeverity, RULE_METRICS, RuleKind, RuleScope, RuleSpec, ThresholdOp,
};
use optralis_proto::api::{Machine, MachineStatus};
use optralis_proto::events::EventSeverity;
use optralis_proto::metrics::MetricName;
use optralis_proto::smart::Verdict;

use crate::fleet::selector::{self, Selector};

/// A field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> RuleError {
    RuleError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Checks a specification; returns it normalised.
pub fn check(mut spec: RuleSpec) -> Result<RuleSpec, RuleError> {
    let name = spec.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(err("name", "must be 1 to 100 characters"));
    }
    spec.name = name.to_owned();
    let finite = |field: &str, v: Option<f64>| match v {
        Some(x) if !x.is_finite() => Err(err(field, "must be a number")),
        _ => Ok(()),
    };
    finite("threshold", spec.threshold)?;
    finite("clear", spec.clear)?;
    if spec.for_s > 7 * 86_400 {
        return Err(err("for_s", "at most 7 days"));
    }
    if spec.reminder_s != 0 && !(300..=7 * 86_400).contains(&spec.reminder_s) {
        return Err(err("reminder_s", "0 (never) or 300 s to 7 days"));
    }
    match spec.kind {
        RuleKind::Metric => {
            if !spec.metric.is_some_and(|m| RULE_METRICS.contains(&m)) {
                let names: Vec<&str> = RULE_METRICS.iter().map(|m| m.as_str()).collect();
                return Err(err(
                    "metric",
                    format!("expected one of {}", names.join(", ")),
                ));
            }
            let op = *spec.op.get_or_insert(ThresholdOp::Above);
            let threshold = spec
                .threshold
                .ok_or_else(|| err("threshold", "is required"))?;
            if let Some(clear) = spec.clear {
                let wrong_side = match op {
                    ThresholdOp::Below => clear < threshold,
                    ThresholdOp::Above => clear > threshold,
                };
                if wrong_side {
                    return Err(err(
                        "clear",
                        "must be on the healthy side of the threshold (below it for above)",
                    ));
                }
            }
        }
        RuleKind::Health => {
            let t = spec
                .threshold
                .ok_or_else(|| err("threshold", "is required: the score below which to fire"))?;
            if !(0.0..=100.0).contains(&t) {
                return Err(err("threshold", "a score between 0 and 100"));
            }
            if spec.clear.is_some_and(|c| c < t) {
                return Err(err("clear", "must be at least the threshold"));
            }
        }
        RuleKind::Events => {
            let t = spec.threshold.unwrap_or(1.0);
            if t < 1.0 {
                return Err(err("threshold", "at least 1 event"));
            }
            spec.threshold = Some(t.floor());
            let w = spec.window_s.unwrap_or(3_600);
            if !(60..=86_400).contains(&w) {
                return Err(err("window_s", "60 s to 1 day"));
            }
            spec.window_s = Some(w);
            spec.event_severity = Some(spec.event_severity.unwrap_or(EventSeverity::Error));
            if spec
                .event_pattern
                .as_ref()
                .is_some_and(|p| p.is_empty() || p.len() > 256)
            {
                return Err(err("event_pattern", "1 to 256 characters"));
            }
        }
        RuleKind::Disk => {
            spec.disk_verdict = Some(spec.disk_verdict.unwrap_or(Verdict::Warning));
            if spec.disk_verdict == Some(Verdict::Ok) {
                return Err(err("disk_verdict", "expected warning or failing"));
            }
        }
        RuleKind::Offline => {}
        RuleKind::Agent => {
            let w = spec.window_s.unwrap_or(3_600);
            if !(60..=86_400).contains(&w) {
                return Err(err("window_s", "60 s to 1 day"));
            }
            spec.window_s = Some(w);
        }
    }
    check_scope("scope", &spec.scope)?;
    Ok(spec)
}

pub fn check_scope(field: &str, scope: &RuleScope) -> Result<(), RuleError> {
    if let Some(s) = &scope.selector {
        selector::parse(s).map_err(|e| err(&format!("{field}.selector"), e.to_string()))?;
    }
    if scope.groups.len() > 100 {
        return Err(err(&format!("{field}.groups"), "at most 100 groups"));
    }
    Ok(())
}

/// Whether `scope` covers `m` (never a decommissioned machine).
pub fn in_scope(scope: &RuleScope, selector: Option<&Selector>, m: &Machine) -> bool {
    if m.decommissioned {
        return false;
    }
    if scope.machine.as_ref().is_some_and(|id| *id != m.id) {
        return false;
    }
    if !scope.groups.is_empty() && !scope.groups.iter().any(|g| m.groups.contains(g)) {
        return false;
    }
    selector.is_none_or(|s| s.matches(&m.labels))
}

/// The parsed selector of a checked scope.
pub fn scope_selector(scope: &RuleScope) -> Option<Selector> {
    scope
        .selector
        .as_deref()
        .and_then(|s| selector::parse(s).ok())
}

/// What one evaluation saw for one machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The condition holds (fire, or keep pending).
    pub breached: bool,
    /// Past the clear level: a firing alert resolves. Between the two, nothing changes.
    pub cleared: bool,
    pub value: f64,
    pub detail: String,
}

/// What the engine knows of a machine besides the [`Machine`] itself.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Disk name and verdict, acknowledged warnings counted as ok.
    pub disks: Vec<(String, Verdict)>,
    /// Matching events within the rule's window (events rules).
    pub events: u64,
    /// Reports the agent dropped in all, and when that last grew (agent rules).
    pub drops: Option<(i64, Option<i64>)>,
    /// When the evaluation runs.
    pub now_ms: i64,
}

fn pct(v: f64) -> String {
    format!("{v:.0} %")
}

/// A metric's worst value on a machine and where: the largest (or, for `below`, the
/// smallest) over filesystems, disks or interfaces.
fn metric_value(m: &Machine, metric: MetricName, below: bool) -> Option<(f64, String)> {
    let l = m.latest.as_ref()?;
    let pick = |items: Vec<(f64, String)>| {
        items.into_iter().reduce(|a, b| {
            let better = if below { b.0 < a.0 } else { b.0 > a.0 };
            if better { b } else { a }
        })
    };
    match metric {
        MetricName::CpuPercent => Some((l.cpu_percent, String::new())),
        MetricName::MemoryUsedPercent => Some((l.memory_used_percent, String::new())),
        MetricName::SwapUsedPercent => Some((l.swap_used_percent, String::new())),
        MetricName::TemperatureCpuC => l.cpu_temp_c.map(|t| (t, String::new())),
        MetricName::FilesystemUsedPercent => pick(
            l.filesystems
                .iter()
                .map(|f| (f.used_percent(), f.mount.clone()))
                .collect(),
        ),
        MetricName::DiskBusyPercent => pick(
            l.disks
                .iter()
                .map(|d| (d.busy_percent, d.device.clone()))
                .collect(),
        ),
        MetricName::NetworkRxBytesPerS => pick(
            l.networks
                .iter()
                .map(|n| (n.rx_bytes_per_s, n.interface.clone()))
                .collect(),
        ),
        MetricName::NetworkTxBytesPerS => pick(
            l.networks
                .iter()
                .map(|n| (n.tx_bytes_per_s, n.interface.clone()))
                .collect(),
        ),
        _ => None,
    }
}

fn metric_label(metric: MetricName, fr: bool) -> &'static str {
    use MetricName::*;
    match (metric, fr) {
        (CpuPercent, _) => "CPU",
        (MemoryUsedPercent, false) => "memory",
        (MemoryUsedPercent, true) => "mémoire",
        (SwapUsedPercent, _) => "swap",
        (TemperatureCpuC, false) => "CPU temperature",
        (TemperatureCpuC, true) => "température CPU",
        (FilesystemUsedPercent, false) => "filesystem",
        (FilesystemUsedPercent, true) => "système de fichiers",
        (DiskBusyPercent, false) => "disk busy",
        (DiskBusyPercent, true) => "occupation disque",
        (NetworkRxBytesPerS, false) => "network in",
        (NetworkRxBytesPerS, true) => "réseau entrant",
        (NetworkTxBytesPerS, false) => "network out",
        (NetworkTxBytesPerS, true) => "réseau sortant",
        // Not a rule metric (`check` refuses it): its series name.
        (other, _) => other.as_str(),
    }
}

fn format_value(metric: MetricName, v: f64) -> String {
    match metric {
        MetricName::TemperatureCpuC => format!("{v:.0} °C"),
        MetricName::NetworkRxBytesPerS | MetricName::NetworkTxBytesPerS => {
            format!("{:.1} MB/s", v / 1_000_000.0)
        }
        _ => pct(v),
    }
}

/// Judges `m` against `rule`; `None` when the machine has no data for it.
pub fn observe(rule: &RuleSpec, m: &Machine, extra: &Extra, fr: bool) -> Option<Observation> {
    match rule.kind {
        RuleKind::Metric => {
            if m.status == MachineStatus::Offline {
                // Its last values are stale: neither fire nor resolve on them.
                return Some(Observation {
                    breached: false,
                    cleared: false,
                    value: 0.0,
                    detail: String::new(),
                });
            }
            let metric = rule.metric?;
            let below = rule.op == Some(ThresholdOp::Below);
            let threshold = rule.threshold?;
            let clear = rule.clear.unwrap_or(threshold);
            let (value, instance) = metric_value(m, metric, below)?;
            let (breached, cleared) = if below {
                (value < threshold, value >= clear)
            } else {
                (value > threshold, value <= clear)
            };
            let word = match (below, fr) {
                (false, false) => "above",
                (false, true) => "au-dessus de",
                (true, false) => "below",
                (true, true) => "en dessous de",
            };
            let what = if instance.is_empty() {
                metric_label(metric, fr).to_owned()
            } else {
                format!("{} {instance}", metric_label(metric, fr))
            };
            Some(Observation {
                breached,
                cleared,
                value,
                detail: format!(
                    "{what} {} ({word} {})",
                    format_value(metric, value),
                    format_value(metric, threshold)
                ),
            })
        }
        RuleKind::Offline => {
            // A machine that never reported is not a machine that went away.
            let offline = m.status == MachineStatus::Offline && m.last_seen_ms.is_some();
            Some(Observation {
                breached: offline,
                cleared: !offline,
                value: if offline { 1.0 } else { 0.0 },
                detail: if fr { "hors ligne" } else { "offline" }.into(),
            })
        }
        RuleKind::Health => {
            if m.status == MachineStatus::Offline {
                // An offline machine scores 0: that is the offline rule's business.
                return Some(Observation {
                    breached: false,
                    cleared: false,
                    value: 0.0,
                    detail: String::new(),
                });
            }
            let score = f64::from(m.health.score);
            let threshold = rule.threshold?;
            let clear = rule.clear.unwrap_or(threshold);
            Some(Observation {
                breached: score < threshold,
                cleared: score >= clear,
                value: score,
                detail: if fr {
                    format!("score de santé {score:.0} (sous {threshold:.0})")
                } else {
                    format!("health score {score:.0} (below {threshold:.0})")
                },
            })
        }
        RuleKind::Disk => {
            let want = rule.disk_verdict.unwrap_or(Verdict::Warning);
            let bad: Vec<&(String, Verdict)> =
                extra.disks.iter().filter(|(_, v)| *v >= want).collect();
            let names: Vec<String> = bad
                .iter()
                .map(|(n, v)| {
                    format!(
                        "{n} {}",
                        if *v == Verdict::Failing {
                            "failing"
                        } else {
                            "warning"
                        }
                    )
                })
                .collect();
            Some(Observation {
                breached: !bad.is_empty(),
                cleared: bad.is_empty(),
                value: bad.len() as f64,
                detail: format!("S.M.A.R.T.: {}", names.join(", ")),
            })
        }
        RuleKind::Agent => {
            let window_ms = i64::from(rule.window_s.unwrap_or(3_600)) * 1000;
            let (total, grew_ms) = extra.drops.unwrap_or((0, None));
            let recent = grew_ms.is_some_and(|t| extra.now_ms - t < window_ms);
            Some(Observation {
                breached: recent,
                cleared: !recent,
                value: total as f64,
                detail: if fr {
                    format!(
                        "l'agent a perdu des rapports hors ligne ({total} en tout, tampon plein)"
                    )
                } else {
                    format!("the agent dropped buffered reports ({total} in all, buffer full)")
                },
            })
        }
        RuleKind::Events => {
            let threshold = rule.threshold.unwrap_or(1.0);
            let n = extra.events as f64;
            let window_min = rule.window_s.unwrap_or(3_600) / 60;
            Some(Observation {
                breached: n >= threshold,
                cleared: n < threshold,
                value: n,
                detail: if fr {
                    format!("{n:.0} événements en {window_min} min")
                } else {
                    format!("{n:.0} events in {window_min} min")
                },
            })
        }
    }
}

fn default_rule(
    name: &str,
    kind: RuleKind,
    severity: AlertSeverity,
    f: impl FnOnce(&mut RuleSpec),
) -> RuleSpec {
    let mut r = RuleSpec {
        name: name.to_owned(),
        kind,
        metric: None,
        op: None,
        threshold: None,
        clear: None,
        for_s: 0,
        disk_verdict: None,
        event_severity: None,
        event_pattern: None,
        window_s: None,
        scope: RuleScope::default(),
        severity,
        reminder_s: 0,
        enabled: true,
    };
    f(&mut r);
    r
}

/// The rules every new organisation starts with (it may change or delete them).
pub fn default_rules() -> Vec<RuleSpec> {
    use AlertSeverity::{Critical, Warning};
    use MetricName::{CpuPercent, FilesystemUsedPercent, MemoryUsedPercent, TemperatureCpuC};
    use RuleKind::{Agent, Disk, Events, Health, Metric, Offline};
    let metric = |m: MetricName, above: f64, clear: f64, for_s: u32| {
        move |r: &mut RuleSpec| {
            r.metric = Some(m);
            r.op = Some(ThresholdOp::Above);
            r.threshold = Some(above);
            r.clear = Some(clear);
            r.for_s = for_s;
        }
    };
    vec![
        default_rule("Machine offline", Offline, Critical, |r| {
            r.reminder_s = 3_600
        }),
        default_rule(
            "CPU above 90 %",
            Metric,
            Warning,
            metric(CpuPercent, 90.0, 80.0, 600),
        ),
        default_rule(
            "Memory above 90 %",
            Metric,
            Warning,
            metric(MemoryUsedPercent, 90.0, 85.0, 600),
        ),
        default_rule(
            "Filesystem above 90 %",
            Metric,
            Warning,
            metric(FilesystemUsedPercent, 90.0, 85.0, 300),
        ),
        default_rule(
            "Filesystem above 95 %",
            Metric,
            Critical,
            metric(FilesystemUsedPercent, 95.0, 92.0, 60),
        ),
        default_rule(
            "CPU temperature above 85 °C",
            Metric,
            Warning,
            metric(TemperatureCpuC, 85.0, 80.0, 300),
        ),
        default_rule("Disk failing", Disk, Critical, |r| {
            r.disk_verdict = Some(Verdict::Failing)
        }),
        default_rule("Disk warning", Disk, Warning, |r| {
            r.disk_verdict = Some(Verdict::Warning)
        }),
        default_rule("Health score below 50", Health, Critical, |r| {
            r.threshold = Some(50.0);
            r.clear = Some(60.0);
            r.for_s = 300;
        }),
        default_rule("Agent dropping buffered reports", Agent, Warning, |r| {
            r.window_s = Some(3_600);
        }),
        default_rule("Critical system events", Events, Warning, |r| {
            r.event_severity = Some(EventSeverity::Critical);
            r.threshold = Some(1.0);
            r.window_s = Some(3_600);
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rules_are_valid() {
        for r in default_rules() {
            let name = r.name.clone();
            check(r).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }

    #[test]
    fn specifications_are_checked_by_field() {
        let base = default_rules().remove(1);
        let bad = |f: &dyn Fn(&mut RuleSpec), field: &str| {
            let mut r = base.clone();
            f(&mut r);
            assert_eq!(check(r).unwrap_err().field, field);
        };
        bad(&|r| r.metric = Some(MetricName::UptimeSeconds), "metric");
        bad(&|r| r.metric = None, "metric");
        bad(&|r| r.threshold = None, "threshold");
        bad(&|r| r.clear = Some(95.0), "clear");
        bad(
            &|r| r.scope.selector = Some("env in (".into()),
            "scope.selector",
        );
        bad(&|r| r.reminder_s = 10, "reminder_s");
        bad(&|r| r.threshold = Some(f64::NAN), "threshold");
    }

    #[test]
    fn unknown_names_are_refused_with_their_field() {
        let base = serde_json::to_value(default_rules().remove(1)).unwrap();
        for (field, value) in [("kind", "sms"), ("op", "over"), ("metric", "cpu")] {
            let mut v = base.clone();
            v[field] = value.into();
            let e = serde_path_to_error::deserialize::<_, RuleSpec>(v).unwrap_err();
            assert_eq!(e.path().to_string(), field);
        }
    }
}
