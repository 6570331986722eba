//! Signed checkpoints: the log's tree head (origin, size, root) in the C2SP `tlog-checkpoint` format, signed as a
//! C2SP `signed-note` with an Ed25519 key.
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, standard base64>
//! [extension lines]
//!
//! — <key name> <base64(4-byte key id || 64-byte ed25519 signature)>
//! ```
//!
//! The root is a [`crate::merkle`] root over the event log. [`sign`] makes a note; [`open`] verifies one and only
//! then parses its body, strictly. The note layer ([`sign_note`], [`open_note`]) and the keys ([`SigningKey`],
//! [`VerifierKey`]) are in the submodules. The product adds one extension line of its own, `time <unix seconds>`
//! ([`Checkpoint::with_time`]), optional; all other extension lines are kept as opaque text.
//! `docs/transparency-log.md` is the specification for third parties, with a worked example checked by the tests.

mod key;
mod note;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::merkle::Hash;

pub use key::{KeyError, SigningKey, VerifierKey, ED25519_SIGNATURE_TYPE};
pub use note::{open_note, sign_note, SignatureLineProblem, MAX_SIGNATURES, SIGNATURE_LINE_PREFIX};

/// The start of the product's timestamp extension line, `time <unix seconds>`.
pub const TIME_EXTENSION_PREFIX: &str = "time ";

/// A tree head: the log's origin, its size and its root at that size, and optional extension lines.
///
/// Invariant: [`Checkpoint::body`] is valid checkpoint text — the origin is non-empty, and neither the origin nor any
/// extension line is empty or holds a control character (a newline included). Constructors and [`Checkpoint::parse`]
/// check it, so [`sign`] cannot fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

/// Why a note or a checkpoint is refused, or cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the note does not end with a newline")]
    MissingFinalNewline,
    #[error("line {line_number} contains a control character other than newline")]
    ControlCharacter { line_number: usize },
    #[error("the note has no signature lines after a blank line")]
    NoSignatures,
    #[error("signature line {line_number} is malformed: {problem}")]
    MalformedSignatureLine { line_number: usize, problem: SignatureLineProblem },
    #[error("the note has {count} signature lines, more than the {max} accepted")]
    TooManySignatures { count: usize, max: usize },
    #[error("the note is not signed by key {key} (signed by: {})", .signers.join(", "))]
    UnknownKey { key: String, signers: Vec<String> },
    #[error("the signature of key {key} on line {line_number} does not verify")]
    BadSignature { key: String, line_number: usize },
    #[error("a checkpoint has at least 3 lines (origin, tree size, root hash), and this one has {count}")]
    TooFewLines { count: usize },
    #[error("the checkpoint origin is empty")]
    EmptyOrigin,
    #[error("tree size {line:?} is not a decimal number without leading zeros")]
    InvalidSize { line: String },
    #[error("root hash {line:?} is not standard base64")]
    InvalidRootHash { line: String },
    #[error("root hash has {actual} bytes, not 32")]
    RootHashLength { actual: usize },
    #[error("extension line {line_number} is empty")]
    EmptyExtensionLine { line_number: usize },
}

/// Signs `checkpoint` with `key`: the checkpoint's body, a blank line and one signature line.
pub fn sign(checkpoint: &Checkpoint, key: &SigningKey) -> String {
    note::sign_checked_text(&checkpoint.body(), key)
}

/// Opens a signed checkpoint: verifies the note's signature by `verifier` ([`open_note`]), then parses the body
/// ([`Checkpoint::parse`]).
pub fn open(note: &str, verifier: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
    Checkpoint::parse(open_note(note, verifier)?)
}

impl Checkpoint {
    /// A checkpoint without extension lines. The origin must be non-empty and hold no control character; it
    /// should be a schema-less URL without spaces or '+', and the same as the signing key's name.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_single_line(&origin, 1)?;
        Ok(Self { origin, size, root, extensions: Vec::new() })
    }

    /// The checkpoint with one more extension line, which must be non-empty and hold no control character.
    pub fn with_extension(mut self, line: impl Into<String>) -> Result<Self, CheckpointError> {
        let line = line.into();
        let line_number = 4 + self.extensions.len();
        if line.is_empty() {
            return Err(CheckpointError::EmptyExtensionLine { line_number });
        }
        check_single_line(&line, line_number)?;
        self.extensions.push(line);
        Ok(self)
    }

    /// The checkpoint with the product's timestamp extension line, `time <unix seconds>`: when the log made it,
    /// in whole seconds since 1970-01-01T00:00:00Z, decimal without leading zeros.
    pub fn with_time(mut self, unix_seconds: u64) -> Self {
        self.extensions.push(format!("{TIME_EXTENSION_PREFIX}{unix_seconds}"));
        self
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size: the number of events the root covers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash at [`Checkpoint::size`].
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines, in order, without their newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The value of the first extension line of the form `time <unix seconds>` (decimal without leading zeros),
    /// if there is one.
    pub fn time(&self) -> Option<u64> {
        self.extensions.iter().find_map(|line| parse_decimal(line.strip_prefix(TIME_EXTENSION_PREFIX)?))
    }

    /// The checkpoint text: `<origin>\n<size>\n<base64 root>\n` then each extension line and a newline.
    pub fn body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root));
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses checkpoint text strictly: a final newline; at least 3 lines; a non-empty origin; a tree size in
    /// decimal without leading zeros (`0` alone for the empty tree); a root in canonical standard base64 of exactly
    /// 32 bytes; non-empty extension lines; no control character but newline.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        note::check_note_characters(body)?;
        let lines: Vec<&str> = body[..body.len() - 1].split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { count: lines.len() });
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal(size).ok_or_else(|| CheckpointError::InvalidSize { line: (*size).to_owned() })?;
        let root_bytes =
            BASE64.decode(root).map_err(|_| CheckpointError::InvalidRootHash { line: (*root).to_owned() })?;
        let root: Hash =
            root_bytes.try_into().map_err(|bytes: Vec<u8>| CheckpointError::RootHashLength { actual: bytes.len() })?;
        if let Some(offset) = extensions.iter().position(|line| line.is_empty()) {
            return Err(CheckpointError::EmptyExtensionLine { line_number: 4 + offset });
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|line| (*line).to_owned()).collect(),
        })
    }
}

/// Checks that `line` holds no control character, a newline included, so that it stays one line of the body.
fn check_single_line(line: &str, line_number: usize) -> Result<(), CheckpointError> {
    if line.chars().any(|character| character < ' ') {
        return Err(CheckpointError::ControlCharacter { line_number });
    }
    Ok(())
}

/// A `u64` written in ASCII decimal without sign or leading zeros (`0` alone for zero).
fn parse_decimal(text: &str) -> Option<u64> {
    let is_canonical =
        !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if !is_canonical {
        return None;
    }
    text.parse().ok()
}
