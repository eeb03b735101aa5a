//! From a raw report batch to stored reports: parsing each report on its own (one bad
//! report does not poison the others), clock-skew correction and field validation, then
//! accepting what passed (accept.rs: scored, stored, announced).

mod accept;
mod validate;

pub use accept::{Ingest, IngestError};
pub use validate::{IngestLimits, validate_facts, validate_report};

use optralis_proto::agent::{RejectedReport, Report};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A batch as received: each report is kept raw so it can fail on its own.
#[derive(Debug, Deserialize)]
pub struct RawBatch<'a> {
    #[serde(default)]
    pub sent_at_ms: Option<i64>,
    #[serde(borrow)]
    pub reports: Vec<&'a RawValue>,
    /// The agent's version and update status, read apart: a status this server does not
    /// understand must not refuse the reports.
    #[serde(default, borrow)]
    pub agent: Option<&'a RawValue>,
}

/// Skew under which the agent's clock is trusted as is.
const SKEW_TOLERANCE_MS: i64 = 2_000;

/// The reports of a batch that passed, and those that did not, with the field to blame.
#[derive(Debug, Default)]
pub struct Checked {
    pub valid: Vec<Report>,
    pub rejected: Vec<RejectedReport>,
}

/// Parses and validates every report of `batch`. Timestamps are moved by the measured skew
/// between the agent's clock and ours, so a machine with a wrong clock loses nothing.
pub fn check_batch(batch: &RawBatch<'_>, now_ms: i64, limits: &IngestLimits) -> Checked {
    let skew = batch
        .sent_at_ms
        .map(|sent| now_ms.saturating_sub(sent))
        .filter(|skew| skew.unsigned_abs() > SKEW_TOLERANCE_MS as u64)
        .unwrap_or(0);
    let mut out = Checked::default();
    let mut seen = std::collections::HashSet::new();
    for (index, raw) in batch.reports.iter().enumerate() {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let mut report: Report = match serde_path_to_error::deserialize(&mut de) {
            Ok(r) => r,
            Err(e) => {
                let path = e.path().to_string();
                out.rejected.push(RejectedReport {
                    index,
                    seq: seq_of(raw),
                    field: field_path(index, &path),
                    message: e.into_inner().to_string(),
                });
                continue;
            }
        };
        report.ts_ms = report.ts_ms.saturating_add(skew);
        if let Some(batch) = &mut report.events {
            for e in &mut batch.events {
                e.ts_ms = e.ts_ms.saturating_add(skew);
                e.last_ts_ms = e.last_ts_ms.saturating_add(skew);
                // Log texts are whatever a local program wrote: cleaned, never a reason to
                // refuse the report that carries them.
                e.clean();
            }
        }
        let checked = validate_report(&report, now_ms, limits).and_then(|()| {
            if seen.insert(report.seq) {
                Ok(())
            } else {
                Err(validate::FieldError::new(
                    "seq",
                    "appears twice in the batch",
                ))
            }
        });
        match checked {
            Ok(()) => out.valid.push(report),
            Err(e) => out.rejected.push(RejectedReport {
                index,
                seq: Some(report.seq),
                field: field_path(index, &e.field),
                message: e.message,
            }),
        }
    }
    out
}

fn field_path(index: usize, path: &str) -> String {
    if path.is_empty() || path == "." {
        format!("reports[{index}]")
    } else if path.starts_with('[') {
        format!("reports[{index}]{path}")
    } else {
        format!("reports[{index}].{path}")
    }
}

/// The sequence number of a report that failed to parse, when it has a readable one.
fn seq_of(raw: &RawValue) -> Option<u64> {
    #[derive(Deserialize)]
    struct Seq {
        seq: u64,
    }
    serde_json::from_str::<Seq>(raw.get()).ok().map(|s| s.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_name_the_report() {
        assert_eq!(field_path(2, "cpu.percent"), "reports[2].cpu.percent");
        assert_eq!(field_path(0, "."), "reports[0]");
        assert_eq!(
            field_path(1, "disks[0].device"),
            "reports[1].disks[0].device"
        );
    }
}
