//! The export bundle: a directory that holds the whole log, its signed checkpoints and the log's public key, and
//! that an auditor verifies offline, with no access to the service or its database.
//!
//! ```text
//! <dir>/events.jsonl                  one event per line, JSON, in position order from position 1
//! <dir>/checkpoints/<tree size>.note  each signed checkpoint, verbatim (C2SP signed note)
//! <dir>/log.pub                       the verifier key, "<name>+<key id>+<base64 key>\n"
//! <dir>/manifest.json                 what was exported (informative: the verifier trusts none of it)
//! ```
//!
//! [`verify`] recomputes the hash chain and the Merkle tree from `events.jsonl` and checks every checkpoint against
//! the given key and the recomputed roots (`event_store::verify::LogVerifier`).

use std::fs;
use std::io::{self, BufRead as _, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use event_store::verify::{
    all_checkpoints, CheckpointRejected, CheckpointedReport, LogVerifier, VerifyError, VerifyStoreError,
};
use event_store::{EventStore, RecordedEvent, StoreError, StoredCheckpoint};
use serde::{Deserialize, Serialize};
use transparency::checkpoint::{KeyError, VerifierKey};

pub const EVENTS_FILE: &str = "events.jsonl";
pub const CHECKPOINTS_DIR: &str = "checkpoints";
pub const PUBLIC_KEY_FILE: &str = "log.pub";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const BUNDLE_FORMAT: &str = "taskledger-bundle/1";

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub origin: String,
    pub n_events: u64,
    pub head_hash: String,
    pub n_checkpoints: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot {operation} {}: {source}", .path.display())]
    Io { operation: &'static str, path: PathBuf, source: io::Error },
    #[error("{} already holds files; export into a new or empty directory", .0.display())]
    NotEmpty(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{file} line {line_number} is not an event: {reason}")]
    MalformedEvent { file: &'static str, line_number: u64, reason: String },
    #[error("{} is not named <tree size>.note", .0.display())]
    MalformedCheckpointName(PathBuf),
    #[error("{}: {error}", .path.display())]
    MalformedKey { path: PathBuf, error: KeyError },
    #[error(transparent)]
    Chain(#[from] VerifyError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointRejected),
}

impl From<VerifyStoreError> for BundleError {
    fn from(error: VerifyStoreError) -> Self {
        match error {
            VerifyStoreError::Chain(error) => BundleError::Chain(error),
            VerifyStoreError::Checkpoint(error) => BundleError::Checkpoint(error),
            VerifyStoreError::Store(error) => BundleError::Store(error),
        }
    }
}

/// Writes the store's log up to its current head, every checkpoint and the verifier key into `dir`.
pub async fn export(store: &dyn EventStore, key: &VerifierKey, dir: &Path) -> Result<Manifest, BundleError> {
    prepare_empty_dir(dir)?;
    // Checkpoints first, the head after: every exported checkpoint is covered by the exported events.
    let checkpoints = all_checkpoints(store).await?;
    let head = store.head().await?;

    let checkpoints_dir = dir.join(CHECKPOINTS_DIR);
    fs::create_dir_all(&checkpoints_dir).map_err(io_error("create", &checkpoints_dir))?;
    for checkpoint in &checkpoints {
        let path = checkpoints_dir.join(format!("{}.note", checkpoint.tree_size));
        fs::write(&path, &checkpoint.note).map_err(io_error("write", &path))?;
    }
    let key_path = dir.join(PUBLIC_KEY_FILE);
    fs::write(&key_path, format!("{}\n", key.to_text())).map_err(io_error("write", &key_path))?;

    let events_path = dir.join(EVENTS_FILE);
    let file = fs::File::create(&events_path).map_err(io_error("create", &events_path))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let mut position = 0;
    while position < head.position {
        let events = store.read_all(position, 10_000).await?;
        if events.is_empty() {
            break;
        }
        for event in events.iter().take_while(|event| event.global_position <= head.position) {
            serde_json::to_writer(&mut writer, event).map_err(|error| io_error("write", &events_path)(error.into()))?;
            writer.write_all(b"\n").map_err(io_error("write", &events_path))?;
            position = event.global_position;
        }
    }
    let file = writer.into_inner().map_err(|error| io_error("write", &events_path)(error.into_error()))?;
    file.sync_all().map_err(io_error("sync", &events_path))?;

    let manifest = Manifest {
        format: BUNDLE_FORMAT.to_owned(),
        origin: key.name().to_owned(),
        n_events: position,
        head_hash: head.hash,
        n_checkpoints: checkpoints.len() as u64,
    };
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    fs::write(&manifest_path, manifest_json).map_err(io_error("write", &manifest_path))?;
    Ok(manifest)
}

/// The verifier key in a bundle's `log.pub` (or any file holding one verifier key).
pub fn read_verifier_key(path: &Path) -> Result<VerifierKey, BundleError> {
    let text = fs::read_to_string(path).map_err(io_error("read", path))?;
    VerifierKey::from_text(text.trim()).map_err(|error| BundleError::MalformedKey { path: path.to_path_buf(), error })
}

/// The checkpoints of a bundle, in no particular order.
pub fn read_checkpoints(dir: &Path) -> Result<Vec<StoredCheckpoint>, BundleError> {
    let checkpoints_dir = dir.join(CHECKPOINTS_DIR);
    let entries = match fs::read_dir(&checkpoints_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(BundleError::Io { operation: "read", path: checkpoints_dir, source }),
    };
    let mut checkpoints = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_error("read", &checkpoints_dir))?.path();
        let tree_size = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".note"))
            .and_then(|size| size.parse().ok())
            .ok_or_else(|| BundleError::MalformedCheckpointName(path.clone()))?;
        let note = fs::read_to_string(&path).map_err(io_error("read", &path))?;
        checkpoints.push(StoredCheckpoint { tree_size, note });
    }
    Ok(checkpoints)
}

/// Verifies a bundle offline against `key`: every checkpoint must be signed by it, the events must form an
/// unbroken chain from position 1, and the tree of the events must have each checkpoint's root at its size.
pub fn verify(dir: &Path, key: &VerifierKey) -> Result<CheckpointedReport, BundleError> {
    let mut verifier = LogVerifier::new(&read_checkpoints(dir)?, key)?;
    let events_path = dir.join(EVENTS_FILE);
    let file = fs::File::open(&events_path).map_err(io_error("open", &events_path))?;
    let reader = io::BufReader::with_capacity(1 << 20, file);
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(io_error("read", &events_path))?;
        let line_number = index as u64 + 1;
        let event: RecordedEvent = serde_json::from_str(&line).map_err(|error| BundleError::MalformedEvent {
            file: EVENTS_FILE,
            line_number,
            reason: error.to_string(),
        })?;
        verifier.push(&event)?;
    }
    Ok(verifier.finish()?)
}

fn prepare_empty_dir(dir: &Path) -> Result<(), BundleError> {
    fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let mut entries = fs::read_dir(dir).map_err(io_error("read", dir))?;
    if entries.next().is_some() {
        return Err(BundleError::NotEmpty(dir.to_path_buf()));
    }
    Ok(())
}

fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BundleError {
    let path = path.to_path_buf();
    move |source| BundleError::Io { operation, path, source }
}
