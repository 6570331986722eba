//! The secret that signs and verifies bearer tokens, and where it comes from.
//!
//! Invariant: a [`TokenKey`] holds at least [`TokenKey::MIN_LEN`] bytes. It is never printed: `Debug` shows
//! `TokenKey(<redacted>)` and there is no `Display`. Tokens are minted and verified in [`crate::token`].
//!
//! Resolution order (see [`TokenKey::resolve`]): the `TASKLEDGER_TOKEN_KEY` environment variable (base64), which
//! every replica of a cluster must share; else the file `<data dir>/token.key`, created on first start, so that
//! `taskledger token --data-dir DIR` and `taskledger serve --data-dir DIR` agree without configuration.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rand::RngCore;

use crate::token::VerifiedTokens;
use crate::AuthError;

/// The environment variable that carries a base64 key shared by every process of a deployment.
pub const TOKEN_KEY_ENV: &str = "TASKLEDGER_TOKEN_KEY";

/// The name of the key file inside the data dir: one line of standard base64.
pub const TOKEN_KEY_FILE_NAME: &str = "token.key";

/// The HMAC-SHA256 secret. Cheap to clone; never printed. Clones share the tokens verified under the key lately
/// (see [`crate::token::verify`]).
#[derive(Clone)]
pub struct TokenKey {
    bytes: Vec<u8>,
    verified: Arc<VerifiedTokens>,
}

/// Standard base64, with or without `=` padding, so that keys made by `openssl rand -base64 32` and by other
/// tools both work.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl TokenKey {
    /// 256 bits: the output size of SHA-256, below which an HMAC key adds no strength (RFC 7518, section 3.2).
    pub const MIN_LEN: usize = 32;

    /// A fresh key of [`TokenKey::MIN_LEN`] bytes from the operating system's random source.
    pub fn generate() -> TokenKey {
        let mut bytes = vec![0_u8; TokenKey::MIN_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TokenKey { bytes, verified: Arc::default() }
    }

    /// Decodes a key written in standard base64 (padding optional, surrounding whitespace ignored).
    pub fn from_base64(encoded: &str) -> Result<TokenKey, AuthError> {
        let bytes = LENIENT_BASE64
            .decode(encoded.trim())
            .map_err(|error| AuthError::Key(format!("not standard base64 ({error})")))?;
        if bytes.len() < TokenKey::MIN_LEN {
            return Err(AuthError::Key(format!(
                "the key is {} bytes; it must be at least {} random bytes (256 bits), e.g. `openssl rand -base64 32`",
                bytes.len(),
                TokenKey::MIN_LEN
            )));
        }
        Ok(TokenKey { bytes, verified: Arc::default() })
    }

    /// Reads `<data_dir>/token.key`, or creates the data dir and a new key file if there is none.
    ///
    /// The file is written to a temporary file in the same dir (mode 0600 on unix), synced, then moved into place
    /// without replacing an existing file: when two processes start on an empty data dir at once, the second one
    /// finds the first one's file and both use the same key.
    pub fn load_or_create(data_dir: &Path) -> Result<TokenKey, AuthError> {
        let path = data_dir.join(TOKEN_KEY_FILE_NAME);
        match fs::read_to_string(&path) {
            Ok(contents) => return TokenKey::from_file_contents(&contents, &path),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error("read", &path, source)),
        }

        fs::create_dir_all(data_dir).map_err(|source| io_error("create", data_dir, source))?;
        let key = TokenKey::generate();
        let mut temp_file = tempfile::NamedTempFile::new_in(data_dir)
            .map_err(|source| io_error("create a temporary file in", data_dir, source))?;
        set_owner_only_permissions(temp_file.as_file())
            .map_err(|source| io_error("restrict", temp_file.path(), source))?;
        writeln!(temp_file, "{}", key.to_base64()).map_err(|source| io_error("write", temp_file.path(), source))?;
        temp_file.as_file().sync_all().map_err(|source| io_error("sync", temp_file.path(), source))?;

        match temp_file.persist_noclobber(&path) {
            Ok(_) => {
                sync_dir(data_dir).map_err(|source| io_error("sync", data_dir, source))?;
                Ok(key)
            }
            Err(persist_error) if persist_error.error.kind() == io::ErrorKind::AlreadyExists => {
                // Another process created the file between our read and our rename: its key is the one in force.
                let contents = fs::read_to_string(&path).map_err(|source| io_error("read", &path, source))?;
                TokenKey::from_file_contents(&contents, &path)
            }
            Err(persist_error) => Err(io_error("create", &path, persist_error.error)),
        }
    }

    /// The key from the `TASKLEDGER_TOKEN_KEY` value when the variable is set (even to something invalid, which
    /// is an error rather than a silent fallback), else [`TokenKey::load_or_create`] in the data dir.
    pub fn resolve(env_value: Option<&str>, data_dir: &Path) -> Result<TokenKey, AuthError> {
        match env_value {
            Some(encoded) => TokenKey::from_base64(encoded).map_err(|error| match error {
                AuthError::Key(reason) => AuthError::Key(format!("{TOKEN_KEY_ENV}: {reason}")),
                other => other,
            }),
            None => TokenKey::load_or_create(data_dir),
        }
    }

    /// The raw secret, for the signing code of this crate only.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.bytes
    }

    /// The tokens verified under this key lately.
    pub(crate) fn verified(&self) -> &VerifiedTokens {
        &self.verified
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(&self.bytes)
    }

    fn from_file_contents(contents: &str, path: &Path) -> Result<TokenKey, AuthError> {
        TokenKey::from_base64(contents).map_err(|error| match error {
            AuthError::Key(reason) => AuthError::Key(format!("{}: {reason}", path.display())),
            other => other,
        })
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

fn io_error(operation: &'static str, path: &Path, source: io::Error) -> AuthError {
    AuthError::Io { operation, path: path.to_path_buf(), source }
}

#[cfg(unix)]
fn set_owner_only_permissions(file: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_owner_only_permissions(_file: &fs::File) -> io::Result<()> {
    Ok(())
}

/// Makes the rename durable: on unix a new directory entry survives a crash only once the directory is synced.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
