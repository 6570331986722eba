//! Signed notes (C2SP `signed-note`): a text ending in a newline, a blank line, then signature lines
//! `— <key name> <base64(4-byte key id || signature)>`, each ending in a newline.
//!
//! [`super`] puts a checkpoint body in the text; this module knows nothing of checkpoints. Keys are in
//! [`super::key`]. Opening is strict and verifies before anything reads the text: the text of a note means nothing
//! until a trusted key's signature over it has been checked.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::key::{is_valid_key_name, SigningKey, VerifierKey};
use super::CheckpointError;

/// The start of every signature line: an em dash (U+2014) and a space.
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// The most signature lines a note may carry; C2SP asks verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;

/// What is wrong with one signature line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureLineProblem {
    #[error("it does not start with an em dash and a space")]
    NoEmDash,
    #[error("it has no space between the key name and the signature")]
    NoSpace,
    #[error("the key name is empty or contains a space or '+'")]
    InvalidKeyName,
    #[error("the signature is not standard base64")]
    InvalidBase64,
    #[error("the signature is shorter than a key id and one byte")]
    TooShort,
}

/// Signs `text` (which must end with a newline and contain no control character other than newline) with `key`:
/// returns the text, a blank line and one signature line.
pub fn sign_note(text: &str, key: &SigningKey) -> Result<String, CheckpointError> {
    check_note_characters(text)?;
    Ok(sign_checked_text(text, key))
}

/// Opens a signed note with `verifier`: checks its structure, finds the signature lines of `verifier`'s key (by
/// name and key id) and verifies each over the text. Returns the text (with its final newline).
///
/// Signature lines of other keys are skipped, as C2SP requires. A note with no signature by `verifier`'s key is
/// refused with [`CheckpointError::UnknownKey`]; one whose signature by that key does not verify, with
/// [`CheckpointError::BadSignature`].
pub fn open_note<'note>(note: &'note str, verifier: &VerifierKey) -> Result<&'note str, CheckpointError> {
    check_note_characters(note)?;
    // The text ends at the last blank line: the newline before it is the text's last character.
    let blank_line = note.rfind("\n\n").ok_or(CheckpointError::NoSignatures)?;
    let text = &note[..=blank_line];
    let signature_block = &note[blank_line + 2..];
    if signature_block.is_empty() {
        return Err(CheckpointError::NoSignatures);
    }
    let first_signature_line_number = text.lines().count() + 2;
    let signature_lines: Vec<&str> = signature_block[..signature_block.len() - 1].split('\n').collect();
    if signature_lines.len() > MAX_SIGNATURES {
        return Err(CheckpointError::TooManySignatures { count: signature_lines.len(), max: MAX_SIGNATURES });
    }
    let mut signers = Vec::new();
    let mut n_verified = 0;
    for (offset, line) in signature_lines.iter().enumerate() {
        let line_number = first_signature_line_number + offset;
        let signature_line = parse_signature_line(line)
            .map_err(|problem| CheckpointError::MalformedSignatureLine { line_number, problem })?;
        if signature_line.key_name != verifier.name() || signature_line.key_id != verifier.key_id() {
            signers.push(format!("{}+{:08x}", signature_line.key_name, signature_line.key_id));
            continue;
        }
        if !verifier.verifies(text.as_bytes(), &signature_line.signature) {
            return Err(CheckpointError::BadSignature { key: verifier.label(), line_number });
        }
        n_verified += 1;
    }
    if n_verified == 0 {
        return Err(CheckpointError::UnknownKey { key: verifier.label(), signers });
    }
    Ok(text)
}

/// Signs a text already known to be valid note text.
pub(super) fn sign_checked_text(text: &str, key: &SigningKey) -> String {
    let mut signature = key.key_id().to_be_bytes().to_vec();
    signature.extend_from_slice(&key.sign_bytes(text.as_bytes()));
    format!("{text}\n{SIGNATURE_LINE_PREFIX}{} {}\n", key.name(), BASE64.encode(signature))
}

/// Checks what C2SP asks of all note bytes: a final newline, and no ASCII control character but newline.
pub(super) fn check_note_characters(text: &str) -> Result<(), CheckpointError> {
    if !text.ends_with('\n') {
        return Err(CheckpointError::MissingFinalNewline);
    }
    match text.split('\n').position(|line| line.chars().any(|character| character < ' ')) {
        Some(index) => Err(CheckpointError::ControlCharacter { line_number: index + 1 }),
        None => Ok(()),
    }
}

struct SignatureLine<'note> {
    key_name: &'note str,
    key_id: u32,
    signature: Vec<u8>,
}

fn parse_signature_line(line: &str) -> Result<SignatureLine<'_>, SignatureLineProblem> {
    let rest = line.strip_prefix(SIGNATURE_LINE_PREFIX).ok_or(SignatureLineProblem::NoEmDash)?;
    let (key_name, signature_base64) = rest.split_once(' ').ok_or(SignatureLineProblem::NoSpace)?;
    if !is_valid_key_name(key_name) {
        return Err(SignatureLineProblem::InvalidKeyName);
    }
    let decoded = BASE64.decode(signature_base64).map_err(|_| SignatureLineProblem::InvalidBase64)?;
    if decoded.len() < 5 {
        return Err(SignatureLineProblem::TooShort);
    }
    let (key_id, signature) = decoded.split_at(4);
    Ok(SignatureLine {
        key_name,
        key_id: u32::from_be_bytes([key_id[0], key_id[1], key_id[2], key_id[3]]),
        signature: signature.to_vec(),
    })
}
