//! Passwords an operator forbids besides zxcvbn's 30,000 most common: NIST
//! SP 800-63B 3.1.1.2 asks for a blocklist of "commonly used, expected, or
//! compromised" passwords, and OWASP ASVS 5.0 6.2.12 for a check against
//! breached ones. Keycloak calls the same thing its password blacklist.
//!
//! The list is one entry a line: a password as it is, or 40 hexadecimal
//! digits, the SHA-1 of one, optionally followed by `:count`, which is how
//! Have I Been Pwned publishes its Pwned Passwords (so a download of them,
//! cut to the most frequent, can be used as it is). Only the first 8 bytes
//! of each SHA-1 are kept, sorted: 8 bytes an entry in memory, a binary
//! search a check, and a random password wrongly refused about once in
//! 2^64 / entries.

use std::io::BufRead;

use sha1::{Digest, Sha1};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocklist {
    /// The first 8 bytes of each entry's SHA-1, big-endian, sorted, unique.
    digests: Vec<u64>,
}

impl Blocklist {
    /// Reads a list, a line an entry; blank lines are skipped, and each
    /// line is trimmed of the spaces around it.
    pub fn read(lines: impl BufRead) -> std::io::Result<Self> {
        let mut digests = Vec::new();
        for line in lines.lines() {
            let line = line?;
            let entry = line.trim();
            if entry.is_empty() {
                continue;
            }
            match sha1_hex(entry) {
                Some(digest) => digests.push(digest),
                None => {
                    // As a password is judged: normalised, as typed and in
                    // lower case, so `Summer2024` also bars `summer2024`.
                    let password: String = entry.nfkc().collect();
                    digests.push(prefix(&password));
                    digests.push(prefix(&password.to_lowercase()));
                }
            }
        }
        digests.sort_unstable();
        digests.dedup();
        Ok(Self { digests })
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `password` (already normalised), as typed or in lower case,
    /// is on the list.
    pub fn contains(&self, password: &str) -> bool {
        if self.digests.is_empty() {
            return false;
        }
        let listed = |candidate: &str| self.digests.binary_search(&prefix(candidate)).is_ok();
        listed(password) || listed(&password.to_lowercase())
    }
}

fn prefix(password: &str) -> u64 {
    let digest = Sha1::digest(password.as_bytes());
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The digest's first 8 bytes when `entry` is 40 hexadecimal digits, with
/// or without a `:count` after them.
fn sha1_hex(entry: &str) -> Option<u64> {
    let (hex, count) = entry.split_once(':').unwrap_or((entry, ""));
    let is_hex = hex.len() == 40 && hex.bytes().all(|byte| byte.is_ascii_hexdigit());
    let is_count = count.bytes().all(|byte| byte.is_ascii_digit());
    if !(is_hex && is_count) {
        return None;
    }
    u64::from_str_radix(&hex[..16], 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Blocklist {
        Blocklist::read(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_listed_password_is_barred_as_typed_and_in_lower_case() {
        let list = list("  Tangerine Lighthouse 1987  \r\n\nsecond entry\n");
        assert_eq!(list.len(), 3, "both forms of the first, the second once");
        assert!(list.contains("Tangerine Lighthouse 1987"));
        assert!(list.contains("tangerine lighthouse 1987"));
        assert!(list.contains("TANGERINE LIGHTHOUSE 1987"));
        assert!(list.contains("second entry"));
        assert!(!list.contains("Tangerine Lighthouse 1988"));
        assert!(!list.contains(" second entry"));
    }

    #[test]
    fn pwned_passwords_lines_are_sha1_digests() {
        // SHA-1("password") and SHA-1("letmein"), as Have I Been Pwned lists them.
        let list = list(
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\n\
             b7a875fc1ea228b9061041b7cec4bd3c52ab3ce3\n",
        );
        assert_eq!(list.len(), 2);
        assert!(list.contains("password"));
        assert!(list.contains("PASSWORD"), "checked in lower case too");
        assert!(list.contains("letmein"));
        assert!(!list.contains("password1"));
    }

    #[test]
    fn anything_else_is_a_password() {
        // Not 40 digits, or not a count after the colon: plain passwords.
        let list = list(
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:x\n",
        );
        assert!(list.contains("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD"));
        assert!(list.contains("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:x"));
        assert!(!list.contains("password"));
    }

    #[test]
    fn entries_are_normalised_like_passwords() {
        // "ﬁ" (U+FB01) is "fi" once NFKC-normalised, as `Password::new` does.
        let list = list("ﬁligree ﬁsh\n");
        assert!(list.contains("filigree fish"));
    }

    #[test]
    fn an_empty_list_bars_nothing() {
        let list = list("\n  \n");
        assert!(list.is_empty());
        assert!(!list.contains(""));
        assert!(!list.contains("password"));
    }
}
