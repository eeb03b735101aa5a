//! The server's own mail: invitations and password resets sent to the account's owner
//! through the SMTP server the operator configured (`[smtp]` in the configuration file),
//! so a link that takes over an account is never shown to anyone else.

use std::time::Duration;

use serde::Deserialize;

use super::config::{EmailConfig, SmtpTls};
use super::egress::{EgressPolicy, Network};
use super::send::{SendError, send_mail};

/// `[smtp]`: the operator's mail server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub tls: Option<String>,
    pub username: Option<String>,
    /// Or `OPTRALIS_SMTP_PASSWORD`.
    pub password: Option<String>,
    /// The sender, e.g. `Optralis <optralis@example.com>`.
    pub from: String,
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

/// Sends the server's messages. Built only when `[smtp]` and `public_url` are both set
/// (links must point where users reach the dashboard).
#[derive(Debug, Clone)]
pub struct Mailer {
    server: EmailConfig,
    public_url: String,
    /// The operator chose this server: any address it resolves to is allowed.
    policy: EgressPolicy,
}

impl Mailer {
    pub fn new(
        settings: &SmtpSettings,
        password: Option<String>,
        public_url: &str,
    ) -> Result<Self, String> {
        let tls = match settings.tls.as_deref() {
            None | Some("starttls") => SmtpTls::Starttls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(other) => {
                return Err(format!(
                    "smtp.tls {other:?}: expected starttls, tls or none"
                ));
            }
        };
        let port = settings.port.unwrap_or(match tls {
            SmtpTls::Tls => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        });
        settings
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("smtp.from {:?}: {e}", settings.from))?;
        let everywhere = ["0.0.0.0/0", "::/0"]
            .iter()
            .filter_map(|n| n.parse::<Network>().ok())
            .collect();
        Ok(Self {
            server: EmailConfig {
                host: settings.host.clone(),
                port,
                tls,
                username: settings.username.clone(),
                password: password.or_else(|| settings.password.clone()),
                from: settings.from.clone(),
                to: Vec::new(),
                accept_invalid_certs: settings.accept_invalid_certs,
            },
            public_url: public_url.trim_end_matches('/').to_owned(),
            policy: EgressPolicy::allowing(everywhere),
        })
    }

    /// The dashboard's page that sets a password with `token`.
    pub fn set_password_link(&self, token: &str) -> String {
        format!("{}/set-password?token={token}", self.public_url)
    }

    /// The dashboard's address.
    pub fn dashboard(&self) -> &str {
        &self.public_url
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), SendError> {
        let mut server = self.server.clone();
        server.to = vec![to.to_owned()];
        send_mail(
            &self.policy,
            Duration::from_secs(30),
            &server,
            subject,
            body,
        )
        .await
    }
}
