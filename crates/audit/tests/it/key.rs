use audit::key::{existing_log_key, resolve_log_key, LogKeyError, CHECKPOINT_KEY_FILE_NAME};

use crate::support::{log_key, ORIGIN};

#[test]
fn the_first_start_creates_the_key_and_the_next_reads_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    assert!(existing_log_key(None, dir.path()).expect("no key yet").is_none());
    let created = resolve_log_key(None, dir.path(), ORIGIN).expect("created");
    assert!(dir.path().join(CHECKPOINT_KEY_FILE_NAME).exists());
    let again = resolve_log_key(None, dir.path(), ORIGIN).expect("read back");
    assert_eq!(created.verifier_key(), again.verifier_key());
    let existing = existing_log_key(None, dir.path()).expect("read").expect("present");
    assert_eq!(existing.verifier_key(), created.verifier_key());
}

#[test]
fn a_key_of_another_name_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    resolve_log_key(None, dir.path(), ORIGIN).expect("created");
    match resolve_log_key(None, dir.path(), "other.example/log") {
        Err(LogKeyError::NameMismatch { key_name, origin, .. }) => {
            assert_eq!((key_name.as_str(), origin.as_str()), (ORIGIN, "other.example/log"));
        }
        other => panic!("expected a name mismatch, got {other:?}"),
    }
}

#[test]
fn the_environment_key_wins_and_a_bad_one_is_an_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = log_key().to_text();
    let key = resolve_log_key(Some(&text), dir.path(), ORIGIN).expect("from the environment");
    assert_eq!(key.verifier_key(), log_key().verifier_key());
    assert!(!dir.path().join(CHECKPOINT_KEY_FILE_NAME).exists(), "no file is written");
    assert!(matches!(resolve_log_key(Some("nonsense"), dir.path(), ORIGIN), Err(LogKeyError::Key { .. })));
}
