//! Export a log with checkpoints, then tamper with the bundle's files as someone holding a copy could.

use std::fs;
use std::path::Path;

use audit::bundle::{self, BundleError, EVENTS_FILE};
use audit::log::AuditLog;
use event_store::verify::{CheckpointProblem, CheckpointRejected, VerifyError, VerifyProblem};
use transparency::checkpoint::{CheckpointError, SigningKey};

use crate::support::{append_events, log_key, store_with_events, ORIGIN};

/// A bundle of 10 events with checkpoints at 4 and 10.
async fn exported_bundle() -> (tempfile::TempDir, std::path::PathBuf) {
    let test_log = store_with_events(4).await;
    let log = AuditLog::open(test_log.store.clone(), log_key()).await.expect("the tree");
    log.make_checkpoint(time::OffsetDateTime::now_utc()).await.expect("checkpoint at 4");
    append_events(test_log.store.as_ref(), 4, 6).await;
    log.make_checkpoint(time::OffsetDateTime::now_utc()).await.expect("checkpoint at 10");
    let dir = test_log.dir.path().join("bundle");
    let manifest = bundle::export(test_log.store.as_ref(), &log.verifier_key(), &dir).await.expect("export");
    assert_eq!((manifest.n_events, manifest.n_checkpoints, manifest.origin.as_str()), (10, 2, ORIGIN));
    (test_log.dir, dir)
}

fn lines(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(EVENTS_FILE)).expect("events").lines().map(str::to_owned).collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    fs::write(dir.join(EVENTS_FILE), lines.iter().map(|line| format!("{line}\n")).collect::<String>()).expect("write");
}

fn failed_at(outcome: Result<impl std::fmt::Debug, BundleError>) -> (u64, VerifyProblem) {
    match outcome {
        Err(BundleError::Chain(VerifyError { position, problem })) => (position, problem),
        other => panic!("expected a verification failure, got {other:?}"),
    }
}

#[tokio::test]
async fn an_untouched_bundle_verifies_offline() {
    let (_dir, bundle_dir) = exported_bundle().await;
    let key = bundle::read_verifier_key(&bundle_dir.join(bundle::PUBLIC_KEY_FILE)).expect("the key");
    assert_eq!(key, log_key().verifier_key());
    let report = bundle::verify(&bundle_dir, &key).expect("verifies");
    assert_eq!((report.chain.n_events, report.n_checkpoints, report.latest_checkpoint_size), (10, 2, Some(10)));
}

#[tokio::test]
async fn a_changed_byte_is_named_by_position() {
    let (_dir, bundle_dir) = exported_bundle().await;
    let mut events = lines(&bundle_dir);
    events[6] = events[6].replace(r#""achieved":25"#, r#""achieved":26"#);
    write_lines(&bundle_dir, &events);
    let (position, problem) = failed_at(bundle::verify(&bundle_dir, &log_key().verifier_key()));
    assert_eq!(position, 7);
    assert!(matches!(problem, VerifyProblem::HashMismatch { .. }), "{problem:?}");
}

#[tokio::test]
async fn a_deleted_or_swapped_event_is_named_by_position() {
    let (_dir, bundle_dir) = exported_bundle().await;
    let original = lines(&bundle_dir);
    let mut deleted = original.clone();
    deleted.remove(2);
    write_lines(&bundle_dir, &deleted);
    let (position, problem) = failed_at(bundle::verify(&bundle_dir, &log_key().verifier_key()));
    assert_eq!((position, problem), (4, VerifyProblem::PositionGap { expected: 3 }));

    let mut swapped = original;
    swapped.swap(4, 8);
    write_lines(&bundle_dir, &swapped);
    let (position, _) = failed_at(bundle::verify(&bundle_dir, &log_key().verifier_key()));
    assert_eq!(position, 9, "the event of position 9 comes fifth");
}

#[tokio::test]
async fn a_rolled_back_tail_contradicts_the_checkpoint() {
    let (_dir, bundle_dir) = exported_bundle().await;
    let mut events = lines(&bundle_dir);
    events.truncate(7);
    write_lines(&bundle_dir, &events);
    let (position, problem) = failed_at(bundle::verify(&bundle_dir, &log_key().verifier_key()));
    assert_eq!((position, problem), (8, VerifyProblem::ShorterThanCheckpoint { log_size: 7, tree_size: 10 }));
}

#[tokio::test]
async fn checkpoints_of_another_key_are_rejected() {
    let (_dir, bundle_dir) = exported_bundle().await;
    let other = SigningKey::from_seed(ORIGIN, [43; 32]).expect("a key");
    match bundle::verify(&bundle_dir, &other.verifier_key()) {
        Err(BundleError::Checkpoint(CheckpointRejected {
            problem: CheckpointProblem::Note(CheckpointError::UnknownKey { .. }),
            ..
        })) => {}
        other => panic!("expected the checkpoints to be rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_line_is_named() {
    let (_dir, bundle_dir) = exported_bundle().await;
    let mut events = lines(&bundle_dir);
    events[3] = "{not json".to_owned();
    write_lines(&bundle_dir, &events);
    match bundle::verify(&bundle_dir, &log_key().verifier_key()) {
        Err(BundleError::MalformedEvent { line_number: 4, .. }) => {}
        other => panic!("expected line 4 to be named, got {other:?}"),
    }
}

#[tokio::test]
async fn export_refuses_a_directory_with_files() {
    let (_dir, bundle_dir) = exported_bundle().await;
    let test_log = store_with_events(1).await;
    let outcome = bundle::export(test_log.store.as_ref(), &log_key().verifier_key(), &bundle_dir).await;
    assert!(matches!(outcome, Err(BundleError::NotEmpty(_))), "{outcome:?}");
}
