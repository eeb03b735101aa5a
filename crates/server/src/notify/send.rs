//! Sending one notification to one channel: HTTP POSTs with ureq (rustls, aws-lc-rs) on the
//! blocking pool, email with lettre over SMTP. Each failure says whether a retry may help.
//!
//! Every send has one deadline for the whole exchange (a peer that accepts and never answers
//! costs that long at most), goes only where the egress policy allows (egress.rs), and reports
//! a status code or a generic error, never a response body or which ports are open: the
//! outcome is shown to organisation admins, who must not learn the inside of the network.

use std::net::SocketAddr;
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
use super::egress::{EgressError, EgressPolicy, Refused};
use super::render;

/// Longest one delivery attempt may take, from the name lookup to the answer.
pub const DEADLINE: Duration = Duration::from_secs(15);
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

/// The HTTP client, built once, and the rules every send follows.
#[derive(Clone)]
pub struct Sender {
    http: ureq::Agent,
    policy: EgressPolicy,
    deadline: Duration,
}

impl Sender {
    pub fn new(policy: EgressPolicy, deadline: Duration) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(provider)
            .build();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(deadline))
            .http_status_as_error(false)
            .max_redirects(0)
            // A proxy from the environment would be reached instead of the checked address.
            .proxy(None)
            .user_agent(concat!("optralis/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        let resolver = CheckedResolver {
            policy: policy.clone(),
        };
        Self {
            http: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                resolver,
            ),
            policy,
            deadline,
        }
    }

    /// Delivers `n` through `channel`; `delivery` is the id receivers may deduplicate on.
    /// Answers within the deadline whatever the peer does.
    pub async fn send(
        &self,
        channel: &ChannelConfig,
        n: &Notification,
        delivery: i64,
    ) -> Result<(), SendError> {
        match tokio::time::timeout(self.deadline, self.send_unbounded(channel, n, delivery)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SendError::Retry {
                message: format!(
                    "{} did not answer within {} s",
                    destination(channel),
                    self.deadline.as_secs()
                ),
                after: None,
            }),
        }
    }

    async fn send_unbounded(
        &self,
        channel: &ChannelConfig,
        n: &Notification,
        delivery: i64,
    ) -> Result<(), SendError> {
        let (url, body, signature) = match channel {
            ChannelConfig::Email(e) => return send_email(&self.policy, self.deadline, e, n).await,
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
    if has_credentials(url) {
        return Err(SendError::Permanent(CREDENTIALS_REFUSED.into()));
    }
    let resp = req.send(body).map_err(|e| unreachable(host_of(url), &e))?;
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
    // The body is not read: it may be an internal service's answer.
    let message = format!("{} answered {status}", host_of(url));
    match status {
        408 | 425 | 429 | 500..=599 => Err(SendError::Retry {
            message,
            after: retry_after,
        }),
        _ => Err(SendError::Permanent(message)),
    }
}

/// Said when a URL carries `user:password@`: it would go out as Basic authentication.
pub const CREDENTIALS_REFUSED: &str = "the URL carries credentials (user:password@); they are not sent: put them in the path or use the webhook's secret";

/// The URL's authority has a `userinfo@` part.
pub fn has_credentials(url: &str) -> bool {
    authority(url).contains('@')
}

/// The `[userinfo@]host[:port]` part of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

/// A transport failure as admins see it: refused by the policy, too slow, or one generic
/// message (a refused connection and a silent port must look the same).
fn unreachable(host: String, e: &ureq::Error) -> SendError {
    match e {
        ureq::Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<Refused>()) => {
            SendError::Permanent(format!("{host} is not allowed: {io}"))
        }
        ureq::Error::Timeout(_) => SendError::Retry {
            message: format!("{host} did not answer in time"),
            after: None,
        },
        ureq::Error::HostNotFound => SendError::Retry {
            message: format!("{host}: the host name does not resolve"),
            after: None,
        },
        _ => SendError::Retry {
            message: format!("could not deliver to {host}"),
            after: None,
        },
    }
}

/// ureq's name resolution with the egress policy applied: the connection goes to the
/// addresses checked here and nowhere else.
#[derive(Debug)]
struct CheckedResolver {
    policy: EgressPolicy,
}

impl ureq::unversioned::resolver::Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let addrs = ureq::unversioned::resolver::DefaultResolver::default()
            .resolve(uri, config, timeout)?;
        let list: Vec<SocketAddr> = addrs.iter().copied().collect();
        self.policy
            .check(&list)
            .map_err(|refused| ureq::Error::Io(std::io::Error::other(refused)))?;
        Ok(addrs)
    }
}

/// Where a channel sends, as it may be shown: the host, never a URL's path.
fn destination(channel: &ChannelConfig) -> String {
    match channel {
        ChannelConfig::Email(e) => format!("{}:{}", e.host, e.port),
        ChannelConfig::Webhook { url, .. }
        | ChannelConfig::Slack { url }
        | ChannelConfig::Discord { url }
        | ChannelConfig::Teams { url } => host_of(url),
    }
}

/// The host only: webhook paths are credentials and must not reach logs or the API.
fn host_of(url: &str) -> String {
    // Credentials in the URL (`user:token@host`) are secrets too.
    authority(url).rsplit('@').next().unwrap_or("").to_owned()
}

async fn send_email(
    policy: &EgressPolicy,
    deadline: Duration,
    e: &EmailConfig,
    n: &Notification,
) -> Result<(), SendError> {
    let (subject, body) = render::email(n);
    send_mail(policy, deadline, e, &subject, body).await
}

/// Sends a plain-text message to `e.to` through the SMTP server `e` describes.
pub async fn send_mail(
    policy: &EgressPolicy,
    deadline: Duration,
    e: &EmailConfig,
    subject: &str,
    body: String,
) -> Result<(), SendError> {
    let permanent =
        |what: &str, err: &dyn std::fmt::Display| SendError::Permanent(format!("{what}: {err}"));
    let from: Mailbox = e.from.parse().map_err(|err| permanent("from", &err))?;
    let mut builder = Message::builder().from(from).subject(subject);
    for to in &e.to {
        builder = builder.to(to.parse().map_err(|err| permanent("to", &err))?);
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|err| permanent("message", &err))?;
    let server = format!("{}:{}", e.host, e.port);
    // Resolved and checked once; lettre connects to that address, while TLS still checks
    // the certificate against the host name.
    let host = e.host.trim_start_matches('[').trim_end_matches(']');
    let address = match policy.resolve(host, e.port).await {
        Ok(addrs) => addrs[0],
        Err(EgressError::Refused(r)) => {
            return Err(SendError::Permanent(format!(
                "{server} is not allowed: {r}"
            )));
        }
        Err(EgressError::NotFound) => {
            return Err(SendError::Retry {
                message: format!("{server}: the host name does not resolve"),
                after: None,
            });
        }
    };
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
    let mut transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string())
            .port(address.port())
            .tls(tls)
            .timeout(Some(deadline));
    if let (Some(user), Some(password)) = (&e.username, &e.password) {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    // The server's own words stay in the log: they may describe the inside of a network.
    let code = |err: &lettre::transport::smtp::Error| {
        err.status()
            .map_or(String::new(), |c| format!(" (SMTP {c})"))
    };
    match transport.build().send(message).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_permanent() => {
            tracing::warn!(server = %server, error = %err, "the mail server refused a message");
            Err(SendError::Permanent(format!(
                "{server} refused the message{}",
                code(&err)
            )))
        }
        Err(err) => {
            tracing::warn!(server = %server, error = %err, "sending an email failed");
            Err(SendError::Retry {
                message: if err.is_timeout() {
                    format!("{server} did not answer in time")
                } else {
                    format!("could not deliver to {server}{}", code(&err))
                },
                after: None,
            })
        }
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
    fn credentials_in_urls_are_seen() {
        assert!(has_credentials("https://user:pw@h.example/x"));
        assert!(has_credentials("http://token@127.0.0.1:9/"));
        assert!(!has_credentials("https://h.example/a@b"));
        assert!(!has_credentials("https://h.example/x?to=a@b"));
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
