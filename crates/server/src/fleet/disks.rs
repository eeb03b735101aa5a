//! A disk's verdict as the server keeps it: the shared rules on the reading, reasons for
//! counters that grew since the previous reading, acknowledgements, and the figures its
//! history keeps. No IO: the store reads and writes what these decide.

use optralis_proto::smart::{DiskSample, SmartDevice, Verdict, rising_reasons};

/// The verdict of a reading and its reasons, with a reason for each failure counter that grew
/// since `previous` (history only the server has; it never changes the verdict). The agent's
/// own verdict is never trusted.
pub fn judge(device: &SmartDevice, previous: Option<&SmartDevice>) -> (Verdict, Vec<String>) {
    let (verdict, mut reasons) = device.verdict();
    if let Some(before) = previous {
        reasons.extend(rising_reasons(before, device));
    }
    (verdict, reasons)
}

/// Whether an acknowledgement of `acked` reasons still covers a disk's current state.
pub fn acknowledgement_holds(
    verdict: Verdict,
    reasons: &[String],
    acked: Option<&[String]>,
) -> bool {
    verdict == Verdict::Warning && acked.is_some_and(|a| reasons.iter().all(|r| a.contains(r)))
}

/// The verdict the health score and alerts count: an acknowledged warning that has not
/// worsened counts as ok.
pub fn counted(verdict: Verdict, reasons: &[String], acked: Option<&[String]>) -> Verdict {
    if acknowledgement_holds(verdict, reasons, acked) {
        Verdict::Ok
    } else {
        verdict
    }
}

/// The point a reading adds to the disk's history.
pub fn history_point(d: &SmartDevice, ts_ms: i64, verdict: Verdict) -> DiskSample {
    let attr = |id| d.attribute(id).map(|a| a.raw as f64);
    DiskSample {
        ts_ms,
        verdict,
        temperature_c: d.temperature_c.map(f64::from),
        power_on_hours: d.power_on_hours.map(|h| h as f64),
        reallocated: attr(5),
        pending: attr(197),
        uncorrectable: attr(198),
        media_errors: d.nvme.as_ref().map(|n| n.media_errors as f64),
        percentage_used: d.nvme.as_ref().map(|n| f64::from(n.percentage_used)),
        grown_defects: d.scsi.as_ref().map(|s| s.grown_defects as f64),
    }
}
