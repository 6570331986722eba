//! [`EmailChannel`]: a delivery sent as a plain-text UTF-8 email through an SMTP relay, with `lettre`.
//!
//! Each delivery opens its own connection (plaintext, STARTTLS or implicit TLS, with rustls), says EHLO with the
//! sender's domain, authenticates when credentials are configured, sends one message and closes. The message
//! carries a `Message-ID` derived from the delivery id alone ([`message_id_for`]), the same on every attempt, so a
//! recipient's mail system and its reader see a retried message as the one they already have;
//! `Auto-Submitted: auto-generated` (RFC 3834, so that vacation responders stay silent); and the occurrence key
//! in [`OCCURRENCE_HEADER`], for tracing a message back to the reminder that sent it.
//!
//! What the relay's answer means: a 4xx reply, a refused or dropped connection, a timeout or a TLS failure is
//! transient; a 5xx reply, an address that is not one, or a server that cannot do what the configuration asks
//! (STARTTLS, an authentication mechanism) is permanent. Nothing the server says can make this module panic.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::address::Address;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{header, Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use tracing::{debug, warn};

use crate::channel::{Channel, ChannelKind, Delivery, DeliveryError, Receipt};
use crate::channels::{error_chain, excerpt, SecretText};

/// The header that carries the reminder's occurrence key.
pub const OCCURRENCE_HEADER: &str = "X-Taskledger-Occurrence";
/// Present (`true`) on a delivery whose send may have happened before (`Delivery::redelivery`).
pub const REDELIVERY_HEADER: &str = "X-Taskledger-Redelivery";

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plaintext, for a relay on the same host or in the same private network (port 25), and for tests.
    None,
    /// Plaintext, then STARTTLS, which must succeed before anything else is said (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// The email channel's configuration.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// The relay's host name (also the name its TLS certificate must carry).
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// `None` for a relay that needs no authentication.
    pub credentials: Option<SmtpCredentials>,
    /// The sender, with its display name: `Taskledger <nhacviec@skhcn.bacgiang.gov.vn>`. Its domain also names
    /// the client in EHLO and ends every `Message-ID`.
    pub from: String,
    /// The longest one delivery may take, from connecting to the relay's last reply: 30 seconds.
    pub timeout: Duration,
}

/// A user name and password for SMTP AUTH (PLAIN or LOGIN, as the relay offers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub username: String,
    pub password: SecretText,
}

/// Sends deliveries by email.
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

/// Why an email configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailConfigError {
    #[error("email sender {from:?} is not an address such as `Taskledger <nhacviec@example.gov.vn>`: {reason}")]
    InvalidFrom { from: String, reason: String },
    #[error("email relay host {host:?} cannot be used for TLS: {reason}")]
    Tls { host: String, reason: String },
}

impl EmailConfig {
    /// A configuration for a relay that takes plaintext without authentication, as a local relay or a test server
    /// does, with the default timeout.
    pub fn plaintext(host: impl Into<String>, port: u16, from: impl Into<String>) -> EmailConfig {
        EmailConfig {
            host: host.into(),
            port,
            tls: SmtpTls::None,
            credentials: None,
            from: from.into(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl EmailChannel {
    /// Checks the sender address and prepares the transport; no connection is opened until a delivery.
    pub fn new(config: EmailConfig) -> Result<EmailChannel, EmailConfigError> {
        let from: Mailbox = config.from.parse().map_err(|error: lettre::address::AddressError| {
            EmailConfigError::InvalidFrom { from: config.from.clone(), reason: error.to_string() }
        })?;
        let tls_parameters = || {
            TlsParameters::new_rustls(config.host.clone())
                .map_err(|error| EmailConfigError::Tls { host: config.host.clone(), reason: error_chain(&error) })
        };
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout))
            .hello_name(ClientId::Domain(from.email.domain().to_owned()));
        if let Some(credentials) = &config.credentials {
            builder = builder
                .credentials(Credentials::new(credentials.username.clone(), credentials.password.expose().to_owned()));
        }
        Ok(EmailChannel { transport: builder.build(), from, timeout: config.timeout })
    }

    fn email_of(&self, delivery: &Delivery) -> Result<lettre::Message, DeliveryError> {
        let to = recipient_mailbox(delivery)?;
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(delivery.message.subject.clone())
            .message_id(Some(message_id_for(&delivery.delivery_id, self.from.email.domain())))
            .header(AutoSubmitted)
            .header(OccurrenceKey(delivery.reminder.occurrence_key.clone()));
        if delivery.redelivery {
            builder = builder.header(Redelivery);
        }
        builder
            .singlepart(SinglePart::plain(delivery.message.body.clone()))
            .map_err(|error| DeliveryError::Permanent(format!("the email cannot be built: {error}")))
    }
}

#[async_trait]
impl Channel for EmailChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    #[tracing::instrument(skip_all, fields(delivery_id = %delivery.delivery_id, attempt = delivery.attempt))]
    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let email = self.email_of(delivery)?;
        let outcome = match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(Ok(response)) => {
                let text: Vec<&str> = response.message().collect();
                Ok(Receipt { detail: format!("SMTP {}: {}", response.code(), excerpt(&text.join(" "), 200)) })
            }
            Ok(Err(error)) => Err(classify_smtp_error(&error)),
            Err(_elapsed) => Err(DeliveryError::Transient(format!(
                "the relay did not finish within {} ms",
                self.timeout.as_millis()
            ))),
        };
        match &outcome {
            Ok(receipt) => debug!(detail = %receipt.detail, "email delivered"),
            Err(error) => warn!(%error, "email delivery failed"),
        }
        outcome
    }
}

/// `<{32 hex digits of SHA-256(delivery id)}@{domain}>`: the same for every attempt of a delivery, and different
/// for different deliveries.
pub fn message_id_for(delivery_id: &str, domain: &str) -> String {
    let digest = Sha256::digest(delivery_id.as_bytes());
    let hex = hex::encode(digest);
    format!("<{}@{domain}>", &hex[..32])
}

/// The delivery's address as a mailbox: a bare address gets the recipient's name as display name; an address
/// that already has one (`Tên <a@b.vn>`) keeps it.
fn recipient_mailbox(delivery: &Delivery) -> Result<Mailbox, DeliveryError> {
    let address = delivery.address.trim();
    if let Ok(bare) = address.parse::<Address>() {
        let name = delivery.recipient.name.trim();
        return Ok(Mailbox::new((!name.is_empty()).then(|| name.to_owned()), bare));
    }
    address
        .parse::<Mailbox>()
        .map_err(|error| DeliveryError::Permanent(format!("{address:?} is not an email address: {error}")))
}

/// What an SMTP failure means for a delivery.
fn classify_smtp_error(error: &lettre::transport::smtp::Error) -> DeliveryError {
    let detail = error_chain(error);
    if error.is_permanent() {
        DeliveryError::Permanent(detail)
    } else if error.is_transient() || error.is_timeout() || error.is_tls() || error.is_response() {
        DeliveryError::Transient(detail)
    } else if error.is_client() {
        // The relay cannot do what the configuration asks (STARTTLS, an authentication mechanism), or the message
        // is one no relay takes: trying again changes nothing until the configuration does.
        DeliveryError::Permanent(detail)
    } else {
        // Connection refused, reset or dropped, and any other failure of the network.
        DeliveryError::Transient(detail)
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834).
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if text.trim().eq_ignore_ascii_case("auto-generated") {
            Ok(AutoSubmitted)
        } else {
            Err(format!("expected auto-generated, got {text:?}").into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// [`OCCURRENCE_HEADER`]: the reminder's occurrence key.
#[derive(Debug, Clone)]
struct OccurrenceKey(String);

impl header::Header for OccurrenceKey {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(OCCURRENCE_HEADER)
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(OccurrenceKey(text.trim().to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// [`REDELIVERY_HEADER`]: `true`.
#[derive(Debug, Clone, Copy)]
struct Redelivery;

impl header::Header for Redelivery {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(REDELIVERY_HEADER)
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if text.trim().eq_ignore_ascii_case("true") {
            Ok(Redelivery)
        } else {
            Err(format!("expected true, got {text:?}").into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "true".to_owned())
    }
}

impl fmt::Debug for EmailChannel {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("EmailChannel").field("from", &self.from).field("timeout", &self.timeout).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_id_depends_on_the_delivery_id_only() {
        let first = message_id_for("dlv-1", "skhcn.bacgiang.gov.vn");
        assert_eq!(first, message_id_for("dlv-1", "skhcn.bacgiang.gov.vn"));
        assert_ne!(first, message_id_for("dlv-2", "skhcn.bacgiang.gov.vn"));
        // SHA-256("dlv-1") starts with these 32 hex digits.
        let expected_hex = &hex::encode(Sha256::digest(b"dlv-1"))[..32];
        assert_eq!(first, format!("<{expected_hex}@skhcn.bacgiang.gov.vn>"));
        assert_eq!(first.len(), 1 + 32 + 1 + "skhcn.bacgiang.gov.vn".len() + 1);
    }

    #[test]
    fn a_sender_must_be_an_address() {
        let refused = EmailChannel::new(EmailConfig::plaintext("127.0.0.1", 25, "not an address"));
        assert!(matches!(refused, Err(EmailConfigError::InvalidFrom { .. })), "{refused:?}");
        let accepted =
            EmailChannel::new(EmailConfig::plaintext("127.0.0.1", 25, "Taskledger <nhacviec@skhcn.bacgiang.gov.vn>"));
        assert!(accepted.is_ok());
    }

    #[test]
    fn credentials_never_print() {
        let credentials =
            SmtpCredentials { username: "nhacviec".to_owned(), password: SecretText::new("mật khẩu") };
        let printed = format!("{credentials:?}");
        assert!(!printed.contains("mật khẩu"), "{printed}");
        assert!(printed.contains("nhacviec"), "{printed}");
    }
}
