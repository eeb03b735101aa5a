//! System events: the search behind the events routes, a machine's event-source state, and
//! the recent counts that weigh on the health score. Rows are written by the ingest writer
//! (ingest.rs), in the reports' commit.

use optralis_proto::events::{
    EventPage, EventSeverity, EventSourceState, StoredEvent, SystemEvent,
};

use optralis_proto::vocabulary::SourceState;

use super::ingest_rows::severity_rank;
use super::{Result, Store, StoreError, on_reader, row};
use crate::fleet::assess::RecentEvent;
use crate::ids::{MachineId, OrgId};

/// What to search for; every filter is optional but the organisation and the time range.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub machine: Option<MachineId>,
    /// Events at least this severe.
    pub min_severity: EventSeverity,
    /// Exact source (unit, identifier, provider).
    pub source: Option<String>,
    /// Case-insensitive text in the message or the source.
    pub text: Option<String>,
    /// First occurrence within `[from_ms, to_ms)`.
    pub from_ms: i64,
    pub to_ms: i64,
    pub limit: i64,
    pub offset: i64,
}

row! {
    struct EventRow {
        id: i64,
        machine_id: String,
        hostname: String,
        ts_ms: i64,
        last_ts_ms: i64,
        /// The rank `severity_rank` gives.
        severity: i16,
        source: String,
        message: String,
        count: i64,
        boot_id: Option<String>,
        log: Option<String>,
        event_id: Option<i64>,
    }
}

const FILTERS: &str = "e.org_id = $1 AND (CAST($2 AS TEXT) IS NULL OR e.machine_id = $2) \
     AND e.severity >= $3 AND (CAST($4 AS TEXT) IS NULL OR e.source = $4) \
     AND (CAST($5 AS TEXT) IS NULL OR LOWER(e.message) LIKE $5 ESCAPE '\\' \
          OR LOWER(e.source) LIKE $5 ESCAPE '\\') \
     AND e.ts_ms >= $6 AND e.ts_ms < $7";

fn severity_of(rank: i16) -> Result<EventSeverity> {
    match rank {
        1 => Ok(EventSeverity::Warning),
        2 => Ok(EventSeverity::Error),
        3 => Ok(EventSeverity::Critical),
        other => Err(StoreError::Corrupt(format!("event severity {other}"))),
    }
}

/// `%text%` for LIKE, lower-cased, with LIKE's wildcards taken literally.
pub(super) fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// Events of the organisation matching `q`, newest first, with the total count.
    pub async fn search_events(&self, org: &OrgId, q: &EventQuery) -> Result<EventPage> {
        if let Some(m) = &q.machine {
            self.check_machine(org, m).await?;
        }
        let machine = q.machine.as_ref().map(|m| m.as_str().to_owned());
        let pattern = q.text.as_deref().map(like_pattern);
        let min = severity_rank(q.min_severity);
        let list_sql = format!(
            "SELECT e.id, e.machine_id, m.hostname, e.ts_ms, e.last_ts_ms, \
               e.severity, e.source, e.message, e.count, e.boot_id, e.log, e.event_id \
             FROM events e JOIN machines m ON m.id = e.machine_id WHERE {FILTERS} \
             ORDER BY e.ts_ms DESC, e.id DESC LIMIT $8 OFFSET $9"
        );
        let count_sql = format!("SELECT COUNT(*) FROM events e WHERE {FILTERS}");
        let (rows, total) = on_reader!(self, pool => {
            let rows = sqlx::query_as::<_, EventRow>(&list_sql)
                .bind(org.as_str())
                .bind(&machine)
                .bind(min)
                .bind(&q.source)
                .bind(&pattern)
                .bind(q.from_ms)
                .bind(q.to_ms)
                .bind(q.limit)
                .bind(q.offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(&count_sql)
                .bind(org.as_str())
                .bind(&machine)
                .bind(min)
                .bind(&q.source)
                .bind(&pattern)
                .bind(q.from_ms)
                .bind(q.to_ms)
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((rows, total))
        })?;
        let events = rows
            .into_iter()
            .map(|r| {
                Ok(StoredEvent {
                    id: r.id,
                    machine_id: r.machine_id,
                    hostname: r.hostname,
                    event: SystemEvent {
                        ts_ms: r.ts_ms,
                        last_ts_ms: r.last_ts_ms,
                        severity: severity_of(r.severity)?,
                        source: r.source,
                        message: r.message,
                        count: u32::try_from(r.count).unwrap_or(u32::MAX),
                        boot_id: r.boot_id,
                        log: r.log,
                        event_id: r.event_id.and_then(|e| u32::try_from(e).ok()),
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(EventPage {
            events,
            total,
            limit: q.limit,
            offset: q.offset,
            source_state: None,
        })
    }

    /// What the machine's agent last said about its event source.
    pub async fn event_source_state(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<EventSourceState> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (Option<String>, Option<String>, i64)>(
                "SELECT events_source, events_unavailable, events_suppressed_total FROM machines \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.as_str())
            .bind(machine.as_str())
            .fetch_optional(pool)
            .await
        })?;
        let (source, reason, suppressed_total) = row.ok_or(StoreError::NotFound)?;
        Ok(EventSourceState {
            state: SourceState::of(source.as_ref(), reason.as_ref()),
            source,
            reason,
            suppressed_total,
        })
    }

    /// Critical and error entries of a machine last seen after `since_ms`.
    pub(super) async fn recent_events(
        &self,
        machine: &str,
        since_ms: i64,
    ) -> Result<Vec<RecentEvent>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (i64, i16, i64)>(
                "SELECT last_ts_ms, severity, count FROM events \
                 WHERE machine_id = $1 AND severity >= 2 AND last_ts_ms > $2",
            )
            .bind(machine)
            .bind(since_ms)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(last_ts_ms, severity, count)| RecentEvent {
                last_ts_ms,
                critical: severity >= 3,
                count: u64::try_from(count).unwrap_or(0),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern("Disk"), "%disk%");
        assert_eq!(like_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
