//! [`WebhookChannel`]: a delivery POSTed as JSON ([`crate::channels::payload::ReminderEvent`]) to an endpoint
//! named in the configuration, signed as the Standard Webhooks specification says, so that any of its libraries
//! verifies it.
//!
//! The signature: headers `webhook-id` (the delivery id, the same on every attempt, the receiver's idempotency
//! key), `webhook-timestamp` (unix seconds at sending) and `webhook-signature`, `v1,` followed by the base64 of
//! HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the endpoint's secret (`whsec_` + base64 of the key).
//! [`verify_signature`] is the receiver's side, pure, used by `crate::testing::webhook` and by anyone who receives
//! these webhooks in Rust.
//!
//! What the answer means: a 2xx is taken; 408, 429, a 5xx, a refused or failed connection and a timeout are
//! transient; any other status (other 4xx, a 3xx, which is never followed since the signature was made for this
//! endpoint) is permanent. Retries are the dispatcher's, on the schedule of [`crate::channels::retry`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use sha2::Sha256;
use time::OffsetDateTime;
use tracing::{debug, warn};

use crate::channel::{Channel, ChannelKind, Delivery, DeliveryError, Receipt};
use crate::channels::payload::ReminderEvent;
use crate::channels::{error_chain, excerpt};

/// The header that carries the delivery id.
pub const WEBHOOK_ID_HEADER: &str = "webhook-id";
/// The header that carries the signing instant, unix seconds.
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header that carries the signatures, space-separated `v1,<base64>`.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "webhook-signature";
/// Present (`true`) on a delivery whose send may have happened before (`Delivery::redelivery`); outside the
/// signature, which covers id, timestamp and body only.
pub const REDELIVERY_HEADER: &str = "taskledger-redelivery";
/// The prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a webhook's timestamp may be from the receiver's clock, either way, in the Standard Webhooks libraries:
/// 5 minutes.
pub const DEFAULT_TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// An endpoint's signing key. Its `Debug` never shows it.
///
/// Invariant: `key` is not empty and `keyed_mac` is HMAC-SHA256 keyed with it, before any input.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
    keyed_mac: Hmac<Sha256>,
}

/// The webhook channel's configuration.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Endpoints by name; a [`Delivery::address`] names one.
    pub endpoints: BTreeMap<String, WebhookEndpoint>,
    /// The longest a request may take, from connecting to the end of the answer: 10 seconds.
    pub timeout: Duration,
    /// The longest the connection may take to open: 5 seconds.
    pub connect_timeout: Duration,
}

/// Where one named endpoint is and how its deliveries are signed.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    /// `http` or `https`.
    pub url: String,
    pub secret: WebhookSecret,
}

/// Sends deliveries to webhook endpoints.
pub struct WebhookChannel {
    client: reqwest::Client,
    endpoints: BTreeMap<String, ParsedEndpoint>,
}

/// The three signature headers of a request, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    pub webhook_id: &'a str,
    pub webhook_timestamp: &'a str,
    pub webhook_signature: &'a str,
}

/// Why a webhook's configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    #[error("webhook secret must be `whsec_` followed by base64, got something else")]
    SecretNotBase64,
    #[error("webhook secret is empty")]
    SecretEmpty,
    #[error("webhook endpoint {endpoint:?} has an invalid url {url:?}: {reason}")]
    InvalidUrl { endpoint: String, url: String, reason: String },
    #[error("webhook client could not be built: {0}")]
    Client(String),
}

/// Why a received webhook's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("webhook-timestamp must be unix seconds, got {0:?}")]
    InvalidTimestamp(String),
    #[error("webhook-timestamp is {seconds} s before now, more than the tolerance")]
    TimestampTooOld { seconds: i64 },
    #[error("webhook-timestamp is {seconds} s after now, more than the tolerance")]
    TimestampInTheFuture { seconds: i64 },
    #[error("no v1 signature in webhook-signature matches the body")]
    NoMatchingSignature,
}

struct ParsedEndpoint {
    url: Url,
    secret: WebhookSecret,
}

impl WebhookSecret {
    /// Reads a secret in its text form, `whsec_` followed by the base64 of the key. Text without the prefix is
    /// read as base64 too, as the Standard Webhooks libraries do.
    pub fn parse(text: &str) -> Result<WebhookSecret, WebhookConfigError> {
        let encoded = text.trim().strip_prefix(SECRET_PREFIX).unwrap_or(text.trim());
        let key = BASE64.decode(encoded).map_err(|_| WebhookConfigError::SecretNotBase64)?;
        WebhookSecret::from_bytes(key)
    }

    /// A secret from its key bytes (24 to 64 random bytes are usual).
    pub fn from_bytes(key: Vec<u8>) -> Result<WebhookSecret, WebhookConfigError> {
        if key.is_empty() {
            return Err(WebhookConfigError::SecretEmpty);
        }
        let keyed_mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| WebhookConfigError::SecretEmpty)?;
        Ok(WebhookSecret { key, keyed_mac })
    }

    /// The text form, `whsec_…`, to hand to the endpoint's owner. It is the secret itself: never log it.
    pub fn expose_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(&self.key))
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.keyed_mac.clone()
    }
}

impl PartialEq for WebhookSecret {
    fn eq(&self, other: &WebhookSecret) -> bool {
        self.key == other.key
    }
}

impl Eq for WebhookSecret {}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("WebhookSecret(***)")
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            endpoints: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl WebhookChannel {
    /// Checks every endpoint's URL and builds the HTTP client. Redirects are not followed.
    pub fn new(config: WebhookConfig) -> Result<WebhookChannel, WebhookConfigError> {
        let mut endpoints = BTreeMap::new();
        for (name, endpoint) in config.endpoints {
            let invalid = |reason: String| WebhookConfigError::InvalidUrl {
                endpoint: name.clone(),
                url: endpoint.url.clone(),
                reason,
            };
            let url = Url::parse(&endpoint.url).map_err(|error| invalid(error.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(invalid("the scheme must be http or https".to_owned()));
            }
            endpoints.insert(name, ParsedEndpoint { url, secret: endpoint.secret });
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("taskledger-notification/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| WebhookConfigError::Client(error.to_string()))?;
        Ok(WebhookChannel { client, endpoints })
    }

    async fn post(&self, endpoint: &ParsedEndpoint, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let body = serde_json::to_vec(&ReminderEvent::from_delivery(delivery))
            .map_err(|error| DeliveryError::Permanent(format!("the reminder does not serialise: {error}")))?;
        let webhook_id = HeaderValue::from_str(&delivery.delivery_id).map_err(|_| {
            DeliveryError::Permanent(format!("delivery id {:?} cannot be a header value", delivery.delivery_id))
        })?;
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = sign(&endpoint.secret, &delivery.delivery_id, timestamp, &body);

        let mut request = self
            .client
            .post(endpoint.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(WEBHOOK_ID_HEADER, webhook_id)
            .header(WEBHOOK_TIMESTAMP_HEADER, timestamp.to_string())
            .header(WEBHOOK_SIGNATURE_HEADER, signature);
        if delivery.redelivery {
            request = request.header(REDELIVERY_HEADER, HeaderValue::from_static("true"));
        }
        let request = request.body(body);
        let mut response = request.send().await.map_err(|error| classify_request_error(&error))?;
        let status = response.status();
        // Read a little of the answer so the connection can be reused and a refusal can say why; the client's
        // timeout bounds the read.
        let mut answer = Vec::new();
        while answer.len() < MAX_ANSWER_BYTES_READ {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(error) if status.is_success() => {
                    debug!(delivery_id = %delivery.delivery_id, %error, "webhook answer body unreadable after success");
                    break;
                }
                Err(error) => return Err(classify_request_error(&error)),
            }
        }
        outcome_of_status(status, &String::from_utf8_lossy(&answer))
    }
}

/// The most of an answer's body that is read.
const MAX_ANSWER_BYTES_READ: usize = 4 * 1024;

#[async_trait]
impl Channel for WebhookChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Webhook
    }

    #[tracing::instrument(skip_all, fields(delivery_id = %delivery.delivery_id, endpoint = %delivery.address, attempt = delivery.attempt))]
    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let Some(endpoint) = self.endpoints.get(&delivery.address) else {
            return Err(DeliveryError::Permanent(format!("no webhook endpoint is named {:?}", delivery.address)));
        };
        let outcome = self.post(endpoint, delivery).await;
        match &outcome {
            Ok(receipt) => debug!(detail = %receipt.detail, "webhook delivered"),
            Err(error) => warn!(%error, "webhook delivery failed"),
        }
        outcome
    }
}

/// The `webhook-signature` value of a body: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
pub fn sign(secret: &WebhookSecret, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    feed_signed_content(&mut mac, webhook_id, timestamp, body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// Checks a received webhook: its timestamp must be within `tolerance` of `now` either way (a replayed old request
/// is refused), and one of the `v1` signatures in `webhook-signature` must match the exact body bytes. Signatures
/// are compared in constant time; other versions (`v1a,…`) are ignored.
pub fn verify_signature(
    secret: &WebhookSecret,
    headers: SignatureHeaders<'_>,
    body: &[u8],
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let timestamp: i64 = headers
        .webhook_timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::InvalidTimestamp(headers.webhook_timestamp.to_owned()))?;
    let tolerance_seconds = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    let age_seconds = now.unix_timestamp().saturating_sub(timestamp);
    if age_seconds > tolerance_seconds {
        return Err(SignatureError::TimestampTooOld { seconds: age_seconds });
    }
    if age_seconds.saturating_neg() > tolerance_seconds {
        return Err(SignatureError::TimestampInTheFuture { seconds: age_seconds.saturating_neg() });
    }
    let mut signed = secret.mac();
    feed_signed_content(&mut signed, headers.webhook_id, timestamp, body);
    let matches = headers
        .webhook_signature
        .split_whitespace()
        .filter_map(|versioned| versioned.strip_prefix("v1,"))
        .filter_map(|encoded| BASE64.decode(encoded).ok())
        .any(|candidate| signed.clone().verify_slice(&candidate).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::NoMatchingSignature)
    }
}

fn feed_signed_content(mac: &mut Hmac<Sha256>, webhook_id: &str, timestamp: i64, body: &[u8]) {
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
}

/// What an HTTP status means for a delivery; `answer` is the start of the response body, for the error's detail.
pub fn outcome_of_status(status: StatusCode, answer: &str) -> Result<Receipt, DeliveryError> {
    let detail = match excerpt(answer, 200) {
        answer if answer.is_empty() => format!("HTTP {}", status.as_u16()),
        answer => format!("HTTP {}: {answer}", status.as_u16()),
    };
    if status.is_success() {
        Ok(Receipt { detail })
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        Err(DeliveryError::Transient(detail))
    } else {
        Err(DeliveryError::Permanent(detail))
    }
}

/// A request that got no status: a builder error (a URL reqwest refuses) is permanent; everything else (refused
/// or failed connections, timeouts, a connection dropped mid-answer) is transient.
fn classify_request_error(error: &reqwest::Error) -> DeliveryError {
    let detail = error_chain(error);
    if error.is_builder() {
        DeliveryError::Permanent(detail)
    } else if error.is_timeout() {
        DeliveryError::Transient(format!("timed out: {detail}"))
    } else if error.is_connect() {
        DeliveryError::Transient(format!("connection failed: {detail}"))
    } else {
        DeliveryError::Transient(detail)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// The example of the Standard Webhooks reference libraries' tests.
    const REFERENCE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const REFERENCE_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const REFERENCE_TIMESTAMP: i64 = 1_614_265_330;
    const REFERENCE_BODY: &str = r#"{"test": 2432232314}"#;
    const REFERENCE_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn reference_secret() -> WebhookSecret {
        WebhookSecret::parse(REFERENCE_SECRET).expect("the reference secret parses")
    }

    fn reference_headers(signature: &str) -> SignatureHeaders<'_> {
        SignatureHeaders { webhook_id: REFERENCE_ID, webhook_timestamp: "1614265330", webhook_signature: signature }
    }

    fn at_reference_time() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(REFERENCE_TIMESTAMP).expect("a valid instant")
    }

    #[test]
    fn signing_matches_the_reference_libraries() {
        assert_eq!(
            sign(&reference_secret(), REFERENCE_ID, REFERENCE_TIMESTAMP, REFERENCE_BODY.as_bytes()),
            REFERENCE_SIGNATURE
        );
    }

    #[test]
    fn the_reference_signature_verifies() {
        let verified = verify_signature(
            &reference_secret(),
            reference_headers(REFERENCE_SIGNATURE),
            REFERENCE_BODY.as_bytes(),
            at_reference_time(),
            DEFAULT_TIMESTAMP_TOLERANCE,
        );
        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn one_matching_signature_among_several_is_enough() {
        let several = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,abc {REFERENCE_SIGNATURE}");
        let verified = verify_signature(
            &reference_secret(),
            reference_headers(&several),
            REFERENCE_BODY.as_bytes(),
            at_reference_time(),
            DEFAULT_TIMESTAMP_TOLERANCE,
        );
        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn a_tampered_body_id_or_secret_is_refused() {
        let secret = reference_secret();
        let now = at_reference_time();
        let tolerance = DEFAULT_TIMESTAMP_TOLERANCE;
        let tampered_body = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify_signature(&secret, reference_headers(REFERENCE_SIGNATURE), tampered_body, now, tolerance),
            Err(SignatureError::NoMatchingSignature)
        );
        let other_id = SignatureHeaders { webhook_id: "msg_other", ..reference_headers(REFERENCE_SIGNATURE) };
        assert_eq!(
            verify_signature(&secret, other_id, REFERENCE_BODY.as_bytes(), now, tolerance),
            Err(SignatureError::NoMatchingSignature)
        );
        let other_secret = WebhookSecret::from_bytes(b"another key".to_vec()).expect("a key");
        assert_eq!(
            verify_signature(
                &other_secret,
                reference_headers(REFERENCE_SIGNATURE),
                REFERENCE_BODY.as_bytes(),
                now,
                tolerance
            ),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            verify_signature(&secret, reference_headers("v1,not base64!"), REFERENCE_BODY.as_bytes(), now, tolerance),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_timestamp_outside_the_tolerance_is_refused_either_way() {
        let secret = reference_secret();
        let body = REFERENCE_BODY.as_bytes();
        let tolerance = Duration::from_secs(300);
        let headers = reference_headers(REFERENCE_SIGNATURE);
        let at = |offset_seconds: i64| at_reference_time() + time::Duration::seconds(offset_seconds);
        assert_eq!(verify_signature(&secret, headers, body, at(300), tolerance), Ok(()));
        assert_eq!(verify_signature(&secret, headers, body, at(-300), tolerance), Ok(()));
        assert_eq!(
            verify_signature(&secret, headers, body, at(301), tolerance),
            Err(SignatureError::TimestampTooOld { seconds: 301 })
        );
        assert_eq!(
            verify_signature(&secret, headers, body, at(-301), tolerance),
            Err(SignatureError::TimestampInTheFuture { seconds: 301 })
        );
        let not_a_number = SignatureHeaders { webhook_timestamp: "2021-02-25", ..headers };
        assert_eq!(
            verify_signature(&secret, not_a_number, body, at(0), tolerance),
            Err(SignatureError::InvalidTimestamp("2021-02-25".to_owned()))
        );
        let far_past = datetime!(1970-01-01 00:00 UTC);
        assert!(verify_signature(&secret, headers, body, far_past, Duration::MAX).is_ok());
    }

    #[test]
    fn secrets_parse_with_or_without_their_prefix_and_never_print() {
        let secret = reference_secret();
        assert_eq!(secret.expose_text(), REFERENCE_SECRET);
        assert_eq!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Ok(secret.clone()));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        assert_eq!(WebhookSecret::parse("whsec_%%%"), Err(WebhookConfigError::SecretNotBase64));
        assert_eq!(WebhookSecret::parse("whsec_"), Err(WebhookConfigError::SecretEmpty));
    }

    #[test]
    fn statuses_are_classified() {
        let transient = |code: u16| {
            matches!(outcome_of_status(StatusCode::from_u16(code).unwrap(), ""), Err(DeliveryError::Transient(_)))
        };
        let permanent = |code: u16| {
            matches!(outcome_of_status(StatusCode::from_u16(code).unwrap(), ""), Err(DeliveryError::Permanent(_)))
        };
        for code in [200, 201, 202, 204, 299] {
            assert_eq!(
                outcome_of_status(StatusCode::from_u16(code).unwrap(), "ok"),
                Ok(Receipt { detail: format!("HTTP {code}: ok") })
            );
        }
        for code in [408, 429, 500, 502, 503, 504, 599] {
            assert!(transient(code), "{code}");
        }
        for code in [301, 302, 400, 401, 403, 404, 410, 413, 422] {
            assert!(permanent(code), "{code}");
        }
    }

    #[test]
    fn an_endpoint_url_must_be_http() {
        let secret = reference_secret();
        let config = |url: &str| WebhookConfig {
            endpoints: BTreeMap::from([(
                "portal".to_owned(),
                WebhookEndpoint { url: url.to_owned(), secret: secret.clone() },
            )]),
            ..WebhookConfig::default()
        };
        assert!(WebhookChannel::new(config("https://portal.example/hooks")).is_ok());
        assert!(matches!(
            WebhookChannel::new(config("ftp://portal.example/hooks")),
            Err(WebhookConfigError::InvalidUrl { endpoint, .. }) if endpoint == "portal"
        ));
        assert!(matches!(WebhookChannel::new(config("not a url")), Err(WebhookConfigError::InvalidUrl { .. })));
    }
}
