//! Mint → verify round trips and every way a token must be refused.

use auth::{mint, verify, AuthError, TokenClaims, TokenKey, LEEWAY};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use domain::actor::Actor;

use crate::{fixed_key, reporter, RAW_KEY};

const ISSUED_AT: OffsetDateTime = datetime!(2024-04-15 08:00 +07:00);

fn one_hour_token(key: &TokenKey) -> String {
    mint(key, &reporter(), ISSUED_AT, Duration::hours(1)).unwrap()
}

fn valid_claims() -> TokenClaims {
    TokenClaims {
        sub: "khcn.tranthib".to_owned(),
        name: "Trần Thị Bích".to_owned(),
        unit: "SO-KHCN".to_owned(),
        role: "reporter".to_owned(),
        iat: ISSUED_AT.unix_timestamp(),
        exp: (ISSUED_AT + Duration::hours(1)).unix_timestamp(),
        iss: "taskledger".to_owned(),
        jti: "6a1f3c52-4a43-4c55-9a8e-0c0e7b7e6d11".to_owned(),
    }
}

/// Signs claims the way a forger holding the key (or an older version of this crate) would.
fn sign(algorithm: Algorithm, claims: &TokenClaims) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(&RAW_KEY)).unwrap()
}

fn claim_of(error: AuthError) -> &'static str {
    match error {
        AuthError::InvalidClaim { claim, .. } => claim,
        other => panic!("expected an invalid claim, got {other:?}"),
    }
}

#[test]
fn minted_token_verifies_to_the_same_actor() {
    let key = TokenKey::generate();
    let token = one_hour_token(&key);

    let actor = verify(&key, &token, ISSUED_AT + Duration::minutes(5)).unwrap();

    assert_eq!(actor, reporter());
}

#[test]
fn minted_claims_carry_issuer_times_and_a_token_id() {
    let token = one_hour_token(&fixed_key());
    let payload = token.split('.').nth(1).unwrap();
    let claims: TokenClaims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();

    assert_eq!(claims.iss, "taskledger");
    assert_eq!(claims.iat, ISSUED_AT.unix_timestamp());
    assert_eq!(claims.exp, ISSUED_AT.unix_timestamp() + 3600);
    assert_eq!(claims.role, "reporter");
    assert_eq!(claims.unit, "SO-KHCN");
    assert_eq!(claims.jti.len(), 36);
}

#[test]
fn tampered_payload_is_rejected() {
    let key = fixed_key();
    let token = one_hour_token(&key);
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["role"] = "admin".into();
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);

    let error = verify(&key, &forged, ISSUED_AT).unwrap_err();

    assert!(matches!(error, AuthError::BadSignature), "{error:?}");
}

#[test]
fn token_from_another_key_is_rejected() {
    let token = one_hour_token(&TokenKey::generate());

    let error = verify(&TokenKey::generate(), &token, ISSUED_AT).unwrap_err();

    assert!(matches!(error, AuthError::BadSignature), "{error:?}");
}

#[test]
fn expired_token_is_rejected_after_the_leeway() {
    let key = fixed_key();
    let token = one_hour_token(&key);
    let expires_at = ISSUED_AT + Duration::hours(1);

    assert!(verify(&key, &token, expires_at + Duration::seconds(30)).is_ok());
    let error = verify(&key, &token, expires_at + Duration::seconds(31)).unwrap_err();

    assert!(matches!(error, AuthError::Expired), "{error:?}");
    assert_eq!(error.to_string(), "token expired");
}

#[test]
fn token_issued_in_the_future_is_rejected() {
    let token = one_hour_token(&fixed_key());

    let error = verify(&fixed_key(), &token, ISSUED_AT - Duration::minutes(5)).unwrap_err();

    assert_eq!(claim_of(error), "iat");
}

#[test]
fn unsigned_token_with_alg_none_is_rejected() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&valid_claims()).unwrap());

    for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
        let error = verify(&fixed_key(), &token, ISSUED_AT).unwrap_err();
        assert!(
            matches!(error, AuthError::InvalidClaim { claim: "alg", .. } | AuthError::Malformed),
            "{token}: {error:?}"
        );
    }
    let error = verify(&fixed_key(), &format!("{header}.{payload}."), ISSUED_AT).unwrap_err();
    assert_eq!(error.to_string(), "invalid token claim `alg`: algorithm \"none\" is not accepted, only HS256");
}

#[test]
fn other_hmac_algorithm_under_the_same_key_is_rejected() {
    let token = sign(Algorithm::HS512, &valid_claims());

    let error = verify(&fixed_key(), &token, ISSUED_AT).unwrap_err();

    assert_eq!(claim_of(error), "alg");
}

#[test]
fn correctly_signed_claims_verify() {
    let token = sign(Algorithm::HS256, &valid_claims());

    assert_eq!(verify(&fixed_key(), &token, ISSUED_AT).unwrap(), crate::reporter());
}

#[test]
fn unknown_role_is_rejected() {
    let token = sign(Algorithm::HS256, &TokenClaims { role: "superuser".to_owned(), ..valid_claims() });

    let error = verify(&fixed_key(), &token, ISSUED_AT).unwrap_err();

    assert!(error.to_string().contains("unknown role \"superuser\""), "{error}");
    assert_eq!(claim_of(error), "role");
}

#[test]
fn a_correctly_signed_token_with_the_system_role_is_rejected() {
    let token = sign(Algorithm::HS256, &TokenClaims { role: "system".to_owned(), ..valid_claims() });

    let error = verify(&fixed_key(), &token, ISSUED_AT).unwrap_err();

    assert!(error.to_string().contains("role system is taskledger's own"), "{error}");
    assert_eq!(claim_of(error), "role");
}

#[test]
fn no_token_is_minted_for_the_system_role() {
    let error = mint(&fixed_key(), &Actor::notification_service(), ISSUED_AT, Duration::hours(1)).unwrap_err();

    assert_eq!(claim_of(error), "role");
}

#[test]
fn other_issuer_is_rejected() {
    let token = sign(Algorithm::HS256, &TokenClaims { iss: "someone-else".to_owned(), ..valid_claims() });

    assert_eq!(claim_of(verify(&fixed_key(), &token, ISSUED_AT).unwrap_err()), "iss");
}

#[test]
fn malformed_unit_is_rejected() {
    let token = sign(Algorithm::HS256, &TokenClaims { unit: "sở khcn!".to_owned(), ..valid_claims() });

    assert_eq!(claim_of(verify(&fixed_key(), &token, ISSUED_AT).unwrap_err()), "unit");
}

#[test]
fn empty_subject_or_name_is_rejected() {
    let no_subject = sign(Algorithm::HS256, &TokenClaims { sub: String::new(), ..valid_claims() });
    let blank_name = sign(Algorithm::HS256, &TokenClaims { name: "  ".to_owned(), ..valid_claims() });

    assert_eq!(claim_of(verify(&fixed_key(), &no_subject, ISSUED_AT).unwrap_err()), "sub");
    assert_eq!(claim_of(verify(&fixed_key(), &blank_name, ISSUED_AT).unwrap_err()), "name");
}

#[test]
fn garbage_is_malformed() {
    for token in ["", "abc", "a.b.c", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9.!!!.sig"] {
        let error = verify(&fixed_key(), token, ISSUED_AT).unwrap_err();
        assert!(matches!(error, AuthError::Malformed | AuthError::BadSignature), "{token:?}: {error:?}");
    }
    assert!(matches!(verify(&fixed_key(), "a.b.c", ISSUED_AT), Err(AuthError::Malformed)));
}

#[test]
fn correctly_signed_payload_that_is_not_json_is_malformed() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(b"not json"));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(&RAW_KEY), Algorithm::HS256).unwrap();

    let error = verify(&fixed_key(), &format!("{message}.{signature}"), ISSUED_AT).unwrap_err();

    assert!(matches!(error, AuthError::Malformed), "{error:?}");
}

#[test]
fn claims_missing_a_field_are_malformed() {
    let mut claims = serde_json::to_value(valid_claims()).unwrap();
    claims.as_object_mut().unwrap().remove("role");
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&RAW_KEY)).unwrap();

    assert!(matches!(verify(&fixed_key(), &token, ISSUED_AT).unwrap_err(), AuthError::Malformed));
}

#[test]
fn mint_refuses_a_non_positive_ttl_and_an_empty_identity() {
    let key = fixed_key();
    let nameless = domain::actor::Actor { name: String::new(), ..reporter() };

    assert_eq!(claim_of(mint(&key, &reporter(), ISSUED_AT, Duration::ZERO).unwrap_err()), "exp");
    assert_eq!(claim_of(mint(&key, &nameless, ISSUED_AT, Duration::hours(1)).unwrap_err()), "name");
}

/// A token verified once is remembered by its key, and every later use is still judged: it expires, it is not
/// valid before it is issued, a token that differs by one character is verified in full, and another key knows
/// nothing of it.
#[test]
fn a_remembered_token_is_still_judged_at_every_use() {
    let key = fixed_key();
    let token = one_hour_token(&key);
    assert_eq!(verify(&key, &token, ISSUED_AT).expect("fresh"), reporter());
    assert_eq!(verify(&key.clone(), &token, ISSUED_AT + Duration::minutes(59)).expect("remembered"), reporter());
    let late = ISSUED_AT + Duration::hours(1) + LEEWAY + Duration::seconds(1);
    assert!(matches!(verify(&key, &token, late), Err(AuthError::Expired)));
    let early = ISSUED_AT - LEEWAY - Duration::seconds(1);
    assert!(verify(&key, &token, early).is_err(), "not valid before it is issued, remembered or not");

    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    assert!(matches!(verify(&key, &tampered, ISSUED_AT), Err(AuthError::BadSignature | AuthError::Malformed)));

    let other_key = TokenKey::generate();
    assert!(matches!(verify(&other_key, &token, ISSUED_AT), Err(AuthError::BadSignature)));
    assert_eq!(verify(&key, &token, ISSUED_AT).expect("still remembered by its own key"), reporter());
}

/// A token refused is not remembered: issued in the future, it is refused until its time comes, then accepted.
#[test]
fn a_refused_token_is_not_remembered() {
    let key = fixed_key();
    let token = one_hour_token(&key);
    let before = ISSUED_AT - Duration::minutes(5);
    assert!(verify(&key, &token, before).is_err());
    assert!(verify(&key, &token, before).is_err(), "refused again");
    assert_eq!(verify(&key, &token, ISSUED_AT).expect("its time has come"), reporter());
}
