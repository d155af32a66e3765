use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::*;
use crate::store::SigningKeyRecord;

/// The example key of RFC 8037 appendix A.1.
const RFC_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn sealer() -> Sealer {
    Sealer::from_master_key(&[3; 32])
}

fn record(key: &NewSigningKey) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: key.kid.clone(),
        algorithm: key.algorithm.to_owned(),
        public_key: key.public_key.clone(),
        sealed_private_key: key.sealed_private_key.clone(),
        created_at: key.created_at,
        retired_at: None,
    }
}

#[test]
fn the_kid_is_the_rfc_7638_thumbprint() {
    // RFC 8037 appendix A.3.
    let x: [u8; 32] = URL_SAFE_NO_PAD.decode(RFC_X).unwrap().try_into().unwrap();
    assert_eq!(
        thumbprint(&x),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn our_pkcs8_path_signs_the_rfc_8037_example() {
    // RFC 8037 appendix A.4: Ed25519 is deterministic, so the signature of
    // the example must match byte for byte once the key went through PKCS#8
    // (dalek) into ring (jsonwebtoken), as every key of ours does.
    let d: [u8; 32] = URL_SAFE_NO_PAD.decode(RFC_D).unwrap().try_into().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&d);
    assert_eq!(
        URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
        RFC_X
    );
    let der = key.to_pkcs8_der().unwrap();
    let message = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let signature = jsonwebtoken::crypto::sign(
        message,
        &EncodingKey::from_ed_der(der.as_bytes()),
        Algorithm::EdDSA,
    )
    .unwrap();
    assert_eq!(
        signature,
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    let public = key.verifying_key().to_bytes();
    assert!(
        jsonwebtoken::crypto::verify(
            &signature,
            message,
            &DecodingKey::from_ed_der(&public),
            Algorithm::EdDSA
        )
        .unwrap()
    );
}

#[test]
fn a_generated_key_opens_only_with_its_secret_key_and_in_its_row() {
    let key = generate(&sealer(), DateTime::UNIX_EPOCH).unwrap();
    assert_eq!(key.algorithm, "EdDSA");
    assert_eq!(
        key.kid,
        thumbprint(&key.public_key.clone().try_into().unwrap())
    );
    assert!(
        !key.sealed_private_key
            .windows(key.public_key.len())
            .any(|w| w == key.public_key.as_slice()),
        "the sealed key shows nothing of the key pair"
    );
    let (signing, verifying) = open(&record(&key), &sealer()).unwrap();
    assert_eq!(signing.kid, key.kid);
    assert_eq!(verifying.public.as_slice(), key.public_key.as_slice());

    let other_secret = Sealer::from_master_key(&[4; 32]);
    assert!(matches!(
        open(&record(&key), &other_secret),
        Err(TokenError::KeyUnreadable)
    ));

    let other = generate(&sealer(), DateTime::UNIX_EPOCH).unwrap();
    let mut moved = record(&other);
    moved.sealed_private_key = key.sealed_private_key.clone();
    assert!(
        matches!(open(&moved, &sealer()), Err(TokenError::KeyUnreadable)),
        "sealed under another kid"
    );

    let mut swapped_public = record(&key);
    swapped_public.public_key = other.public_key;
    assert!(
        matches!(
            open(&swapped_public, &sealer()),
            Err(TokenError::KeyUnreadable)
        ),
        "a public key planted in the row is not trusted"
    );
}

#[test]
fn the_jwk_names_curve_algorithm_use_and_kid() {
    let key = generate(&sealer(), DateTime::UNIX_EPOCH).unwrap();
    let (_, verifying) = open(&record(&key), &sealer()).unwrap();
    let jwk = verifying.jwk();
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], key.kid.as_str());
    assert_eq!(
        URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap(),
        key.public_key
    );
    assert_eq!(
        jwk.as_object().unwrap().len(),
        6,
        "no private member: {jwk}"
    );
    assert!(!format!("{verifying:?}").contains(jwk["x"].as_str().unwrap()));
}
