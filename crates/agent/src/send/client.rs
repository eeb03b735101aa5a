//! The HTTP client for `/api/v1/agent/*`: gzip-compressed JSON over HTTPS (rustls with
//! aws-lc-rs) or plain HTTP on a trusted network.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use optralis_proto::agent::{EnrollRequest, EnrollResponse, IngestResponse};
use optralis_proto::api::ErrorBody;
use optralis_proto::release::AgentStatus;
use ureq::tls::{TlsConfig, TlsProvider};

use super::outbox::Queued;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server is unreachable or failed: keep the reports and try again later.
    #[error("server unavailable: {0}")]
    Unavailable(String),
    /// The credentials were refused: enroll again.
    #[error("credentials refused: {0}")]
    Unauthorized(String),
    /// The batch is larger than the server accepts: send fewer at a time.
    #[error("batch too large: {0}")]
    TooLarge(String),
    /// The server refused the request as malformed; retrying the same will not help.
    #[error("request refused ({status}): {message}")]
    Refused { status: u16, message: String },
}

/// Longest a single request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a release download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest response body read.
const MAX_RESPONSE: u64 = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct Client {
    base: String,
    http: ureq::Agent,
}

impl Client {
    pub fn new(server: &str) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(provider)
            .build();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .user_agent(format!("optralis-agent/{}", crate::update::AGENT_VERSION))
            .tls_config(tls)
            .build();
        Self {
            base: server.trim_end_matches('/').to_owned(),
            http: config.into(),
        }
    }

    pub fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, SendError> {
        let body = serde_json::to_vec(req).map_err(|e| SendError::Refused {
            status: 0,
            message: e.to_string(),
        })?;
        let (status, bytes) = self.post("/api/v1/agent/enroll", None, &body)?;
        match status {
            200 => serde_json::from_slice(&bytes)
                .map_err(|e| SendError::Unavailable(format!("unreadable enrollment reply: {e}"))),
            other => Err(classify(other, &bytes)),
        }
    }

    /// Sends queued reports as one batch. The reply says which were committed (and which
    /// were rejected for good); anything else leaves them queued.
    pub fn send_reports(
        &self,
        token: &str,
        reports: &[Queued],
        sent_at_ms: i64,
        agent: Option<&AgentStatus>,
    ) -> Result<IngestResponse, SendError> {
        let body = batch_body(reports, sent_at_ms, agent);
        let (status, bytes) = self.post("/api/v1/agent/reports", Some(token), &body)?;
        match status {
            // 422: some reports were rejected; the reply still lists what was committed.
            200 | 422 => serde_json::from_slice(&bytes)
                .map_err(|e| SendError::Unavailable(format!("unreadable ingest reply: {e}"))),
            other => Err(classify(other, &bytes)),
        }
    }

    /// Downloads `path` (a server path) into `dest`, `size` bytes exactly: what `dest`
    /// already holds is kept and the rest asked for with a range, so a download cut short
    /// resumes; a server sending more than `size` is refused.
    pub fn download(
        &self,
        token: &str,
        path: &str,
        dest: &std::path::Path,
        size: u64,
    ) -> Result<(), SendError> {
        let have = std::fs::metadata(dest).map_or(0, |m| m.len());
        if have > size {
            std::fs::remove_file(dest).map_err(|e| SendError::Unavailable(e.to_string()))?;
            return self.download(token, path, dest, size);
        }
        if have == size {
            return Ok(());
        }
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .config()
            .timeout_global(Some(DOWNLOAD_TIMEOUT))
            .build();
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let mut resp = req
            .call()
            .map_err(|e| SendError::Unavailable(e.to_string()))?;
        let status = resp.status().as_u16();
        let append = match status {
            206 => true,
            200 => false,
            other => {
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_RESPONSE)
                    .read_to_vec()
                    .unwrap_or_default();
                return Err(classify(other, &body));
            }
        };
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(dest)
            .map_err(|e| SendError::Unavailable(format!("{}: {e}", dest.display())))?;
        let left = if append { size - have } else { size };
        // One byte more than expected is enough to know the server sends too much.
        let mut body = resp.body_mut().with_config().limit(left + 1).reader();
        let copied = std::io::copy(&mut body, &mut out)
            .map_err(|e| SendError::Unavailable(format!("download cut short: {e}")))?;
        out.sync_all()
            .map_err(|e| SendError::Unavailable(format!("{}: {e}", dest.display())))?;
        if copied > left {
            let _ = std::fs::remove_file(dest);
            return Err(SendError::Refused {
                status,
                message: format!("the server sent more than the {size} bytes offered"),
            });
        }
        if copied < left {
            return Err(SendError::Unavailable(format!(
                "download cut short at {} of {size} bytes",
                size - left + copied
            )));
        }
        Ok(())
    }

    fn post(
        &self,
        path: &str,
        token: Option<&str>,
        json: &[u8],
    ) -> Result<(u16, Vec<u8>), SendError> {
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::default());
        gz.write_all(json)
            .map_err(|e| SendError::Unavailable(format!("compression failed: {e}")))?;
        let compressed = gz
            .finish()
            .map_err(|e| SendError::Unavailable(format!("compression failed: {e}")))?;
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let mut resp = req
            .send(&compressed[..])
            .map_err(|e| SendError::Unavailable(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(|e| SendError::Unavailable(format!("reading reply: {e}")))?;
        Ok((status, body))
    }
}

/// `{"sent_at_ms":…,"agent":…,"reports":[…]}` from the stored JSON, without re-encoding it.
fn batch_body(reports: &[Queued], sent_at_ms: i64, agent: Option<&AgentStatus>) -> Vec<u8> {
    let len = reports.iter().map(|r| r.json.len() + 1).sum::<usize>() + 256;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(format!("{{\"sent_at_ms\":{sent_at_ms},").as_bytes());
    if let Some(agent) = agent.and_then(|a| serde_json::to_vec(a).ok()) {
        out.extend_from_slice(b"\"agent\":");
        out.extend_from_slice(&agent);
        out.push(b',');
    }
    out.extend_from_slice(b"\"reports\":[");
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&r.json);
    }
    out.extend_from_slice(b"]}");
    out
}

fn classify(status: u16, body: &[u8]) -> SendError {
    let message = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    match status {
        401 | 403 => SendError::Unauthorized(message),
        413 => SendError::TooLarge(message),
        408 | 429 | 500..=599 => SendError::Unavailable(format!("HTTP {status}: {message}")),
        _ => SendError::Refused { status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_body_is_valid_json_around_stored_reports() {
        let q = |seq, json: &str| Queued {
            seq,
            json: json.as_bytes().to_vec(),
        };
        let body = batch_body(&[q(1, r#"{"a":1}"#), q(2, r#"{"b":2}"#)], 42, None);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["sent_at_ms"], 42);
        assert_eq!(v["reports"][1]["b"], 2);
        assert!(v.get("agent").is_none());
        let status = AgentStatus {
            version: "1.2.3".into(),
            platform: None,
            update: None,
        };
        let v: serde_json::Value =
            serde_json::from_slice(&batch_body(&[q(1, "{}")], 1, Some(&status))).unwrap();
        assert_eq!(v["agent"]["version"], "1.2.3");
        let empty: serde_json::Value = serde_json::from_slice(&batch_body(&[], 1, None)).unwrap();
        assert_eq!(empty["reports"].as_array().unwrap().len(), 0);
    }
}
