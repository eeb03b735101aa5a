//! Accepting a batch: check it, rescore the machine from its newest report, store both in one
//! commit, then announce and wake the alert engine. The reports handler only translates HTTP
//! around [`Ingest::accept`].

use optralis_proto::agent::IngestResponse;
use optralis_proto::interval::Thresholds;

use super::{IngestLimits, RawBatch, check_batch};
use crate::alerting::Alerting;
use crate::store::{AgentIdentity, Store, StoreError};

/// What accepting needs besides the batch.
pub struct Ingest<'a> {
    pub store: &'a Store,
    pub alerting: &'a Alerting,
    pub limits: &'a IngestLimits,
    pub thresholds: &'a Thresholds,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{got} reports in one batch; at most {max} are accepted")]
    TooManyReports { got: usize, max: usize },
    /// Nothing of the batch was stored; the agent keeps it and sends it again.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Ingest<'_> {
    /// Stores the valid reports of `batch` for `agent` and says exactly which were taken.
    /// The acknowledgement is returned only after the commit.
    pub async fn accept(
        &self,
        agent: &AgentIdentity,
        batch: &RawBatch<'_>,
        client_ip: Option<&str>,
    ) -> Result<IngestResponse, IngestError> {
        if batch.reports.len() > self.limits.max_batch {
            return Err(IngestError::TooManyReports {
                got: batch.reports.len(),
                max: self.limits.max_batch,
            });
        }
        let now = self.store.now_ms();
        let checked = check_batch(batch, now, self.limits);
        // The newest report rescores the machine, written in the same commit as the reports.
        let newest = checked.valid.iter().max_by_key(|r| r.ts_ms);
        let assessment = match newest {
            Some(r) => match self.store.assess(agent, r, &checked.valid, client_ip).await {
                Ok(a) => a,
                // The reports are stored all the same; the next one rescores.
                Err(e) => {
                    tracing::warn!(machine = %agent.machine_id, error = %e, "health assessment failed");
                    None
                }
            },
            None => None,
        };
        let written = self
            .store
            .ingest_assessed(
                agent,
                &checked.valid,
                assessment.as_ref().map(|a| a.write.clone()),
            )
            .await;
        let outcome = match written {
            Ok(o) => o,
            Err(e) => {
                // The assessment was not stored: the next report starts from the database.
                self.store.discard_assessment(agent);
                return Err(e.into());
            }
        };
        if let Some(a) = &assessment {
            self.store.announce(agent, a);
        }
        if outcome.inserted > 0 {
            self.alerting.poke(&agent.org_id);
        }
        tracing::debug!(
            machine = %agent.machine_id,
            inserted = outcome.inserted,
            duplicates = outcome.duplicates,
            rejected = checked.rejected.len(),
            "reports ingested"
        );
        for r in &checked.rejected {
            tracing::warn!(machine = %agent.machine_id, field = %r.field, message = %r.message, "report rejected");
        }
        // 30 s while the machine is degraded (status or score) or shows a spike, else 60 s.
        let next_interval_s = newest.map(|r| {
            let spike = self.thresholds.interval_for(r);
            assessment
                .as_ref()
                .map_or(spike, |a| a.outcome.interval_s().min(spike))
        });
        Ok(IngestResponse {
            accepted: checked.valid.iter().map(|r| r.seq).collect(),
            rejected: checked.rejected,
            next_interval_s,
            server_time_ms: now,
            update: None,
        })
    }
}
