use std::fmt;

/// The kinds of second factor a person can enrol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactorKind {
    /// An authenticator app (RFC 6238 TOTP).
    Totp,
    /// A code sent by SMS. NIST SP 800-63B 5.1.3.3 calls this RESTRICTED.
    Sms,
    /// A code sent to the verified address; not a separate device, so weaker.
    Email,
    /// A passkey (WebAuthn): a key pair held by the person's device or
    /// password manager, unlocked by their fingerprint, face or PIN, and
    /// bound to this site, so a phishing page cannot use it. NIST SP
    /// 800-63B's phishing-resistant authenticator.
    Passkey,
}

impl FactorKind {
    pub const ALL: [Self; 4] = [Self::Totp, Self::Sms, Self::Email, Self::Passkey];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Passkey => "passkey",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    /// Whether codes for this factor are sent (rather than computed by the person's device).
    pub fn is_delivered(self) -> bool {
        matches!(self, Self::Sms | Self::Email)
    }
}

impl fmt::Display for FactorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether logins ask for a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaPolicy {
    /// Never, even for accounts that enrolled one.
    Off,
    /// When the account has enrolled one.
    Optional,
    /// Always: an account without a factor must enrol one before it gets a session.
    Required,
}
