use std::fmt;

const MAX_NAME_CHARS: usize = 100;

/// The name a person wants to be greeted by: 1 to 100 characters once
/// trimmed, with no control characters (they would corrupt emails and logs).
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Enter your name.")]
    Empty,
    #[error("Use at most 100 characters for your name.")]
    TooLong,
    #[error("Your name contains characters that are not allowed.")]
    ControlCharacter,
}

impl NameError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong => "too_long",
            Self::ControlCharacter => "invalid_characters",
        }
    }
}

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        clean(raw, MAX_NAME_CHARS).map(|name| Self(name.to_owned()))
    }

    /// Rebuilds a name that was checked when it was stored.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a person calls one of their passkeys ("Work laptop", "Blue key"):
/// 1 to 64 characters once trimmed, as clean as a display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

const MAX_PASSKEY_NAME_CHARS: usize = 64;

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        clean(raw, MAX_PASSKEY_NAME_CHARS).map(|name| Self(name.to_owned()))
    }

    /// The name of an account's `nth` passkey (from 1) that was not named.
    pub fn numbered(nth: usize) -> Self {
        Self(format!("Passkey {nth}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `raw` trimmed, when it is 1 to `max` characters with none forbidden.
fn clean(raw: &str, max: usize) -> Result<&str, NameError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(NameError::TooLong);
    }
    if trimmed.chars().any(is_forbidden) {
        return Err(NameError::ControlCharacter);
    }
    Ok(trimmed)
}

/// Control characters (Cc), plus the bidirectional overrides that let a name
/// display as something other than what it is.
fn is_forbidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName(..)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn trims_and_counts_code_points() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            DisplayName::parse(&"é".repeat(101)).unwrap_err(),
            NameError::TooLong
        );
        assert_eq!(DisplayName::parse(" \t ").unwrap_err(), NameError::Empty);
    }

    #[test]
    fn rejects_control_characters() {
        for raw in ["Ada\nLovelace", "Ada\u{0}", "Ada\u{7f}", "\u{202E}evil"] {
            assert_eq!(
                DisplayName::parse(raw).unwrap_err(),
                NameError::ControlCharacter,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn passkey_names_are_shorter_and_as_clean() {
        assert_eq!(
            PasskeyName::parse(" Blue key ").unwrap().as_str(),
            "Blue key"
        );
        assert!(PasskeyName::parse(&"k".repeat(64)).is_ok());
        assert_eq!(
            PasskeyName::parse(&"k".repeat(65)).unwrap_err(),
            NameError::TooLong
        );
        assert_eq!(PasskeyName::parse("").unwrap_err(), NameError::Empty);
        assert_eq!(
            PasskeyName::parse("key\u{202E}").unwrap_err(),
            NameError::ControlCharacter
        );
        assert_eq!(PasskeyName::numbered(2).as_str(), "Passkey 2");
    }

    proptest! {
        #[test]
        fn accepted_names_are_trimmed_and_clean(raw in "\\PC{0,120}") {
            if let Ok(name) = DisplayName::parse(&raw) {
                prop_assert_eq!(name.as_str(), name.as_str().trim());
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= 100);
                prop_assert!(!name.as_str().chars().any(char::is_control));
            }
        }
    }
}
