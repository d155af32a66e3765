use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::*;
use crate::crypto::Sealer;
use crate::store::SigningKeyRecord;
use crate::tokens::keys::{self, VerifyingKey};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "latchkey";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn key_pair() -> (SigningKey, VerifyingKey) {
    let sealer = Sealer::from_master_key(&[9; 32]);
    let key = keys::generate(&sealer, now()).unwrap();
    let record = SigningKeyRecord {
        kid: key.kid,
        algorithm: key.algorithm.to_owned(),
        public_key: key.public_key,
        sealed_private_key: key.sealed_private_key,
        created_at: key.created_at,
        retired_at: None,
    };
    keys::open(&record, &sealer).unwrap()
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISSUER.to_owned(),
        sub: UserId::generate(),
        aud: AUDIENCE.to_owned(),
        exp: now().timestamp() + 900,
        iat: now().timestamp(),
        nbf: None,
        jti: "jti-1".to_owned(),
        sid: Some(Uuid::now_v7()),
        aal: Some("aal2".to_owned()),
        amr: vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()],
    }
}

/// Signs any header and payload with the real key, as a forger cannot.
fn sign_raw(header: &Header, payload: &Value, key: &SigningKey) -> String {
    jsonwebtoken::encode(header, payload, &key.encoding).unwrap()
}

fn header_for(key: &SigningKey) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(TYPE.to_owned());
    header.kid = Some(key.kid.clone());
    header
}

fn check(token: &str, key: &VerifyingKey, at: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
    let kid = key_id(token)?;
    assert_eq!(kid, key.kid);
    decode(token, &key.decoding, &validation(ISSUER, AUDIENCE), at)
}

fn invalid(result: Result<impl std::fmt::Debug, TokenError>) -> &'static str {
    match result {
        Err(TokenError::Invalid(reason)) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn a_token_round_trips_with_its_claims() {
    let (signing, verifying) = key_pair();
    let claims = claims();
    let token = encode(&claims, &signing).unwrap();
    assert_eq!(check(&token, &verifying, now()).unwrap(), claims);
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": signing.kid })
    );
}

#[test]
fn expiry_is_judged_by_the_given_time_with_a_few_seconds_of_leeway() {
    let (signing, verifying) = key_pair();
    let claims = claims();
    let token = encode(&claims, &signing).unwrap();
    let exp = DateTime::from_timestamp(claims.exp, 0).unwrap();
    let last_good = exp + TimeDelta::seconds(LEEWAY_SECONDS - 1);
    assert!(check(&token, &verifying, last_good).is_ok());
    assert!(matches!(
        check(&token, &verifying, last_good + TimeDelta::seconds(1)),
        Err(TokenError::Expired)
    ));
    // Long ago by the system clock: jsonwebtoken's own exp check is off.
    let mut old = claims;
    old.exp = 1_000;
    old.iat = 100;
    let token = encode(&old, &signing).unwrap();
    assert!(
        check(
            &token,
            &verifying,
            DateTime::from_timestamp(500, 0).unwrap()
        )
        .is_ok()
    );
}

#[test]
fn a_token_not_valid_yet_is_refused() {
    let (signing, verifying) = key_pair();
    let mut claims = claims();
    claims.nbf = Some(now().timestamp() + 60);
    let token = encode(&claims, &signing).unwrap();
    assert_eq!(invalid(check(&token, &verifying, now())), "not valid yet");
    assert!(check(&token, &verifying, now() + TimeDelta::seconds(60)).is_ok());
}

#[test]
fn alg_none_is_refused_before_any_key_is_used() {
    let (signing, _) = key_pair();
    let header = json!({ "alg": "none", "typ": "at+jwt", "kid": signing.kid });
    let payload = serde_json::to_value(claims()).unwrap();
    for alg_none in [
        format!("{}.{}.", b64(&header), b64(&payload)),
        format!("{}.{}", b64(&header), b64(&payload)),
    ] {
        assert!(matches!(key_id(&alg_none), Err(TokenError::Invalid(_))));
    }
    let header = json!({ "alg": "None", "typ": "at+jwt", "kid": signing.kid });
    assert_eq!(
        invalid(key_id(&format!("{}.{}.", b64(&header), b64(&payload)))),
        "algorithm is not EdDSA"
    );
}

#[test]
fn hs256_signed_with_our_public_key_is_refused_at_both_gates() {
    let (signing, verifying) = key_pair();
    let payload = serde_json::to_value(claims()).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(TYPE.to_owned());
    header.kid = Some(signing.kid);
    let x = URL_SAFE_NO_PAD.encode(verifying.public);
    for secret in [&verifying.public[..], x.as_bytes()] {
        let forged =
            jsonwebtoken::encode(&header, &payload, &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(invalid(key_id(&forged)), "algorithm is not EdDSA");
        // Even past our header check, the key is pinned to EdDSA.
        assert_eq!(
            invalid(decode(
                &forged,
                &verifying.decoding,
                &validation(ISSUER, AUDIENCE),
                now()
            )),
            "algorithm is not EdDSA"
        );
    }
}

#[test]
fn a_tampered_or_foreign_token_has_a_bad_signature() {
    let (signing, verifying) = key_pair();
    let token = encode(&claims(), &signing).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(UserId::generate());
    let tampered = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_eq!(
        invalid(check(&tampered, &verifying, now())),
        "bad signature"
    );

    let (other, _) = key_pair();
    let mut foreign = encode(&claims(), &other).unwrap();
    // Same kid as ours, another key's signature.
    foreign = foreign.replacen(
        foreign.split('.').next().unwrap(),
        &b64(&json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": signing.kid })),
        1,
    );
    assert_eq!(invalid(check(&foreign, &verifying, now())), "bad signature");
}

#[test]
fn wrong_issuer_or_audience_is_refused_even_when_well_signed() {
    let (signing, verifying) = key_pair();
    let mut wrong_iss = claims();
    wrong_iss.iss = "https://evil.example.com".to_owned();
    let token = encode(&wrong_iss, &signing).unwrap();
    assert_eq!(invalid(check(&token, &verifying, now())), "wrong issuer");

    let mut wrong_aud = claims();
    wrong_aud.aud = "billing".to_owned();
    let token = encode(&wrong_aud, &signing).unwrap();
    assert_eq!(invalid(check(&token, &verifying, now())), "wrong audience");

    let mut payload = serde_json::to_value(claims()).unwrap();
    payload["aud"] = json!([AUDIENCE, "billing"]);
    let token = sign_raw(&header_for(&signing), &payload, &signing);
    assert!(
        matches!(
            check(&token, &verifying, now()),
            Err(TokenError::Invalid(_))
        ),
        "we issue one audience, as a string"
    );
}

#[test]
fn required_claims_must_be_present() {
    let (signing, verifying) = key_pair();
    for claim in ["exp", "iss", "aud", "sub", "iat", "jti"] {
        let mut payload = serde_json::to_value(claims()).unwrap();
        payload.as_object_mut().unwrap().remove(claim);
        let token = sign_raw(&header_for(&signing), &payload, &signing);
        assert!(
            matches!(
                check(&token, &verifying, now()),
                Err(TokenError::Invalid(_))
            ),
            "{claim}"
        );
    }
}

#[test]
fn the_header_must_be_an_access_token_header_with_a_kid() {
    let (signing, _) = key_pair();
    let payload = b64(&serde_json::to_value(claims()).unwrap());
    let with = |header: Value| format!("{}.{payload}.c2ln", b64(&header));
    let kid = signing.kid.as_str();
    assert_eq!(
        invalid(key_id(&with(json!({ "alg": "EdDSA", "kid": kid })))),
        "not an access token"
    );
    assert_eq!(
        invalid(key_id(&with(
            json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid })
        ))),
        "not an access token"
    );
    assert_eq!(
        key_id(&with(
            json!({ "alg": "EdDSA", "typ": "application/AT+JWT", "kid": kid })
        ))
        .unwrap(),
        kid
    );
    assert_eq!(
        invalid(key_id(&with(json!({ "alg": "EdDSA", "typ": "at+jwt" })))),
        "no key id"
    );
    assert_eq!(
        invalid(key_id(&with(
            json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": kid, "crit": ["exp"] })
        ))),
        "unsupported critical header"
    );
}

#[test]
fn malformed_tokens_are_invalid_without_panicking() {
    let long = "a".repeat(5000);
    for token in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "!!!.e30.e30",
        "e30.e30.e30",
        "bnVsbA.e30.e30",
        long.as_str(),
    ] {
        assert!(
            matches!(key_id(token), Err(TokenError::Invalid(_))),
            "{token:.20}"
        );
    }
}
