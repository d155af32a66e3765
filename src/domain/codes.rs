//! Codes a person types: one-time codes sent by SMS or email, and recovery
//! codes. Both come from the OS CSPRNG and are stored as keyed digests.

use std::fmt;

use rand::Rng;
use rand::rngs::OsRng;

/// Six digits, uniformly drawn: 1 in a million per guess, and the attempt
/// limit allows five guesses per challenge.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    pub fn generate() -> Self {
        Self(format!("{:06}", OsRng.gen_range(0..1_000_000_u32)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(<redacted>)")
    }
}

const RECOVERY_BYTES: usize = 10;

/// 80 random bits as 16 base32 characters in groups of four
/// (`ABCD-EFGH-IJKL-MNOP`): easy to copy, safe to store as a digest.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn generate() -> Self {
        let bytes: [u8; RECOVERY_BYTES] = OsRng.r#gen();
        let encoded = base32_encode(&bytes);
        let grouped: Vec<String> = encoded
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect();
        Self(grouped.join("-"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical form digests are computed over: the 16 characters,
    /// upper-cased, without separators.
    pub fn canonical(&self) -> String {
        canonical_recovery(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// What a person typed, normalised: a 6-digit code, a recovery code, or neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnteredCode {
    Digits(String),
    Recovery(String),
}

impl EnteredCode {
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > 64 {
            return None;
        }
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() == 6 && compact.chars().all(|c| c.is_ascii_digit()) {
            return Some(Self::Digits(compact));
        }
        canonical_recovery(&compact).map(Self::Recovery)
    }
}

fn canonical_recovery(raw: &str) -> Option<String> {
    let canonical: String = raw
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (canonical.len() == 16 && canonical.chars().all(|c| BASE32.contains(&(c as u8))))
        .then_some(canonical)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (also the encoding authenticator apps
/// expect for TOTP secrets).
pub(super) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn one_time_codes_are_six_digits() {
        for _ in 0..100 {
            let code = OneTimeCode::generate();
            assert_eq!(code.as_str().len(), 6);
            assert!(code.as_str().chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn recovery_codes_carry_80_bits_and_parse_back() {
        let code = RecoveryCode::generate();
        assert_eq!(code.as_str().len(), 19);
        assert_eq!(code.canonical().len(), 16);
        assert_eq!(
            EnteredCode::parse(&code.as_str().to_lowercase()),
            Some(EnteredCode::Recovery(code.canonical()))
        );
        assert_eq!(
            EnteredCode::parse(" 123 456 "),
            Some(EnteredCode::Digits("123456".to_owned()))
        );
        assert_eq!(EnteredCode::parse("12345"), None);
        assert_eq!(
            EnteredCode::parse("ABCD-EFGH-IJKL-MNO1"),
            None,
            "1 is not base32"
        );
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32_encode(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC{0,80}") {
            let _ = EnteredCode::parse(&raw);
        }
    }
}
