use std::fmt;

/// A phone number in E.164 form (`+` and 8 to 15 digits), the form SMS
/// providers expect. Spaces, dashes, dots and brackets are dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Enter the number in international form, like +44 20 7946 0958.")]
pub struct PhoneError;

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        if raw.len() > 64 {
            return Err(PhoneError);
        }
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or(PhoneError)?;
        let valid = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err(PhoneError)
        }
    }

    pub fn from_stored(number: String) -> Self {
        Self(number)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last two digits only, for pages and logs.
    pub fn masked(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("•••• {tail}")
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_international_numbers_in_any_common_spelling() {
        assert_eq!(
            PhoneNumber::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        assert_eq!(
            PhoneNumber::parse("+1 (555) 010-0199").unwrap().as_str(),
            "+15550100199"
        );
        for bad in [
            "",
            "0044207946",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+44abc",
            "442079460958",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PhoneNumber::parse("+15550100199").unwrap().masked(),
            "•••• 99"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC{0,80}") {
            let _ = PhoneNumber::parse(&raw);
        }
    }
}
