use chrono::TimeZone;

use super::*;

/// The RFC 6238 appendix B seed for SHA-1.
fn rfc_secret() -> TotpSecret {
    TotpSecret::from_bytes(b"12345678901234567890".to_vec())
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).unwrap()
}

#[test]
fn rfc_6238_sha1_vectors_truncated_to_six_digits() {
    // Appendix B lists 8-digit values; 6 digits are the same value mod 10^6.
    for (time, eight_digits) in [
        (59_u64, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(
            rfc_secret().code_at_step(time / 30).unwrap(),
            eight_digits[2..],
            "T={time}"
        );
    }
}

#[test]
fn rfc_4226_hotp_vectors() {
    // With a 30 s step, step n is HOTP counter n.
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, code) in expected.iter().enumerate() {
        assert_eq!(
            rfc_secret().code_at_step(counter as u64).unwrap(),
            *code,
            "counter {counter}"
        );
    }
}

#[test]
fn one_step_of_skew_either_side_and_no_more() {
    let secret = TotpSecret::generate();
    let now = at(1_700_000_015);
    let step = 1_700_000_015 / 30;
    for offset in [-1_i64, 0, 1] {
        let code = secret.code_at_step((step as i64 + offset) as u64).unwrap();
        assert_eq!(
            secret.matching_step(&code, now, None),
            Some((step as i64 + offset) as u64),
            "offset {offset}"
        );
    }
    for offset in [-2_i64, 2] {
        let code = secret.code_at_step((step as i64 + offset) as u64).unwrap();
        assert_eq!(
            secret.matching_step(&code, now, None),
            None,
            "offset {offset}"
        );
    }
}

#[test]
fn a_code_is_accepted_once() {
    let secret = TotpSecret::generate();
    let now = at(1_700_000_015);
    let code = secret.code_at_step(1_700_000_015 / 30).unwrap();
    let step = secret.matching_step(&code, now, None).unwrap();
    assert_eq!(
        secret.matching_step(&code, now, Some(step)),
        None,
        "replay refused"
    );
    // An older code is refused too once a later step was used.
    let previous = secret.code_at_step(step - 1).unwrap();
    assert_eq!(secret.matching_step(&previous, now, Some(step)), None);
}

#[test]
fn secrets_are_160_bits_and_the_uri_is_what_apps_expect() {
    let secret = TotpSecret::generate();
    assert_eq!(secret.as_bytes().len(), 20);
    assert_eq!(secret.base32().len(), 32);
    let uri = secret.otpauth_uri("latchkey", "ada@example.com").unwrap();
    assert!(
        uri.starts_with("otpauth://totp/latchkey:ada%40example.com?secret="),
        "{uri}"
    );
    // SHA-1, 6 digits and 30 s are the Key URI format's defaults, so totp-rs omits them.
    assert!(
        uri.contains(&secret.base32()) && uri.contains("issuer=latchkey"),
        "{uri}"
    );
}
