use std::fmt;
use std::marker::PhantomData;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const TOKEN_BYTES: usize = 32;
/// 32 bytes in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// A 256-bit secret from the OS CSPRNG, handed to the person (in a link, a
/// cookie) and never stored: the database keeps only its SHA-256 digest, so
/// a leaked database does not hand out working links or sessions. `K` says
/// what the token is for, so a session id can never be taken for a link.
pub struct Token<K> {
    bytes: [u8; TOKEN_BYTES],
    kind: PhantomData<K>,
}

/// What a `Token` is for.
pub trait TokenKind {
    const NAME: &'static str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Csrf;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlock;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reset;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailChange;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailRevert;

impl TokenKind for Verification {
    const NAME: &'static str = "VerificationToken";
}
impl TokenKind for Session {
    const NAME: &'static str = "SessionToken";
}
impl TokenKind for Challenge {
    const NAME: &'static str = "ChallengeToken";
}
impl TokenKind for Csrf {
    const NAME: &'static str = "CsrfToken";
}

impl TokenKind for Device {
    const NAME: &'static str = "DeviceToken";
}

impl TokenKind for Unlock {
    const NAME: &'static str = "UnlockToken";
}

impl TokenKind for Reset {
    const NAME: &'static str = "ResetToken";
}

impl TokenKind for EmailChange {
    const NAME: &'static str = "EmailChangeToken";
}

impl TokenKind for EmailRevert {
    const NAME: &'static str = "EmailRevertToken";
}

/// The secret in a verification link.
pub type VerificationToken = Token<Verification>;
/// The secret in a session cookie.
pub type SessionToken = Token<Session>;
/// The `mfa_token` that carries a login from the password step to the second factor.
pub type ChallengeToken = Token<Challenge>;
/// The per-browser secret that a form must echo back (double submit).
pub type CsrfToken = Token<Csrf>;
/// The long-lived cookie of a browser that completed a sign-in.
pub type DeviceToken = Token<Device>;
/// The link that lifts a login lockout, emailed to the owner.
pub type UnlockToken = Token<Unlock>;
/// The link that sets a new password for a forgotten one, emailed to the owner.
pub type ResetToken = Token<Reset>;
/// The link, emailed to a new address, that makes it the account's address.
pub type EmailChangeToken = Token<EmailChange>;
/// The link, emailed to the old address once a change is made, that undoes it.
pub type EmailRevertToken = Token<EmailRevert>;

/// The stored, looked-up form of a token. A plain hash suffices because the
/// token already has 256 bits of entropy: there is nothing to brute-force.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest([u8; 32]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the token is malformed")]
pub struct TokenError;

impl<K> Token<K> {
    pub fn generate() -> Self {
        let mut bytes = [0_u8; TOKEN_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self {
            bytes,
            kind: PhantomData,
        }
    }

    /// Accepts exactly the form `encode` produces and nothing else.
    pub fn parse(raw: &str) -> Result<Self, TokenError> {
        if raw.len() != TOKEN_CHARS {
            return Err(TokenError);
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| TokenError)?;
        let bytes: [u8; TOKEN_BYTES] = bytes.try_into().map_err(|_| TokenError)?;
        Ok(Self {
            bytes,
            kind: PhantomData,
        })
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.bytes)
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.bytes).into())
    }

    /// Equality in constant time, for a secret compared with one the client
    /// sent: how long the comparison takes says nothing about where it failed.
    pub fn matches(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

// Written out rather than derived: derives would demand `K: Clone` etc.
impl<K> Clone for Token<K> {
    fn clone(&self) -> Self {
        Self {
            bytes: self.bytes,
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Token<K> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<K> Eq for Token<K> {}

impl TokenDigest {
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl<K: TokenKind> fmt::Debug for Token<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", K::NAME)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn round_trips_through_its_encoding() {
        let token = VerificationToken::generate();
        let encoded = token.encode();
        assert_eq!(encoded.len(), TOKEN_CHARS);
        assert_eq!(VerificationToken::parse(&encoded).unwrap(), token);
        assert_eq!(
            VerificationToken::parse(&encoded).unwrap().digest(),
            token.digest()
        );
    }

    #[test]
    fn matches_compares_the_secret() {
        let token = CsrfToken::generate();
        assert!(token.matches(&CsrfToken::parse(&token.encode()).unwrap()));
        assert!(!token.matches(&CsrfToken::generate()));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = ResetToken::generate();
        assert_eq!(format!("{token:?}"), "ResetToken(<redacted>)");
    }

    #[test]
    fn two_tokens_differ() {
        assert_ne!(
            VerificationToken::generate().encode(),
            VerificationToken::generate().encode()
        );
    }

    #[test]
    fn rejects_malformed_tokens() {
        let good = VerificationToken::generate().encode();
        for bad in [
            String::new(),
            good[1..].to_owned(),
            format!("{good}A"),
            good.replace(|_| true, "+"),
            "=".repeat(43),
        ] {
            assert!(VerificationToken::parse(&bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC{0,80}") {
            let _ = VerificationToken::parse(&raw);
        }
    }
}
