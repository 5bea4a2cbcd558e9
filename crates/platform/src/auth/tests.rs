use super::*;

fn setup() -> (TokenIssuer, TokenVerifier, SigningKeyPair) {
    let pair = SigningKeyPair::generate();
    let issuer = TokenIssuer::new(&pair, Duration::from_secs(60)).unwrap();
    let verifier = TokenVerifier::new();
    verifier.add_key(pair.key_id(), pair.public_key());
    (issuer, verifier, pair)
}

#[test]
fn issued_tokens_verify_with_their_claims() {
    let (issuer, verifier, _) = setup();
    let person = Principal::Account(AccountId::generate());
    let platform = ServiceAccountId::generate();
    let (token, exp) = issuer
        .issue(&person, Some(&platform), &["guests".into()], 1_000)
        .unwrap();
    assert_eq!(exp, 1_060);
    let caller = verifier.verify(&token, 1_001).unwrap();
    assert_eq!(caller.principal, person);
    assert_eq!(caller.actor.as_ref(), Some(&platform));
    assert!(caller.has_scope("guests"));
    assert!(!caller.is_internal());
}

#[test]
fn expired_tokens_are_refused_also_from_cache() {
    let (issuer, verifier, _) = setup();
    let who = Principal::ServiceAccount(ServiceAccountId::generate());
    let (token, _) = issuer.issue(&who, None, &[], 1_000).unwrap();
    assert!(verifier.verify(&token, 1_030).is_ok());
    assert_eq!(verifier.verify(&token, 1_060), Err(AuthError::Expired));
    let (fresh, _) = issuer.issue(&who, None, &[], 5_000).unwrap();
    assert_eq!(verifier.verify(&fresh, 6_000), Err(AuthError::Expired));
}

#[test]
fn tokens_of_another_key_are_refused() {
    let (_, verifier, _) = setup();
    let (other, _, _) = setup();
    let who = Principal::Account(AccountId::generate());
    let (token, _) = other.issue(&who, None, &[], 1_000).unwrap();
    assert_eq!(verifier.verify(&token, 1_001), Err(AuthError::UnknownKey));
}

#[test]
fn a_forged_key_id_does_not_pass() {
    let (issuer, verifier, pair) = setup();
    let (_, _, other_pair) = setup();
    // Sign with another key but claim the trusted key id.
    let mut forged = TokenIssuer::new(&other_pair, Duration::from_secs(60)).unwrap();
    forged.kid = pair.key_id().to_owned();
    let who = Principal::Account(AccountId::generate());
    let (token, _) = forged.issue(&who, None, &[], 1_000).unwrap();
    assert!(matches!(
        verifier.verify(&token, 1_001),
        Err(AuthError::Invalid(_))
    ));
    let (good, _) = issuer.issue(&who, None, &[], 1_000).unwrap();
    assert!(verifier.verify(&good, 1_001).is_ok());
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer(Some("bearer abc")), Ok("abc"));
    assert_eq!(bearer(None), Err(AuthError::Missing));
    assert_eq!(bearer(Some("Basic abc")), Err(AuthError::Malformed));
    assert_eq!(bearer(Some("Bearer ")), Err(AuthError::Malformed));
}

#[test]
fn key_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/signing.pem");
    let a = SigningKeyPair::load_or_create(&path).unwrap();
    let b = SigningKeyPair::load_or_create(&path).unwrap();
    assert_eq!(a.key_id(), b.key_id());
    assert_eq!(a.public_key(), b.public_key());
}

#[test]
fn secrets_hash_and_compare() {
    let s = random_secret();
    assert_eq!(s.len(), 43);
    assert!(hashes_equal(&hash_secret(&s), &hash_secret(&s)));
    assert!(!hashes_equal(&hash_secret(&s), &hash_secret("other")));
}

#[test]
fn a_key_identity_no_longer_publishes_is_distrusted_even_for_cached_tokens() {
    let (issuer, verifier, old) = setup();
    let who = Principal::ServiceAccount(ServiceAccountId::generate());
    let (token, _) = issuer.issue(&who, None, &[], 1_000).unwrap();
    assert!(
        verifier.verify(&token, 1_001).is_ok(),
        "trusted and now cached"
    );
    let new = SigningKeyPair::generate();
    verifier.replace_keys(&[
        (new.key_id().to_owned(), new.public_key()),
        (old.key_id().to_owned(), old.public_key()),
    ]);
    assert!(
        verifier.verify(&token, 1_002).is_ok(),
        "still listed as previous"
    );
    verifier.replace_keys(&[(new.key_id().to_owned(), new.public_key())]);
    assert!(
        verifier.verify(&token, 1_003).is_err(),
        "removed: refused, cache or not"
    );
    verifier.replace_keys(&[]);
    assert!(
        verifier.knows_key(new.key_id()),
        "an empty answer changes nothing"
    );
}

#[test]
fn tokens_of_an_ended_session_are_refused_even_from_cache() {
    let (issuer, verifier, _) = setup();
    let person = AccountId::generate();
    let (token, exp) = issuer.issue_session(&person, "s1", 1_000, 1_060).unwrap();
    let (other, _) = issuer.issue_session(&person, "s2", 1_000, 1_060).unwrap();
    assert_eq!(
        verifier.verify(&token, 1_001).unwrap().session.as_deref(),
        Some("s1"),
        "verified and cached"
    );
    verifier.end_sessions(&[("s1".into(), exp)], 1_002);
    assert_eq!(
        verifier.verify(&token, 1_003).unwrap_err(),
        AuthError::SessionEnded
    );
    assert!(
        verifier.verify(&other, 1_003).is_ok(),
        "another session goes on"
    );
    let (key_token, _) = issuer
        .issue(&Principal::Account(person), None, &[], 1_000)
        .unwrap();
    assert!(
        verifier.verify(&key_token, 1_003).is_ok(),
        "a key's token has no session"
    );
}
