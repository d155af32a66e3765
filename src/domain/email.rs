use std::fmt;

use email_address::Options;

/// RFC 5321 4.5.3.1: a forward path is at most 256 octets including the angle
/// brackets, which leaves 254 for the address itself.
const MAX_ADDRESS_OCTETS: usize = 254;
const MAX_LOCAL_PART_OCTETS: usize = 64;
const MAX_DOMAIN_OCTETS: usize = 253;

/// A syntactically valid email address: trimmed, domain lower-cased, within
/// the SMTP length limits (measured on the ASCII form of an internationalised
/// domain, since that is what travels on the wire).
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress {
    address: String,
    local_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("Enter an email address like name@example.com.")]
    Invalid,
    #[error("This email address is too long.")]
    TooLong,
}

impl EmailError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::Invalid => "invalid_email",
            Self::TooLong => "too_long",
        }
    }
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        // Cheap guard before any parsing: nothing this long can be valid.
        if trimmed.len() > 4 * MAX_ADDRESS_OCTETS {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let domain = domain.to_lowercase();
        let ascii_domain = idna::domain_to_ascii(&domain).map_err(|_| EmailError::Invalid)?;
        if local.len() > MAX_LOCAL_PART_OCTETS
            || ascii_domain.len() > MAX_DOMAIN_OCTETS
            || local.len() + 1 + ascii_domain.len() > MAX_ADDRESS_OCTETS
        {
            return Err(EmailError::TooLong);
        }
        let address = format!("{local}@{domain}");
        let options = Options::default()
            .with_required_tld()
            .without_display_text()
            .without_domain_literal();
        let parsed = email_address::EmailAddress::parse_with_options(&address, options)
            .map_err(|_| EmailError::Invalid)?;
        // The mailer must be able to send to whatever we accept, or the
        // verification email would sit in the outbox forever.
        if address.parse::<lettre::Address>().is_err() {
            return Err(EmailError::Invalid);
        }
        Ok(Self {
            local_len: parsed.local_part().len(),
            address,
        })
    }

    /// Rebuilds an address that was checked when it was stored. Rules may
    /// tighten later; a stored account must stay readable when they do.
    pub fn from_stored(address: String) -> Self {
        let local_len = address
            .rfind('@')
            .unwrap_or(address.len().saturating_sub(1));
        Self { address, local_len }
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    pub fn local_part(&self) -> &str {
        &self.address[..self.local_len]
    }

    pub fn domain(&self) -> &str {
        &self.address[self.local_len + 1..]
    }

    /// The key that makes addresses unique: the whole address, case-folded.
    /// Two sign-ups that differ only in case are the same person.
    pub fn unique_key(&self) -> String {
        self.address.to_lowercase()
    }

    /// A form safe for logs: first character of the local part and the domain.
    pub fn redacted(&self) -> String {
        let first = self.local_part().chars().next().unwrap_or('*');
        format!("{first}***@{}", self.domain())
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug output ends up in logs; keep the full address out of them.
        write!(f, "EmailAddress({})", self.redacted())
    }
}

#[cfg(test)]
#[path = "email_tests.rs"]
mod tests;
