//! The channels that carry a rendered [`crate::channel::Delivery`] to its recipient: email over SMTP
//! ([`email::EmailChannel`]), signed webhooks ([`webhook::WebhookChannel`]) and NATS JetStream
//! ([`nats::NatsChannel`]), each an implementation of [`crate::channel::Channel`].
//!
//! Neighbours: [`crate::message`] writes the words a channel carries; [`payload`] is the JSON that webhooks and
//! NATS carry (a published contract); [`retry`] is the schedule the dispatcher follows after a transient failure.
//! The channels keep no state about deliveries: they send, and classify what the far side answered as a
//! [`crate::channel::Receipt`], a transient error or a permanent one. `crate::testing` (feature `testing`) has real
//! SMTP and webhook servers to send to.

use std::fmt;

pub mod email;
pub mod nats;
pub mod payload;
pub mod retry;
pub mod webhook;

/// A secret text (an SMTP password) that never prints: its `Debug` shows `***`. Read it with
/// [`SecretText::expose`] only where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(secret: impl Into<String>) -> SecretText {
        SecretText(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecretText(***)")
    }
}

/// The first `max_chars` characters of a far side's answer, on one line, for an error's detail: enough to
/// diagnose, never a whole page.
fn excerpt(text: &str, max_chars: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max_chars {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(max_chars).collect();
        cut.push('…');
        cut
    }
}

/// An error with its sources, "outer: inner: innermost", since the libraries' own messages often hide the cause
/// (a refused connection, a certificate).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_text_never_prints() {
        let secret = SecretText::new("hunter2");
        assert_eq!(format!("{secret:?}"), "SecretText(***)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn an_excerpt_is_one_short_line() {
        assert_eq!(excerpt("bad\r\n  request", 100), "bad request");
        assert_eq!(excerpt("đường dài", 5), "đường…");
    }
}
