//! Stored hashes keep the parameters they were made with, so raising the
//! configured cost (`LATCHKEY_ARGON2_*`) would otherwise protect only the
//! passwords set after it. A sign-in is the one moment the service holds a
//! password it knows to be right: there, a hash made with other parameters
//! is made again with the configured ones (OWASP's Password Storage Cheat
//! Sheet, "upgrading the work factor").

use argon2::{Algorithm, Params, Version};

use crate::domain::PasswordHash;

/// What checking a password against its stored hash found.
#[derive(Debug)]
pub enum Verdict {
    Wrong,
    /// The right password; `upgrade` is set when the stored hash was made
    /// with other parameters than the configured ones.
    Right {
        upgrade: Option<Upgrade>,
    },
}

impl Verdict {
    pub fn is_right(&self) -> bool {
        matches!(self, Self::Right { .. })
    }

    pub fn into_upgrade(self) -> Option<Upgrade> {
        match self {
            Self::Right { upgrade } => upgrade,
            Self::Wrong => None,
        }
    }
}

/// The same password hashed again with the configured parameters.
#[derive(Debug)]
pub struct Upgrade {
    pub hash: PasswordHash,
    /// The parameters before and after (`argon2id v=19 m=19456,t=2,p=1`),
    /// for the audit trail: nothing secret, no salt and no output.
    pub from: String,
    pub to: String,
}

/// Whether `parsed` was made by argon2id, version 0x13, with exactly
/// `params`' costs and output length.
pub(super) fn is_current(params: &Params, parsed: &argon2::PasswordHash<'_>) -> bool {
    let Ok(stored) = Params::try_from(parsed) else {
        return false;
    };
    let output_len = |params: &Params| params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    matches!(
        Algorithm::try_from(parsed.algorithm),
        Ok(Algorithm::Argon2id)
    ) && matches!(
        parsed.version.map(Version::try_from),
        Some(Ok(Version::V0x13))
    ) && stored.m_cost() == params.m_cost()
        && stored.t_cost() == params.t_cost()
        && stored.p_cost() == params.p_cost()
        && output_len(&stored) == output_len(params)
}

/// The algorithm, version and costs of `phc`, without its salt or output.
pub(super) fn parameters_of(phc: &str) -> String {
    let Ok(parsed) = argon2::PasswordHash::new(phc) else {
        return "unreadable".to_owned();
    };
    let version = parsed
        .version
        .map(|version| format!(" v={version}"))
        .unwrap_or_default();
    format!("{}{version} {}", parsed.algorithm, parsed.params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$Wdkmyl1xeAKmxWQXMSJLyGCyRxC5LEaEyuvTfaEcLUE";

    fn configured() -> Params {
        Params::new(19_456, 2, 1, None).unwrap()
    }

    /// `is_current` of a PHC string; one that does not parse is not current.
    fn current(phc: &str) -> bool {
        argon2::PasswordHash::new(phc).is_ok_and(|parsed| is_current(&configured(), &parsed))
    }

    #[test]
    fn a_hash_with_the_configured_costs_is_current() {
        assert!(current(CURRENT));
    }

    #[test]
    fn any_other_cost_algorithm_version_or_length_is_not() {
        for other in [
            CURRENT.replace("m=19456", "m=4096"),
            CURRENT.replace("t=2", "t=3"),
            CURRENT.replace("p=1", "p=2"),
            CURRENT.replace("argon2id", "argon2i"),
            CURRENT.replace("v=19", "v=16"),
            // A 16-byte output instead of 32.
            CURRENT.replace(
                "Wdkmyl1xeAKmxWQXMSJLyGCyRxC5LEaEyuvTfaEcLUE",
                "Wdkmyl1xeAKmxWQXMSJLyA",
            ),
            "not a hash".to_owned(),
        ] {
            assert!(!current(&other), "{other}");
        }
    }

    #[test]
    fn parameters_leave_out_the_salt_and_the_output() {
        assert_eq!(parameters_of(CURRENT), "argon2id v=19 m=19456,t=2,p=1");
        assert_eq!(parameters_of("not a hash"), "unreadable");
    }
}
