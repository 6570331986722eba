//! [`SmtpReceiver`]: an SMTP server on 127.0.0.1 that keeps every message it accepts, for the email channel's
//! tests and benchmarks.
//!
//! It speaks what a client such as `lettre` needs without TLS (RFC 5321): the greeting, EHLO (advertising
//! 8BITMIME, SMTPUTF8 and AUTH PLAIN) or HELO, AUTH PLAIN (any password is taken; the user name is recorded),
//! MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP and QUIT. Each accepted message is recorded with its
//! envelope, its raw data and its `Message-ID` header. A test can make the next messages meet a fault at a chosen
//! step: a reply of its choosing (a 4xx or 5xx) or a dropped connection.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{wait_for_count, WaitTimedOut};

/// The longest command line taken (RFC 5321 allows 512 octets; AUTH lines can be longer).
const MAX_COMMAND_LINE_BYTES: usize = 4 * 1024;
/// The largest message taken.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
/// The name the server gives itself.
const SERVER_NAME: &str = "taskledger-test-smtp";

/// A running SMTP server. Stops when dropped.
pub struct SmtpReceiver {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: tokio::task::JoinHandle<()>,
}

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedEmail {
    /// The reverse path of MAIL FROM, without its angle brackets.
    pub mail_from: String,
    /// The forward paths of every RCPT TO, without their angle brackets.
    pub rcpt_to: Vec<String>,
    /// The message as the client sent it after DATA, dot-unstuffed, without the final ".".
    pub data: Vec<u8>,
    /// The `Message-ID` header's value, unfolded and trimmed, if the message has one.
    pub message_id: Option<String>,
    /// The user name given with AUTH on this connection, if any.
    pub authenticated_as: Option<String>,
}

/// A step of the conversation where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpStep {
    /// Instead of the greeting, as soon as a client connects.
    Greeting,
    MailFrom,
    RcptTo,
    /// The answer to DATA, before the message is sent.
    Data,
    /// The answer after the message's final ".", when it would be accepted.
    EndOfData,
}

/// What happens at the faulty step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpFaultAction {
    /// This reply instead of the normal one, e.g. 451 or 550.
    Reply { code: u16, text: String },
    /// The server closes the connection without a word.
    DropConnection,
}

/// A fault for the next messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpFault {
    pub step: SmtpStep,
    pub action: SmtpFaultAction,
}

struct Shared {
    state: Mutex<State>,
    n_received: watch::Sender<usize>,
}

#[derive(Default)]
struct State {
    messages: Vec<ReceivedEmail>,
    /// How many times each `Message-ID` was received.
    message_id_counts: HashMap<String, usize>,
    n_duplicates: usize,
    /// Faults still to inject, each once, in order.
    pending_faults: VecDeque<SmtpFault>,
}

impl SmtpFault {
    /// A reply at a step.
    pub fn reply(step: SmtpStep, code: u16, text: &str) -> SmtpFault {
        SmtpFault { step, action: SmtpFaultAction::Reply { code, text: text.to_owned() } }
    }

    /// A connection dropped at a step.
    pub fn drop_connection(step: SmtpStep) -> SmtpFault {
        SmtpFault { step, action: SmtpFaultAction::DropConnection }
    }
}

impl SmtpReceiver {
    /// Listens on 127.0.0.1 on a port the system chooses.
    pub async fn start() -> std::io::Result<SmtpReceiver> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), n_received: watch::Sender::new(0) });
        let accept_task = tokio::spawn(accept_connections(listener, Arc::clone(&shared)));
        Ok(SmtpReceiver { local_addr, shared, accept_task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Makes the next `n_messages` conversations that reach `fault.step` meet the fault there, one each.
    pub fn fail_next(&self, n_messages: usize, fault: SmtpFault) {
        let mut state = self.shared.lock();
        state.pending_faults.extend(std::iter::repeat_n(fault, n_messages));
    }

    /// Every message accepted so far, in order of acceptance.
    pub fn messages(&self) -> Vec<ReceivedEmail> {
        self.shared.lock().messages.clone()
    }

    /// Messages accepted with a `Message-ID` seen before.
    pub fn n_duplicates(&self) -> usize {
        self.shared.lock().n_duplicates
    }

    /// Waits until `expected` messages have been accepted in all, then returns them all.
    pub async fn wait_for_messages(
        &self,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedEmail>, WaitTimedOut> {
        wait_for_count(&self.shared.n_received, expected, timeout).await?;
        Ok(self.messages())
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test thread that panicked while holding the lock leaves the state as it was; keep serving it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The fault to inject at `step` now, if the next pending one is for that step.
    fn take_fault(&self, step: SmtpStep) -> Option<SmtpFaultAction> {
        let mut state = self.lock();
        if state.pending_faults.front().is_some_and(|fault| fault.step == step) {
            state.pending_faults.pop_front().map(|fault| fault.action)
        } else {
            None
        }
    }

    fn record(&self, email: ReceivedEmail) -> usize {
        let sequence = {
            let mut state = self.lock();
            if let Some(message_id) = &email.message_id {
                let count = state.message_id_counts.entry(message_id.clone()).or_default();
                *count += 1;
                if *count > 1 {
                    state.n_duplicates += 1;
                }
            }
            state.messages.push(email);
            state.messages.len()
        };
        self.n_received.send_modify(|n_received| *n_received += 1);
        sequence
    }
}

/// Accepts connections until the receiver is dropped; dropping this task's `JoinSet` ends every conversation.
async fn accept_connections(listener: TcpListener, shared: Arc<Shared>) {
    let mut conversations = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    conversations.spawn(converse(stream, Arc::clone(&shared)));
                }
                Err(error) => tracing::debug!(%error, "test smtp server could not accept a connection"),
            },
            Some(_finished) = conversations.join_next(), if !conversations.is_empty() => {}
        }
    }
}

/// How a conversation goes on after a command.
enum Next {
    Continue,
    Close,
}

/// One SMTP conversation. Ends at QUIT, at a dropped connection, at an injected drop, or at a protocol error
/// that leaves nothing to say.
async fn converse(stream: TcpStream, shared: Arc<Shared>) {
    let (read_half, write_half) = stream.into_split();
    let mut conversation = Conversation {
        reader: BufReader::new(read_half),
        writer: write_half,
        shared,
        mail_from: None,
        rcpt_to: Vec::new(),
        authenticated_as: None,
    };
    if let Err(error) = conversation.run().await {
        tracing::debug!(%error, "test smtp conversation ended");
    }
}

struct Conversation {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    shared: Arc<Shared>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    authenticated_as: Option<String>,
}

impl Conversation {
    async fn run(&mut self) -> std::io::Result<()> {
        match self.shared.take_fault(SmtpStep::Greeting) {
            Some(SmtpFaultAction::DropConnection) => return Ok(()),
            Some(SmtpFaultAction::Reply { code, text }) => {
                self.reply(&format!("{code} {text}")).await?;
                return Ok(());
            }
            None => self.reply(&format!("220 {SERVER_NAME} ESMTP ready")).await?,
        }
        while let Some(line) = self.read_command_line().await? {
            if let Next::Close = self.answer(&line).await? {
                break;
            }
        }
        self.writer.shutdown().await
    }

    async fn answer(&mut self, line: &str) -> std::io::Result<Next> {
        let (verb, argument) = match line.split_once(' ') {
            Some((verb, argument)) => (verb.to_ascii_uppercase(), argument.trim()),
            None => (line.to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "EHLO" => {
                self.reset_transaction();
                self.reply(&format!("250-{SERVER_NAME}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN")).await?;
            }
            "HELO" => {
                self.reset_transaction();
                self.reply(&format!("250 {SERVER_NAME}")).await?;
            }
            "AUTH" => self.authenticate(argument).await?,
            "MAIL" => {
                let Some(path) = path_after(argument, "FROM:") else {
                    self.reply("501 5.5.4 syntax: MAIL FROM:<address>").await?;
                    return Ok(Next::Continue);
                };
                if let Some(next) = self.inject(SmtpStep::MailFrom).await? {
                    return Ok(next);
                }
                self.reset_transaction();
                self.mail_from = Some(path);
                self.reply("250 2.1.0 sender ok").await?;
            }
            "RCPT" => {
                let Some(path) = path_after(argument, "TO:") else {
                    self.reply("501 5.5.4 syntax: RCPT TO:<address>").await?;
                    return Ok(Next::Continue);
                };
                if self.mail_from.is_none() {
                    self.reply("503 5.5.1 MAIL first").await?;
                    return Ok(Next::Continue);
                }
                if let Some(next) = self.inject(SmtpStep::RcptTo).await? {
                    return Ok(next);
                }
                self.rcpt_to.push(path);
                self.reply("250 2.1.5 recipient ok").await?;
            }
            "DATA" => return self.receive_data().await,
            "RSET" => {
                self.reset_transaction();
                self.reply("250 2.0.0 reset").await?;
            }
            "NOOP" => self.reply("250 2.0.0 ok").await?,
            "QUIT" => {
                self.reply("221 2.0.0 bye").await?;
                return Ok(Next::Close);
            }
            _ => self.reply("502 5.5.2 command not recognised").await?,
        }
        Ok(Next::Continue)
    }

    /// AUTH PLAIN, with the credentials on the command line or after a `334`. Any password is taken.
    async fn authenticate(&mut self, argument: &str) -> std::io::Result<()> {
        let (mechanism, initial_response) = match argument.split_once(' ') {
            Some((mechanism, response)) => (mechanism.to_ascii_uppercase(), Some(response.trim().to_owned())),
            None => (argument.to_ascii_uppercase(), None),
        };
        if mechanism != "PLAIN" {
            return self.reply("504 5.5.4 only AUTH PLAIN").await;
        }
        let response = match initial_response {
            Some(response) => response,
            None => {
                self.reply("334 ").await?;
                self.read_command_line().await?.unwrap_or_default()
            }
        };
        // PLAIN is "authorisation identity \0 user name \0 password".
        let user_name = BASE64.decode(response.trim()).ok().and_then(|decoded| {
            decoded.split(|byte| *byte == 0).nth(1).map(|name| String::from_utf8_lossy(name).into_owned())
        });
        match user_name {
            Some(user_name) => {
                self.authenticated_as = Some(user_name);
                self.reply("235 2.7.0 authenticated").await
            }
            None => self.reply("501 5.5.2 cannot decode the credentials").await,
        }
    }

    async fn receive_data(&mut self) -> std::io::Result<Next> {
        let Some(mail_from) = self.mail_from.clone() else {
            self.reply("503 5.5.1 MAIL first").await?;
            return Ok(Next::Continue);
        };
        if self.rcpt_to.is_empty() {
            self.reply("503 5.5.1 RCPT first").await?;
            return Ok(Next::Continue);
        }
        if let Some(next) = self.inject(SmtpStep::Data).await? {
            return Ok(next);
        }
        self.reply("354 end data with <CR><LF>.<CR><LF>").await?;
        let Some(data) = self.read_data().await? else {
            return Ok(Next::Close);
        };
        if data.len() > MAX_MESSAGE_BYTES {
            self.reset_transaction();
            self.reply("552 5.3.4 message too big").await?;
            return Ok(Next::Continue);
        }
        if let Some(next) = self.inject(SmtpStep::EndOfData).await? {
            self.reset_transaction();
            return Ok(next);
        }
        let email = ReceivedEmail {
            mail_from,
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            message_id: header_value(&data, "Message-ID"),
            data,
            authenticated_as: self.authenticated_as.clone(),
        };
        self.reset_transaction();
        let sequence = self.shared.record(email);
        self.reply(&format!("250 2.0.0 ok: queued as {sequence}")).await?;
        Ok(Next::Continue)
    }

    /// The message's lines up to the final ".", dot-unstuffed; `None` if the client went away first. Lines past
    /// [`MAX_MESSAGE_BYTES`] are read and dropped, so the answer can still be given.
    async fn read_data(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut data = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            if self.reader.read_until(b'\n', &mut line).await? == 0 {
                return Ok(None);
            }
            if line == b".\r\n" || line == b".\n" {
                return Ok(Some(data));
            }
            let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
            if data.len() <= MAX_MESSAGE_BYTES {
                data.extend_from_slice(unstuffed);
            }
        }
    }

    /// The fault pending for `step`, carried out; `Some` when it replaced the normal answer.
    async fn inject(&mut self, step: SmtpStep) -> std::io::Result<Option<Next>> {
        match self.shared.take_fault(step) {
            None => Ok(None),
            Some(SmtpFaultAction::DropConnection) => Ok(Some(Next::Close)),
            Some(SmtpFaultAction::Reply { code, text }) => {
                self.reply(&format!("{code} {text}")).await?;
                Ok(Some(if code == 421 { Next::Close } else { Next::Continue }))
            }
        }
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    /// The next command line without its line ending; `None` when the client closed the connection. A line
    /// longer than [`MAX_COMMAND_LINE_BYTES`] ends the conversation.
    async fn read_command_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = Vec::new();
        let n_read = (&mut self.reader).take(MAX_COMMAND_LINE_BYTES as u64).read_until(b'\n', &mut line).await?;
        if n_read == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            self.reply("500 5.5.2 line too long").await?;
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
    }

    async fn reply(&mut self, reply: &str) -> std::io::Result<()> {
        self.writer.write_all(reply.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }
}

/// `<a@b.vn>` of `FROM:<a@b.vn> SIZE=123`, without the brackets; the empty reverse path `<>` gives "".
fn path_after(argument: &str, keyword: &str) -> Option<String> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let path = argument[keyword.len()..].split_whitespace().next()?;
    let path = path.strip_prefix('<')?.strip_suffix('>')?;
    Some(path.to_owned())
}

/// The value of the first header named `name` (case-insensitive) in a message's header section, unfolded.
pub fn header_value(message: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let header_section = match text.find("\r\n\r\n").or_else(|| text.find("\n\n")) {
        Some(end) => &text[..end],
        None => &text,
    };
    let mut value: Option<String> = None;
    for line in header_section.lines() {
        let line = line.trim_end_matches('\r');
        let is_continuation = line.starts_with([' ', '\t']);
        match (&mut value, is_continuation) {
            (Some(value), true) => {
                value.push(' ');
                value.push_str(line.trim());
            }
            (Some(_), false) => break,
            (None, false) => {
                if let Some((field, field_value)) = line.split_once(':') {
                    if field.trim().eq_ignore_ascii_case(name) {
                        value = Some(field_value.trim().to_owned());
                    }
                }
            }
            (None, true) => {}
        }
    }
    value.map(|value| value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_their_brackets_and_parameters() {
        assert_eq!(path_after("FROM:<nhacviec@skhcn.vn> BODY=8BITMIME", "FROM:"), Some("nhacviec@skhcn.vn".to_owned()));
        assert_eq!(path_after("from: <a@b.vn>", "FROM:"), Some("a@b.vn".to_owned()));
        assert_eq!(path_after("FROM:<>", "FROM:"), Some(String::new()));
        assert_eq!(path_after("TO:a@b.vn", "TO:"), None);
        assert_eq!(path_after("TO", "TO:"), None);
    }

    #[test]
    fn a_folded_header_is_unfolded() {
        let message = b"Subject: x\r\nMessage-ID:\r\n <abc@skhcn.vn>\r\nTo: a@b.vn\r\n\r\nMessage-ID: <body@x>\r\n";
        assert_eq!(header_value(message, "message-id"), Some("<abc@skhcn.vn>".to_owned()));
        assert_eq!(header_value(message, "Date"), None);
    }
}
