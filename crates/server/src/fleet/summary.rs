//! The fleet summary: counts by status and the machines in the worst shape.

use optralis_proto::api::{FleetSummary, Machine, MachineBrief, MachineStatus};

/// Decommissioned machines are counted apart and never listed among the worst.
pub fn summarize(machines: &[Machine]) -> FleetSummary {
    let mut s = FleetSummary {
        total: machines.len(),
        online: 0,
        warning: 0,
        critical: 0,
        offline: 0,
        decommissioned: 0,
        worst: Vec::new(),
    };
    let mut active: Vec<&Machine> = Vec::new();
    for m in machines {
        if m.decommissioned {
            s.decommissioned += 1;
            continue;
        }
        match m.status {
            MachineStatus::Online => s.online += 1,
            MachineStatus::Warning => s.warning += 1,
            MachineStatus::Critical => s.critical += 1,
            MachineStatus::Offline => s.offline += 1,
        }
        active.push(m);
    }
    active.sort_by(|a, b| {
        a.health
            .score
            .cmp(&b.health.score)
            .then_with(|| a.hostname.cmp(&b.hostname))
    });
    s.worst = active
        .into_iter()
        .filter(|m| m.health.score < 100)
        .take(10)
        .map(|m| MachineBrief {
            id: m.id.clone(),
            name: m.display_name.clone().unwrap_or_else(|| m.hostname.clone()),
            status: m.status,
            health: m.health.clone(),
        })
        .collect();
    s
}
