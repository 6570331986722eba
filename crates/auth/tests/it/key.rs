//! Key handling: generation, base64 decoding, the key file in the data dir, the environment override, and that
//! the key never prints.

use auth::{mint, verify, AuthError, TokenKey};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use time::macros::datetime;
use time::Duration;

use crate::{reporter, RAW_KEY};

/// Whether two keys are the same secret, observed the only way the API allows: one verifies what the other signs.
fn same_secret(left: &TokenKey, right: &TokenKey) -> bool {
    let now = datetime!(2024-04-15 08:00 +07:00);
    let token = mint(left, &reporter(), now, Duration::minutes(1)).unwrap();
    verify(right, &token, now).is_ok()
}

#[test]
fn load_or_create_creates_the_key_once_then_reads_it_back() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("nested").join("taskledger-data");

    let created = TokenKey::load_or_create(&data_dir).unwrap();
    let file = data_dir.join("token.key");
    let contents = std::fs::read_to_string(&file).unwrap();
    let loaded = TokenKey::load_or_create(&data_dir).unwrap();

    assert!(same_secret(&created, &loaded));
    assert!(!same_secret(&created, &TokenKey::generate()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), contents, "the second call must not rewrite the file");
    assert_eq!(contents.lines().count(), 1);
    assert_eq!(STANDARD.decode(contents.trim()).unwrap().len(), 32);
    let leftovers: Vec<_> = std::fs::read_dir(&data_dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["token.key"], "no temporary file may be left behind");
}

#[cfg(unix)]
#[test]
fn created_key_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();

    TokenKey::load_or_create(temp.path()).unwrap();

    let mode = std::fs::metadata(temp.path().join("token.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn load_or_create_reads_an_existing_file() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("token.key"), format!("{}\n", STANDARD.encode(RAW_KEY))).unwrap();

    let loaded = TokenKey::load_or_create(temp.path()).unwrap();

    assert!(same_secret(&loaded, &crate::fixed_key()));
}

#[test]
fn corrupt_key_file_is_an_error_naming_the_file() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("token.key"), "c2hvcnQ=\n").unwrap();

    let error = TokenKey::load_or_create(temp.path()).unwrap_err();

    assert!(matches!(error, AuthError::Key(_)), "{error:?}");
    assert!(error.to_string().contains("token.key"), "{error}");
}

#[test]
fn environment_key_wins_over_the_data_dir() {
    let temp = tempfile::tempdir().unwrap();
    let file_key = TokenKey::load_or_create(temp.path()).unwrap();
    let env_value = STANDARD.encode(RAW_KEY);

    let resolved = TokenKey::resolve(Some(&env_value), temp.path()).unwrap();

    assert!(same_secret(&resolved, &crate::fixed_key()));
    assert!(!same_secret(&resolved, &file_key));
    assert!(same_secret(&TokenKey::resolve(None, temp.path()).unwrap(), &file_key));
}

#[test]
fn environment_key_does_not_touch_the_data_dir() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("never-created");

    TokenKey::resolve(Some(&STANDARD.encode(RAW_KEY)), &data_dir).unwrap();

    assert!(!data_dir.exists());
}

#[test]
fn invalid_environment_key_is_an_error_not_a_fallback() {
    let temp = tempfile::tempdir().unwrap();

    let error = TokenKey::resolve(Some("not base64!"), temp.path()).unwrap_err();

    assert!(error.to_string().contains("TASKLEDGER_TOKEN_KEY"), "{error}");
    assert!(!temp.path().join("token.key").exists());
}

#[test]
fn short_key_is_rejected_naming_the_rule() {
    let error = TokenKey::from_base64(&STANDARD.encode([7_u8; 31])).unwrap_err();

    assert!(matches!(error, AuthError::Key(_)), "{error:?}");
    assert!(error.to_string().contains("31 bytes"), "{error}");
    assert!(error.to_string().contains("at least 32"), "{error}");
}

#[test]
fn base64_with_or_without_padding_and_whitespace_is_accepted() {
    let long_key = [9_u8; 40];
    for encoded in
        [STANDARD.encode(long_key), STANDARD_NO_PAD.encode(long_key), format!("  {}\n", STANDARD.encode(long_key))]
    {
        assert!(TokenKey::from_base64(&encoded).is_ok(), "{encoded:?}");
    }
}

#[test]
fn debug_does_not_leak_the_key() {
    let key = crate::fixed_key();

    let printed = format!("{key:?} {:?} {key:#?}", Some(key.clone()));

    assert_eq!(format!("{key:?}"), "TokenKey(<redacted>)");
    assert!(!printed.contains("0123456789abcdef"));
    assert!(!printed.contains(&STANDARD.encode(RAW_KEY)));
    assert!(!printed.contains("48, 49, 50"), "no byte list either");
}
