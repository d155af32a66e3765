//! How a session was signed in, for the services that read our tokens: the
//! `aal` claim (NIST SP 800-63B's authenticator assurance level) and the
//! `amr` claim (RFC 8176's authentication method references). A service
//! that wants two factors for its admin pages asks for `aal2`.

use super::FactorKind;

/// What answered the second step of a password sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    Factor(FactorKind),
    RecoveryCode,
}

impl SecondStep {
    /// As the API and the trail name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Factor(kind) => kind.as_str(),
            Self::RecoveryCode => "recovery_code",
        }
    }
}

/// How a session's sign-in proved who the person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInWith {
    /// A new account's verification link: it proves the address, not the
    /// person (the password was typed at sign-up, perhaps elsewhere).
    EmailLink,
    Password,
    PasswordAnd(SecondStep),
    /// A passkey alone, unlocked by the device's fingerprint, face or PIN:
    /// two factors in one.
    Passkey,
}

impl SignedInWith {
    const ALL: [Self; 8] = [
        Self::EmailLink,
        Self::Password,
        Self::PasswordAnd(SecondStep::Factor(FactorKind::Totp)),
        Self::PasswordAnd(SecondStep::Factor(FactorKind::Sms)),
        Self::PasswordAnd(SecondStep::Factor(FactorKind::Email)),
        Self::PasswordAnd(SecondStep::Factor(FactorKind::Passkey)),
        Self::PasswordAnd(SecondStep::RecoveryCode),
        Self::Passkey,
    ];

    /// As the session row keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailLink => "email_link",
            Self::Password => "password",
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Totp)) => "password+totp",
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Sms)) => "password+sms",
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Email)) => "password+email",
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Passkey)) => "password+passkey",
            Self::PasswordAnd(SecondStep::RecoveryCode) => "password+recovery_code",
            Self::Passkey => "passkey",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|with| with.as_str() == raw)
    }

    /// NIST SP 800-63B: two factors are AAL2. A code sent by email is not
    /// one: email proves no particular device (5.1.3.1), so the password
    /// and an emailed code stay AAL1. A recovery code is a look-up secret,
    /// a second factor of its own.
    pub fn aal(self) -> u8 {
        match self {
            Self::EmailLink
            | Self::Password
            | Self::PasswordAnd(SecondStep::Factor(FactorKind::Email)) => 1,
            Self::PasswordAnd(_) | Self::Passkey => 2,
        }
    }

    /// RFC 8176's values: `pwd` the password; `otp` a one-time code (an
    /// authenticator app's, an emailed one, or a recovery code, which RFC
    /// 8176 has no value of its own for); `sms`; `hwk` a passkey (a key
    /// the device holds) with `user` for its user check; `mfa` when the
    /// factors make AAL2. The verification link has none.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Self::EmailLink => &[],
            Self::Password => &["pwd"],
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Totp) | SecondStep::RecoveryCode) => {
                &["pwd", "otp", "mfa"]
            }
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Sms)) => &["pwd", "sms", "mfa"],
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Email)) => &["pwd", "otp"],
            Self::PasswordAnd(SecondStep::Factor(FactorKind::Passkey)) => {
                &["pwd", "hwk", "user", "mfa"]
            }
            Self::Passkey => &["hwk", "user", "mfa"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_is_stored_and_read_back_as_itself() {
        for with in SignedInWith::ALL {
            assert_eq!(SignedInWith::parse(with.as_str()), Some(with));
        }
        assert_eq!(SignedInWith::parse("pwd"), None);
    }

    #[test]
    fn mfa_is_claimed_exactly_when_the_level_is_two() {
        for with in SignedInWith::ALL {
            assert_eq!(with.amr().contains(&"mfa"), with.aal() == 2, "{with:?}");
        }
        assert_eq!(SignedInWith::Password.aal(), 1);
        let emailed = SignedInWith::PasswordAnd(SecondStep::Factor(FactorKind::Email));
        assert_eq!(emailed.aal(), 1, "an emailed code proves no device");
        assert_eq!(SignedInWith::Passkey.aal(), 2);
    }
}
