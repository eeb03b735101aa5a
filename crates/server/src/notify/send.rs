//! Sending one notification to one channel: HTTP POSTs with ureq (rustls, aws-lc-rs) on the
//! blocking pool, email with lettre over SMTP. Each failure says whether a retry may help.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncTransport, Message, Tokio1Executor};
use optralis_proto::alerts::Notification;
use sha2::Sha256;
use ureq::tls::{TlsConfig, TlsProvider};

use super::config::{ChannelConfig, EmailConfig, SmtpTls};
use super::render;

/// Longest one delivery attempt may take.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Header carrying the HMAC-SHA256 of the body, for the generic webhook.
pub const SIGNATURE_HEADER: &str = "X-Optralis-Signature";
/// Header carrying the delivery's id: a receiver that sees one twice (a retry after a lost
/// answer) can drop the copy.
pub const DELIVERY_HEADER: &str = "X-Optralis-Delivery";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again: the receiver is down, busy or rate limiting (`after` is its
    /// Retry-After).
    #[error("{message}")]
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// Retrying the same will fail the same way (a deleted webhook, a refused address).
    #[error("{0}")]
    Permanent(String),
}

/// The HTTP client, built once.
#[derive(Clone)]
pub struct Sender {
    http: ureq::Agent,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    pub fn new() -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(provider)
            .build();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("optralis/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        Self {
            http: config.into(),
        }
    }

    /// Delivers `n` through `channel`; `delivery` is the id receivers may deduplicate on.
    pub async fn send(
        &self,
        channel: &ChannelConfig,
        n: &Notification,
        delivery: i64,
    ) -> Result<(), SendError> {
        let (url, body, signature) = match channel {
            ChannelConfig::Email(e) => return send_email(e, n).await,
            ChannelConfig::Webhook { url, secret } => {
                let body =
                    serde_json::to_vec(n).map_err(|e| SendError::Permanent(e.to_string()))?;
                let signature = sign(secret, &body);
                (url, body, Some(signature))
            }
            ChannelConfig::Slack { url } => (url, to_vec(&render::slack(n))?, None),
            ChannelConfig::Discord { url } => (url, to_vec(&render::discord(n))?, None),
            ChannelConfig::Teams { url } => (url, to_vec(&render::teams(n))?, None),
        };
        let http = self.http.clone();
        let url = url.clone();
        tokio::task::spawn_blocking(move || post(&http, &url, &body, signature, delivery))
            .await
            .map_err(|e| SendError::Retry {
                message: format!("sending task failed: {e}"),
                after: None,
            })?
    }
}

fn to_vec(v: &serde_json::Value) -> Result<Vec<u8>, SendError> {
    serde_json::to_vec(v).map_err(|e| SendError::Permanent(e.to_string()))
}

/// `sha256=<hex HMAC-SHA256 of body under secret>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn post(
    http: &ureq::Agent,
    url: &str,
    body: &[u8],
    signature: Option<String>,
    delivery: i64,
) -> Result<(), SendError> {
    let mut req = http
        .post(url)
        .header("Content-Type", "application/json")
        .header(DELIVERY_HEADER, delivery.to_string());
    if let Some(s) = signature {
        req = req.header(SIGNATURE_HEADER, s);
    }
    let mut resp = req.send(body).map_err(|e| SendError::Retry {
        message: format!("cannot reach {}: {e}", host_of(url)),
        after: None,
    })?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = resp
        .body_mut()
        .with_config()
        .limit(2048)
        .read_to_string()
        .unwrap_or_default();
    let message = format!(
        "{} answered {status}{}",
        host_of(url),
        if text.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", text.trim().chars().take(300).collect::<String>())
        }
    );
    match status {
        408 | 425 | 429 | 500..=599 => Err(SendError::Retry {
            message,
            after: retry_after,
        }),
        _ => Err(SendError::Permanent(message)),
    }
}

/// The host only: webhook paths are credentials and must not reach logs or the API.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the URL (`user:token@host`) are secrets too.
    authority.rsplit('@').next().unwrap_or("").to_owned()
}

async fn send_email(e: &EmailConfig, n: &Notification) -> Result<(), SendError> {
    let permanent =
        |what: &str, err: &dyn std::fmt::Display| SendError::Permanent(format!("{what}: {err}"));
    let from: Mailbox = e.from.parse().map_err(|err| permanent("from", &err))?;
    let (subject, body) = render::email(n);
    let mut builder = Message::builder().from(from).subject(subject);
    for to in &e.to {
        builder = builder.to(to.parse().map_err(|err| permanent("to", &err))?);
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|err| permanent("message", &err))?;
    let tls_params = || {
        TlsParameters::builder(e.host.clone())
            .dangerous_accept_invalid_certs(e.accept_invalid_certs)
            .dangerous_accept_invalid_hostnames(e.accept_invalid_certs)
            .build_rustls()
            .map_err(|err| permanent("TLS", &err))
    };
    let tls = match e.tls {
        SmtpTls::Starttls => Tls::Required(tls_params()?),
        SmtpTls::Tls => Tls::Wrapper(tls_params()?),
        SmtpTls::None => Tls::None,
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(e.host.clone())
        .port(e.port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&e.username, &e.password) {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    match transport.build().send(message).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_permanent() => Err(SendError::Permanent(format!(
            "{} refused the message: {err}",
            e.host
        ))),
        Err(err) => Err(SendError::Retry {
            message: format!("{}:{}: {err}", e.host, e.port),
            after: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hosts_hide_paths() {
        assert_eq!(
            host_of("https://hooks.slack.com/services/T/B/secret"),
            "hooks.slack.com"
        );
        assert_eq!(
            host_of("https://user:token@h.example:8443/x"),
            "h.example:8443"
        );
    }
}
