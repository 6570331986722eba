//! Ed25519 note keys and their text forms, as C2SP signed-note and Go's `golang.org/x/mod/sumdb/note` write them.
//!
//! A key has a name (the log's origin, by convention) and a 4-byte key id,
//! `SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]`, which together pick it out of a note's signature lines.
//! Verifier keys are published (`<name>+<key id hex>+<base64(0x01 || public key)>`); signing keys are secrets
//! (`PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || 32-byte seed)>`) and never print through `Debug`.
//! The note format that uses them is in [`super::note`].

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 in signed notes.
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;

/// A key that signs notes: a valid key name, the key id and the Ed25519 secret.
///
/// `Debug` shows the name and key id only; [`SigningKey::to_text`] is the one way to get the secret out.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key_id: u32,
    key: ed25519_dalek::SigningKey,
}

/// A key that verifies notes: a valid key name, the key id and an Ed25519 public key that is canonically encoded
/// and not of small order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key: ed25519_dalek::VerifyingKey,
}

/// An error from making a key or reading one's text form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key name {name:?} is empty or contains a space or '+'")]
    InvalidName { name: String },
    #[error("a signing key's text starts with \"PRIVATE+KEY+\"")]
    NotASigningKey,
    #[error("key text is not <name>+<key id>+<base64 key>")]
    Malformed,
    #[error("key id {text:?} is not 8 lowercase hex digits")]
    InvalidKeyId { text: String },
    #[error("key material is not standard base64")]
    InvalidBase64,
    #[error("signature type 0x{signature_type:02x} is not ed25519 (0x01)")]
    UnsupportedSignatureType { signature_type: u8 },
    #[error("an ed25519 key has 32 bytes, not {actual}")]
    KeyLength { actual: usize },
    #[error("not a usable ed25519 public key (not a curve point, not canonical, or of small order)")]
    InvalidPublicKey,
    #[error("key id {stated} in the text does not match {computed} computed from the name and key")]
    KeyIdMismatch { stated: String, computed: String },
}

impl SigningKey {
    /// A new key named `name`, from 32 bytes of `rng` (pass `rand::rngs::OsRng` in production).
    pub fn generate(name: &str, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(name, seed)
    }

    /// The key named `name` whose Ed25519 secret is the 32-byte `seed` (RFC 8032's private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        check_key_name(name)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let key_id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self { name: name.to_owned(), key_id, key })
    }

    /// Reads `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`, checking that the key id is the key's.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let rest = text.strip_prefix(PRIVATE_KEY_PREFIX).ok_or(KeyError::NotASigningKey)?;
        let (name, stated_key_id, seed) = split_key_text(rest)?;
        let seed: [u8; 32] = seed.try_into().map_err(|seed: Vec<u8>| KeyError::KeyLength { actual: seed.len() })?;
        let key = Self::from_seed(name, seed)?;
        check_key_id(stated_key_id, key.key_id)?;
        Ok(key)
    }

    /// The text form, `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`. It holds the secret.
    pub fn to_text(&self) -> String {
        let mut material = vec![ED25519_SIGNATURE_TYPE];
        material.extend_from_slice(self.key.as_bytes());
        format!("{PRIVATE_KEY_PREFIX}{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(material))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), big-endian.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier key, to publish.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey { name: self.name.clone(), key_id: self.key_id, key: self.key.verifying_key() }
    }

    /// The Ed25519 signature of `message` (deterministic, RFC 8032).
    pub(super) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SigningKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl VerifierKey {
    /// Reads `<name>+<key id hex>+<base64(0x01 || public key)>`, checking that the key id is the key's and that
    /// the public key is a canonical encoding of a point not of small order.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let (name, stated_key_id, public_key) = split_key_text(text)?;
        check_key_name(name)?;
        let public_key: [u8; 32] =
            public_key.try_into().map_err(|key: Vec<u8>| KeyError::KeyLength { actual: key.len() })?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public_key).map_err(|_| KeyError::InvalidPublicKey)?;
        if key.is_weak() || key.to_edwards().compress().to_bytes() != public_key {
            return Err(KeyError::InvalidPublicKey);
        }
        let computed_key_id = key_id(name, &public_key);
        check_key_id(stated_key_id, computed_key_id)?;
        Ok(Self { name: name.to_owned(), key_id: computed_key_id, key })
    }

    /// The text form, `<name>+<key id hex>+<base64(0x01 || public key)>`.
    pub fn to_text(&self) -> String {
        let mut material = vec![ED25519_SIGNATURE_TYPE];
        material.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(material))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), big-endian.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// `<name>+<key id hex>`, how errors name the key.
    pub(super) fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.key_id)
    }

    /// Whether `signature` is this key's Ed25519 signature of `message` (strict verification: canonical `S`,
    /// no small-order `R`).
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &signature).is_ok()
    }
}

/// The prefix of a signing key's text form.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Whether `name` may name a key: non-empty, with no Unicode space and no '+'.
pub(super) fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|character| character.is_whitespace() || character == '+')
}

fn check_key_name(name: &str) -> Result<(), KeyError> {
    if !is_valid_key_name(name) {
        return Err(KeyError::InvalidName { name: name.to_owned() });
    }
    Ok(())
}

/// The key id of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian.
fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ED25519_SIGNATURE_TYPE]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Splits `<name>+<key id hex>+<base64(0x01 || key)>` into the name, the stated key id and the key bytes. A name has
/// no '+', so the first two '+' are the separators (base64 may hold more).
fn split_key_text(text: &str) -> Result<(&str, u32, Vec<u8>), KeyError> {
    let (name, rest) = text.split_once('+').ok_or(KeyError::Malformed)?;
    let (key_id_hex, material_base64) = rest.split_once('+').ok_or(KeyError::Malformed)?;
    check_key_name(name)?;
    let key_id = parse_key_id(key_id_hex)?;
    let material = BASE64.decode(material_base64).map_err(|_| KeyError::InvalidBase64)?;
    let (&signature_type, key) = material.split_first().ok_or(KeyError::KeyLength { actual: 0 })?;
    if signature_type != ED25519_SIGNATURE_TYPE {
        return Err(KeyError::UnsupportedSignatureType { signature_type });
    }
    Ok((name, key_id, key.to_vec()))
}

fn parse_key_id(text: &str) -> Result<u32, KeyError> {
    let is_lowercase_hex = text.len() == 8 && text.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    if !is_lowercase_hex {
        return Err(KeyError::InvalidKeyId { text: text.to_owned() });
    }
    u32::from_str_radix(text, 16).map_err(|_| KeyError::InvalidKeyId { text: text.to_owned() })
}

fn check_key_id(stated: u32, computed: u32) -> Result<(), KeyError> {
    if stated != computed {
        return Err(KeyError::KeyIdMismatch { stated: format!("{stated:08x}"), computed: format!("{computed:08x}") });
    }
    Ok(())
}
