use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest admin API key accepted: 32 characters of `openssl rand
/// -base64 32` carry about 190 bits.
pub const MIN_ADMIN_KEY_CHARS: usize = 32;

/// A configured Bearer key (the admin API's, or the metrics scrape token),
/// kept only as its SHA-256 digest. Comparing
/// digests of equal length in constant time tells an attacker nothing about
/// the key's length or its first differing byte.
#[derive(Clone)]
pub struct AdminKey {
    digest: [u8; 32],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdminKeyError {
    #[error(
        "{setting} is too short: use at least {MIN_ADMIN_KEY_CHARS} characters (openssl rand -base64 32 makes one)"
    )]
    TooShort { setting: &'static str },
    #[error(
        "{setting} may hold only printable ASCII characters, no spaces: an Authorization header could not carry it"
    )]
    Unprintable { setting: &'static str },
}

impl AdminKey {
    /// `LATCHKEY_ADMIN_API_KEY`'s value.
    pub fn parse(raw: &str) -> Result<Self, AdminKeyError> {
        Self::parse_setting(raw, "LATCHKEY_ADMIN_API_KEY")
    }

    /// The value of `setting`, which errors name.
    pub fn parse_setting(raw: &str, setting: &'static str) -> Result<Self, AdminKeyError> {
        // A header value is visible ASCII; a key with anything else could
        // never be presented, and a trailing newline is a copy-paste slip.
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AdminKeyError::Unprintable { setting });
        }
        if raw.len() < MIN_ADMIN_KEY_CHARS {
            return Err(AdminKeyError::TooShort { setting });
        }
        Ok(Self {
            digest: Sha256::digest(raw.as_bytes()).into(),
        })
    }

    /// Whether `presented` is the key, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(self.digest.ct_eq(&presented))
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdefghijklmnopqrstuv";

    #[test]
    fn short_or_unprintable_keys_are_refused() {
        assert_eq!(
            AdminKey::parse(&KEY[1..]).unwrap_err(),
            AdminKeyError::TooShort {
                setting: "LATCHKEY_ADMIN_API_KEY"
            }
        );
        assert_eq!(
            AdminKey::parse_setting("", "LATCHKEY_METRICS_TOKEN")
                .unwrap_err()
                .to_string(),
            "LATCHKEY_METRICS_TOKEN is too short: use at least 32 characters (openssl rand -base64 32 makes one)"
        );
        assert_eq!(
            AdminKey::parse(&format!("{KEY}\n")).unwrap_err(),
            AdminKeyError::Unprintable {
                setting: "LATCHKEY_ADMIN_API_KEY"
            }
        );
        assert_eq!(
            AdminKey::parse(&format!("{KEY} x")).unwrap_err(),
            AdminKeyError::Unprintable {
                setting: "LATCHKEY_ADMIN_API_KEY"
            }
        );
        assert_eq!(
            AdminKey::parse("ééééééééééééééééééééééééééééééééé").unwrap_err(),
            AdminKeyError::Unprintable {
                setting: "LATCHKEY_ADMIN_API_KEY"
            }
        );
    }

    #[test]
    fn only_the_key_itself_matches() {
        let key = AdminKey::parse(KEY).unwrap();
        assert!(key.matches(KEY));
        assert!(!key.matches(&KEY[..31]));
        assert!(!key.matches(&format!("{KEY}x")));
        assert!(!key.matches(""));
        assert!(!format!("{key:?}").contains(KEY));
    }
}
