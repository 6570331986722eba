//! Signed checkpoints: round trips, refusals with the right error, and the Ed25519 signed-note vector of
//! `golang.org/x/mod/sumdb/note` (the PeterNeumann key), which this implementation must reproduce byte for byte.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use transparency::checkpoint::{
    open, open_note, sign, sign_note, Checkpoint, CheckpointError, KeyError, SignatureLineProblem, SigningKey,
    VerifierKey, MAX_SIGNATURES,
};

const PETER_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SIGNING_KEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n\
                          \n\
                          \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

const ORIGIN: &str = "taskledger.test/log";

fn key(name: &str, seed: u64) -> SigningKey {
    SigningKey::generate(name, &mut StdRng::seed_from_u64(seed)).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, 42, [7; 32]).unwrap().with_time(1_713_148_268)
}

#[test]
fn a_signed_checkpoint_opens_to_itself() {
    let key = key(ORIGIN, 1);
    let note = sign(&checkpoint(), &key);
    assert_eq!(open(&note, &key.verifier_key()), Ok(checkpoint()));
    let root_base64 = BASE64.encode([7u8; 32]);
    assert!(note.starts_with(&format!("{ORIGIN}\n42\n{root_base64}\ntime 1713148268\n\n\u{2014} {ORIGIN} ")), "{note}");
}

#[test]
fn a_note_signed_by_another_key_is_refused() {
    let signer = key(ORIGIN, 1);
    let other = key(ORIGIN, 2);
    let note = sign(&checkpoint(), &other);
    let error = open(&note, &signer.verifier_key()).unwrap_err();
    assert_eq!(
        error,
        CheckpointError::UnknownKey {
            key: format!("{ORIGIN}+{:08x}", signer.key_id()),
            signers: vec![format!("{ORIGIN}+{:08x}", other.key_id())],
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "the note is not signed by key {ORIGIN}+{:08x} (signed by: {ORIGIN}+{:08x})",
            signer.key_id(),
            other.key_id()
        )
    );
}

#[test]
fn a_cosigned_note_opens_with_either_key() {
    let log_key = key(ORIGIN, 1);
    let witness_key = key("witness.test/w1", 2);
    let note = sign(&checkpoint(), &log_key);
    let witness_line = sign_note(&checkpoint().body(), &witness_key).unwrap();
    let cosigned = format!("{note}{}", witness_line.lines().last().unwrap()) + "\n";
    assert_eq!(open(&cosigned, &log_key.verifier_key()), Ok(checkpoint()));
    assert_eq!(open(&cosigned, &witness_key.verifier_key()), Ok(checkpoint()));
}

#[test]
fn any_changed_character_is_refused() {
    let key = key(ORIGIN, 1);
    let verifier = key.verifier_key();
    let note = sign(&checkpoint(), &key);
    for (position, character) in note.char_indices() {
        for replacement in ['A', '0', '\n'] {
            if replacement == character {
                continue;
            }
            let mut tampered = note.clone();
            tampered.replace_range(position..position + character.len_utf8(), &replacement.to_string());
            assert!(open(&tampered, &verifier).is_err(), "{character:?} at {position} replaced by {replacement:?}");
        }
    }
}

#[test]
fn a_changed_signature_is_a_bad_signature() {
    let key = key(ORIGIN, 1);
    let note = sign(&checkpoint(), &key);
    let (body, signature_line) = note.rsplit_once("\n\n").unwrap();
    let signature_base64 = signature_line.trim_end().rsplit_once(' ').unwrap().1;
    let mut signature = BASE64.decode(signature_base64).unwrap();
    signature[10] ^= 0x01;
    let tampered = format!("{body}\n\n\u{2014} {ORIGIN} {}\n", BASE64.encode(&signature));
    assert_eq!(
        open(&tampered, &key.verifier_key()),
        Err(CheckpointError::BadSignature { key: format!("{ORIGIN}+{:08x}", key.key_id()), line_number: 6 })
    );
}

#[test]
fn malformed_notes_are_refused_with_the_right_error() {
    let key = key(ORIGIN, 1);
    let verifier = key.verifier_key();
    let root = BASE64.encode([7u8; 32]);
    let signed = |body: &str| sign_note(body, &key).unwrap();

    let note = sign(&checkpoint(), &key);
    assert_eq!(open(note.trim_end_matches('\n'), &verifier), Err(CheckpointError::MissingFinalNewline));
    assert_eq!(open(&checkpoint().body(), &verifier), Err(CheckpointError::NoSignatures));
    assert_eq!(open(&format!("{}\n", checkpoint().body()), &verifier), Err(CheckpointError::NoSignatures));
    assert_eq!(
        open(&signed(&format!("{ORIGIN}\n01\n{root}\n")), &verifier),
        Err(CheckpointError::InvalidSize { line: "01".into() })
    );
    assert_eq!(
        open(&signed(&format!("{ORIGIN}\n+1\n{root}\n")), &verifier),
        Err(CheckpointError::InvalidSize { line: "+1".into() })
    );
    assert_eq!(
        open(&signed(&format!("{ORIGIN}\n18446744073709551616\n{root}\n")), &verifier),
        Err(CheckpointError::InvalidSize { line: "18446744073709551616".into() })
    );
    let short_root = BASE64.encode([7u8; 31]);
    assert_eq!(
        open(&signed(&format!("{ORIGIN}\n1\n{short_root}\n")), &verifier),
        Err(CheckpointError::RootHashLength { actual: 31 })
    );
    let unpadded_root = root.trim_end_matches('=');
    assert_eq!(
        open(&signed(&format!("{ORIGIN}\n1\n{unpadded_root}\n")), &verifier),
        Err(CheckpointError::InvalidRootHash { line: unpadded_root.into() })
    );
    assert_eq!(open(&signed(&format!("{ORIGIN}\n1\n")), &verifier), Err(CheckpointError::TooFewLines { count: 2 }));
    assert_eq!(open(&signed(&format!("\n1\n{root}\n")), &verifier), Err(CheckpointError::EmptyOrigin));
    assert_eq!(
        open(&signed(&format!("{ORIGIN}\n1\n{root}\nfirst\n\nthird\n")), &verifier),
        Err(CheckpointError::EmptyExtensionLine { line_number: 5 })
    );
    assert_eq!(
        open(&note.replacen("42", "4\t2", 1), &verifier),
        Err(CheckpointError::ControlCharacter { line_number: 2 })
    );
    assert_eq!(
        open(&note.replacen('\u{2014}', "-", 1), &verifier),
        Err(CheckpointError::MalformedSignatureLine { line_number: 6, problem: SignatureLineProblem::NoEmDash })
    );
    assert_eq!(
        open(&format!("{note}\u{2014} {ORIGIN}\n"), &verifier),
        Err(CheckpointError::MalformedSignatureLine { line_number: 7, problem: SignatureLineProblem::NoSpace })
    );
    assert_eq!(
        open(&format!("{note}\u{2014} a+b AAAAAAAA\n"), &verifier),
        Err(CheckpointError::MalformedSignatureLine { line_number: 7, problem: SignatureLineProblem::InvalidKeyName })
    );
    assert_eq!(
        open(&format!("{note}\u{2014} other AAAA\n"), &verifier),
        Err(CheckpointError::MalformedSignatureLine { line_number: 7, problem: SignatureLineProblem::TooShort })
    );
    assert_eq!(
        open(&format!("{note}\u{2014} other AAAAAA!=\n"), &verifier),
        Err(CheckpointError::MalformedSignatureLine { line_number: 7, problem: SignatureLineProblem::InvalidBase64 })
    );
    let foreign_line = "\u{2014} other AAAAAAAA\n";
    let crowded = format!("{note}{}", foreign_line.repeat(MAX_SIGNATURES));
    assert_eq!(
        open(&crowded, &verifier),
        Err(CheckpointError::TooManySignatures { count: MAX_SIGNATURES + 1, max: MAX_SIGNATURES })
    );
}

#[test]
fn checkpoints_that_could_not_be_read_back_cannot_be_made() {
    assert_eq!(Checkpoint::new("", 1, [0; 32]), Err(CheckpointError::EmptyOrigin));
    assert_eq!(Checkpoint::new("a\nb", 1, [0; 32]), Err(CheckpointError::ControlCharacter { line_number: 1 }));
    let checkpoint = Checkpoint::new(ORIGIN, 1, [0; 32]).unwrap();
    assert_eq!(checkpoint.clone().with_extension(""), Err(CheckpointError::EmptyExtensionLine { line_number: 4 }));
    assert_eq!(
        checkpoint.clone().with_extension("x").unwrap().with_extension("a\nb"),
        Err(CheckpointError::ControlCharacter { line_number: 5 })
    );
    assert_eq!(sign_note("no final newline", &key(ORIGIN, 1)), Err(CheckpointError::MissingFinalNewline));
}

#[test]
fn the_time_extension_is_read_back() {
    let checkpoint = checkpoint();
    assert_eq!(checkpoint.time(), Some(1_713_148_268));
    assert_eq!(checkpoint.extensions(), ["time 1713148268"]);
    let key = key(ORIGIN, 1);
    assert_eq!(open(&sign(&checkpoint, &key), &key.verifier_key()).unwrap().time(), Some(1_713_148_268));

    let without_time = Checkpoint::new(ORIGIN, 1, [0; 32]).unwrap();
    assert_eq!(without_time.time(), None);
    assert_eq!(without_time.clone().with_extension("time 01").unwrap().time(), None);
    assert_eq!(without_time.clone().with_extension("time").unwrap().time(), None);
    assert_eq!(without_time.with_extension("other").unwrap().with_time(5).time(), Some(5));
}

#[test]
fn the_go_note_vector_verifies_and_is_reproduced() {
    let verifier = VerifierKey::from_text(PETER_VERIFIER_KEY).unwrap();
    assert_eq!(verifier.name(), "PeterNeumann");
    assert_eq!(verifier.key_id(), 0xc74f20a3);
    assert_eq!(verifier.to_text(), PETER_VERIFIER_KEY);
    assert_eq!(open_note(PETER_NOTE, &verifier), Ok(PETER_TEXT));

    let signer = SigningKey::from_text(PETER_SIGNING_KEY).unwrap();
    assert_eq!(signer.to_text(), PETER_SIGNING_KEY);
    assert_eq!(signer.verifier_key(), verifier);
    assert_eq!(sign_note(PETER_TEXT, &signer).unwrap(), PETER_NOTE, "ed25519 is deterministic");

    // The text is a note but not a checkpoint.
    assert_eq!(open(PETER_NOTE, &verifier), Err(CheckpointError::TooFewLines { count: 2 }));
    let tampered = PETER_NOTE.replace("cryptography", "cryptographY");
    assert!(matches!(open_note(&tampered, &verifier), Err(CheckpointError::BadSignature { .. })));
}

#[test]
fn mangled_verifier_keys_are_refused() {
    let bytes = PETER_VERIFIER_KEY.as_bytes();
    for start in 0..bytes.len() {
        for end in start + 1..=bytes.len() {
            if (start, end) != (0, bytes.len()) {
                let part = &PETER_VERIFIER_KEY[start..end];
                assert!(VerifierKey::from_text(part).is_err(), "{part}");
            }
        }
    }
    for position in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[position] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(VerifierKey::from_text(&mangled).is_err(), "{mangled}");
    }
}

#[test]
fn key_texts_are_read_strictly() {
    assert_eq!(
        VerifierKey::from_text("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::KeyIdMismatch { stated: "c74f20a4".into(), computed: "c74f20a3".into() })
    );
    assert_eq!(
        VerifierKey::from_text("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::InvalidKeyId { text: "C74F20A3".into() })
    );
    assert_eq!(
        VerifierKey::from_text("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::UnsupportedSignatureType { signature_type: 0x65 })
    );
    assert_eq!(
        VerifierKey::from_text("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
        Err(KeyError::InvalidBase64)
    );
    assert_eq!(VerifierKey::from_text("PeterNeumann"), Err(KeyError::Malformed));
    assert_eq!(SigningKey::from_text(PETER_VERIFIER_KEY).unwrap_err(), KeyError::NotASigningKey);
    // The identity point, of small order: any signature "verifies" under it, so it is no key.
    let identity = [&[0x01u8][..], &[1], &[0; 31]].concat();
    let small_order_text = format!("name+00000000+{}", BASE64.encode(identity));
    assert_eq!(VerifierKey::from_text(&small_order_text), Err(KeyError::InvalidPublicKey));
    assert_eq!(
        SigningKey::generate("has space", &mut StdRng::seed_from_u64(1)).unwrap_err(),
        KeyError::InvalidName { name: "has space".into() }
    );
    assert!(SigningKey::from_seed("", [0; 32]).is_err());
    assert!(SigningKey::from_seed("a+b", [0; 32]).is_err());
}

#[test]
fn signing_keys_do_not_print_their_secret() {
    let signer = SigningKey::from_text(PETER_SIGNING_KEY).unwrap();
    let debug = format!("{signer:?}");
    assert_eq!(debug, r#"SigningKey { name: "PeterNeumann", key_id: c74f20a3, secret: "<redacted>" }"#);
}

proptest! {
    #[test]
    fn generated_keys_round_trip_through_their_texts(name in "[a-z0-9./_-]{1,30}", seed in any::<[u8; 32]>()) {
        let signer = SigningKey::from_seed(&name, seed).unwrap();
        let read_back = SigningKey::from_text(&signer.to_text()).unwrap();
        prop_assert_eq!(read_back.to_text(), signer.to_text());
        prop_assert_eq!(read_back.verifier_key(), signer.verifier_key());
        prop_assert_eq!(VerifierKey::from_text(&signer.verifier_key().to_text()), Ok(signer.verifier_key()));
    }

    #[test]
    fn any_checkpoint_round_trips_through_a_signed_note(
        origin in "[a-zA-Z0-9./ ếạđ-]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[!-~ ]{1,30}", 0..4),
        seed in any::<u64>(),
    ) {
        let mut checkpoint = Checkpoint::new(origin, size, root).unwrap();
        for line in extensions {
            checkpoint = checkpoint.with_extension(line).unwrap();
        }
        prop_assert_eq!(Checkpoint::parse(&checkpoint.body()), Ok(checkpoint.clone()));
        let key = key("taskledger.test/log", seed);
        prop_assert_eq!(open(&sign(&checkpoint, &key), &key.verifier_key()), Ok(checkpoint));
    }
}
