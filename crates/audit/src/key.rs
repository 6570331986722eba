//! The log key: the Ed25519 key that signs checkpoints. Its name is the log's origin (the first line of every
//! checkpoint). It comes from `TASKLEDGER_CHECKPOINT_KEY` (the `PRIVATE+KEY+…` text) when that is set, else from
//! `<data dir>/checkpoint.key`, which the first start creates. Processes that share a log must share its key.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use transparency::checkpoint::{KeyError, SigningKey};

pub const CHECKPOINT_KEY_FILE_NAME: &str = "checkpoint.key";
pub const CHECKPOINT_KEY_ENV: &str = "TASKLEDGER_CHECKPOINT_KEY";
/// The origin when none is configured. A deployment should set its own (`--log-origin`), a schema-less URL.
pub const DEFAULT_ORIGIN: &str = "taskledger.local/log";

#[derive(Debug, thiserror::Error)]
pub enum LogKeyError {
    #[error("{source_name}: {error}")]
    Key { source_name: String, error: KeyError },
    #[error("the checkpoint key of {source_name} is named {key_name:?}, but the log origin is {origin:?}; set the origin to the key's name or use another key")]
    NameMismatch { source_name: String, key_name: String, origin: String },
    #[error("cannot {operation} {}: {source}", .path.display())]
    Io { operation: &'static str, path: PathBuf, source: io::Error },
}

/// The log key: from the environment value if given (an invalid one is an error, never a silent fallback), else
/// from the data dir, created there on first use. Its name must be `origin`.
pub fn resolve_log_key(env_value: Option<&str>, data_dir: &Path, origin: &str) -> Result<SigningKey, LogKeyError> {
    let (key, source_name) = match env_value {
        Some(text) => (parse(text, CHECKPOINT_KEY_ENV)?, CHECKPOINT_KEY_ENV.to_owned()),
        None => load_or_create(data_dir, origin)?,
    };
    if key.name() != origin {
        return Err(LogKeyError::NameMismatch {
            source_name,
            key_name: key.name().to_owned(),
            origin: origin.to_owned(),
        });
    }
    Ok(key)
}

/// The log key if one exists (environment or data dir), without creating one: for commands that only verify.
pub fn existing_log_key(env_value: Option<&str>, data_dir: &Path) -> Result<Option<SigningKey>, LogKeyError> {
    if let Some(text) = env_value {
        return parse(text, CHECKPOINT_KEY_ENV).map(Some);
    }
    let path = data_dir.join(CHECKPOINT_KEY_FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(contents) => parse(&contents, &path.display().to_string()).map(Some),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LogKeyError::Io { operation: "read", path, source }),
    }
}

fn parse(text: &str, source_name: &str) -> Result<SigningKey, LogKeyError> {
    SigningKey::from_text(text.trim()).map_err(|error| LogKeyError::Key { source_name: source_name.to_owned(), error })
}

/// Reads `<data_dir>/checkpoint.key`, or writes a new key there: to a temporary file (mode 0600 on unix), synced,
/// then moved into place without replacing a file that another process created meanwhile (whose key then wins).
fn load_or_create(data_dir: &Path, origin: &str) -> Result<(SigningKey, String), LogKeyError> {
    let path = data_dir.join(CHECKPOINT_KEY_FILE_NAME);
    let source_name = path.display().to_string();
    let io_error = |operation, path: &Path| {
        let path = path.to_path_buf();
        move |source| LogKeyError::Io { operation, path, source }
    };
    match fs::read_to_string(&path) {
        Ok(contents) => return Ok((parse(&contents, &source_name)?, source_name)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(LogKeyError::Io { operation: "read", path, source }),
    }
    fs::create_dir_all(data_dir).map_err(io_error("create", data_dir))?;
    let key = SigningKey::generate(origin, &mut rand::rngs::OsRng)
        .map_err(|error| LogKeyError::Key { source_name: "the log origin".to_owned(), error })?;
    let mut temp_file = tempfile::NamedTempFile::new_in(data_dir).map_err(io_error("create a file in", data_dir))?;
    restrict_to_owner(temp_file.as_file()).map_err(io_error("restrict", &path))?;
    writeln!(temp_file, "{}", key.to_text()).map_err(io_error("write", &path))?;
    temp_file.as_file().sync_all().map_err(io_error("sync", &path))?;
    match temp_file.persist_noclobber(&path) {
        Ok(_) => Ok((key, source_name)),
        Err(persist_error) if persist_error.error.kind() == io::ErrorKind::AlreadyExists => {
            let contents = fs::read_to_string(&path).map_err(io_error("read", &path))?;
            Ok((parse(&contents, &source_name)?, source_name))
        }
        Err(persist_error) => Err(LogKeyError::Io { operation: "create", path, source: persist_error.error }),
    }
}

#[cfg(unix)]
fn restrict_to_owner(file: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_file: &fs::File) -> io::Result<()> {
    Ok(())
}
