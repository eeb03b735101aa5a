//! Which machines a fleet list shows and in what order: filters by selector, group, status and
//! free text, then one sort key. The API parses the query; this decides.

use std::cmp::Ordering;

use optralis_proto::api::{Machine, MachineStatus};

use super::selector::Selector;

/// What a list keeps; `None` keeps everything.
#[derive(Debug, Default)]
pub struct MachineFilter<'a> {
    pub selector: Option<Selector>,
    /// A group id.
    pub group: Option<&'a str>,
    pub statuses: Option<Vec<MachineStatus>>,
    /// Case-insensitive, in hostname, display name, OS and address.
    pub text: Option<&'a str>,
}

/// The order of a list; ties go by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    /// Worst first.
    Status,
    /// Lowest first.
    Score,
    /// Most recent first.
    LastSeen,
}

impl SortKey {
    /// `name`, `status`, `score` or `last_seen`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "name" => Some(SortKey::Name),
            "status" => Some(SortKey::Status),
            "score" => Some(SortKey::Score),
            "last_seen" => Some(SortKey::LastSeen),
            _ => None,
        }
    }
}

impl MachineFilter<'_> {
    pub fn keeps(&self, m: &Machine) -> bool {
        self.selector.as_ref().is_none_or(|s| s.matches(&m.labels))
            && self.group.is_none_or(|g| m.groups.iter().any(|id| id == g))
            && self.statuses.as_ref().is_none_or(|s| s.contains(&m.status))
            && self.text.is_none_or(|q| text_matches(m, q))
    }
}

/// The machines `filter` keeps, sorted by `key` (reversed when `descending`).
pub fn select(
    machines: Vec<Machine>,
    filter: &MachineFilter<'_>,
    key: SortKey,
    descending: bool,
) -> Vec<Machine> {
    let mut kept: Vec<Machine> = machines.into_iter().filter(|m| filter.keeps(m)).collect();
    kept.sort_by(|a, b| {
        let order = match key {
            SortKey::Name => Ordering::Equal,
            SortKey::Status => b.status.cmp(&a.status),
            SortKey::Score => a.health.score.cmp(&b.health.score),
            SortKey::LastSeen => b.last_seen_ms.cmp(&a.last_seen_ms),
        };
        let order = order.then_with(|| name_of(a).cmp(&name_of(b)));
        if descending { order.reverse() } else { order }
    });
    kept
}

fn name_of(m: &Machine) -> String {
    m.display_name
        .as_deref()
        .unwrap_or(&m.hostname)
        .to_lowercase()
}

fn text_matches(m: &Machine, q: &str) -> bool {
    let q = q.to_lowercase();
    [
        Some(m.hostname.as_str()),
        m.display_name.as_deref(),
        Some(m.facts.os_name.as_str()),
        Some(m.facts.os_version.as_str()),
        m.ip.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|h| h.to_lowercase().contains(&q))
}
