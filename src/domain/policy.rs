use std::sync::Arc;

use zxcvbn::matching::patterns::MatchPattern;

use super::{Blocklist, DisplayName, EmailAddress, Password};

/// zxcvbn's cost grows quickly with length; the first 100 characters decide
/// the score (as in the reference implementation), the rest only add strength.
const SCORED_PREFIX_CHARS: usize = 100;
/// Substrings shorter than this are too common to forbid ("al", "jo").
const MIN_PERSONAL_FRAGMENT_CHARS: usize = 3;

/// The password rules of NIST SP 800-63B 3.1.1.2 and OWASP ASVS 5.0 V6.2:
/// a length window counted in code points, blocklists and a strength
/// estimate instead of composition rules, and never any truncation.
/// Cheap to clone: the lists are shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    pub min_score: u8,
    /// Words tied to the service that no password may contain (NIST's
    /// "context-specific words, such as the name of the service"; ASVS
    /// 6.2.11), lower-cased, each at least `MIN_PERSONAL_FRAGMENT_CHARS`.
    pub context_words: Arc<[String]>,
    /// The operator's list of barred passwords, on top of zxcvbn's.
    pub blocklist: Arc<Blocklist>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
            min_score: 3,
            context_words: Arc::from([]),
            blocklist: Arc::default(),
        }
    }
}

impl PasswordPolicy {
    /// `words` (the service's name and whatever else the operator lists),
    /// as the policy keeps them: lower-cased, each phrase whole and word by
    /// word, too short ones left out, as a person's name is.
    pub fn with_context_words<'a>(mut self, words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut kept: Vec<String> = words.into_iter().flat_map(fragments_of).collect();
        kept.sort();
        kept.dedup();
        self.context_words = Arc::from(kept);
        self
    }

    pub fn with_blocklist(mut self, blocklist: Blocklist) -> Self {
        self.blocklist = Arc::new(blocklist);
        self
    }
}

/// One reason a password was refused; the message tells the person why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    Required,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    Common,
    /// On the operator's blocklist (breached, or otherwise barred).
    Blocklisted,
    ContainsPersonalInfo,
    /// Contains the service's name or another of its context words.
    ContainsContextWord,
    TooWeak {
        hint: Option<String>,
    },
}

impl PolicyViolation {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::Common => "too_common",
            Self::Blocklisted => "blocklisted",
            Self::ContainsPersonalInfo => "contains_personal_info",
            Self::ContainsContextWord => "contains_context_word",
            Self::TooWeak { .. } => "too_weak",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Required => "Enter a password.".to_owned(),
            Self::TooShort { min } => format!("Use at least {min} characters."),
            Self::TooLong { max } => format!("Use at most {max} characters."),
            Self::Common => "This password is one of the most common passwords; choose another.".to_owned(),
            Self::Blocklisted => {
                "This password is on a list of passwords known to attackers; choose another.".to_owned()
            }
            Self::ContainsPersonalInfo => "Do not use your name or email address in your password.".to_owned(),
            Self::ContainsContextWord => {
                "Do not use the name of this service, or words tied to it, in your password.".to_owned()
            }
            Self::TooWeak { hint: Some(hint) } => format!("This password is too easy to guess. {hint}"),
            Self::TooWeak { hint: None } => {
                "This password is too easy to guess. Add another word or two; uncommon words are better.".to_owned()
            }
        }
    }
}

/// The verdict on one password: every violation, and zxcvbn's score (0 to 4)
/// for a strength meter. A password too long to judge scores 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordAssessment {
    pub score: u8,
    pub violations: Vec<PolicyViolation>,
}

impl PasswordAssessment {
    pub fn is_acceptable(&self) -> bool {
        self.violations.is_empty()
    }
}

impl PasswordPolicy {
    /// Every reason the password is refused, in the order a person should fix
    /// them; empty when it is acceptable. `name` and `email` are whatever of
    /// them parsed, so a password can be judged even when another field is bad.
    pub fn check(
        &self,
        password: &Password,
        name: Option<&DisplayName>,
        email: Option<&EmailAddress>,
    ) -> Vec<PolicyViolation> {
        self.assess(password, name, email).violations
    }

    /// `check`, plus the score: the sign-up page's strength meter asks this
    /// (through `POST /password/check`), so page and server cannot disagree.
    pub fn assess(
        &self,
        password: &Password,
        name: Option<&DisplayName>,
        email: Option<&EmailAddress>,
    ) -> PasswordAssessment {
        let refused = |violation| PasswordAssessment {
            score: 0,
            violations: vec![violation],
        };
        let length = password.char_count();
        if length == 0 {
            return refused(PolicyViolation::Required);
        }
        if length > self.max_length {
            // Judge nothing else: the point of the limit is to do no work.
            return refused(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        let mut violations = Vec::new();
        if length < self.min_length {
            violations.push(PolicyViolation::TooShort {
                min: self.min_length,
            });
        }

        let lowered = password.expose().to_lowercase();
        let personal: Vec<String> = personal_fragments(name, email);
        let contains_any = |fragments: &[String]| {
            fragments
                .iter()
                .any(|fragment| lowered.contains(fragment.as_str()))
        };
        if contains_any(&personal) {
            violations.push(PolicyViolation::ContainsPersonalInfo);
        }
        if contains_any(&self.context_words) {
            violations.push(PolicyViolation::ContainsContextWord);
        }

        let scored: String = password
            .expose()
            .chars()
            .take(SCORED_PREFIX_CHARS)
            .collect();
        // zxcvbn also reads them l33t-spoken and reversed, for the score.
        let inputs: Vec<&str> = personal
            .iter()
            .chain(self.context_words.iter())
            .map(String::as_str)
            .collect();
        let entropy = zxcvbn::zxcvbn(&scored, &inputs);
        let score = u8::from(entropy.score());
        let is_common = is_common_password(entropy.sequence(), scored.chars().count());
        if is_common {
            violations.push(PolicyViolation::Common);
        }
        let is_blocklisted = self.blocklist.contains(password.expose());
        if is_blocklisted && !is_common {
            violations.push(PolicyViolation::Blocklisted);
        }
        if score < self.min_score && !is_common && !is_blocklisted {
            let hint = entropy.feedback().and_then(|feedback| {
                feedback
                    .warning()
                    .map(|w| w.to_string())
                    .or_else(|| feedback.suggestions().first().map(|s| s.to_string()))
            });
            violations.push(PolicyViolation::TooWeak { hint });
        }
        PasswordAssessment { score, violations }
    }
}

/// A password is "common" when zxcvbn explains all of it as one entry of its
/// list of 30,000 most-used passwords, without reversal or l33t tricks.
fn is_common_password(sequence: &[zxcvbn::Match], length: usize) -> bool {
    matches!(sequence, [only] if only.i == 0
        && only.j + 1 == length
        && matches!(&only.pattern, MatchPattern::Dictionary(dict)
            // zxcvbn does not export its dictionary enum; its default variant
            // is the password list (pinned by `common_passwords_are_refused`).
            if dict.dictionary_name == Default::default() && !dict.reversed && !dict.l33t))
}

fn personal_fragments(name: Option<&DisplayName>, email: Option<&EmailAddress>) -> Vec<String> {
    let mut fragments: Vec<String> = name
        .map(|name| fragments_of(name.as_str()))
        .unwrap_or_default();
    if let Some(email) = email {
        fragments.push(email.local_part().to_lowercase());
    }
    fragments.retain(|fragment| fragment.chars().count() >= MIN_PERSONAL_FRAGMENT_CHARS);
    fragments.sort();
    fragments.dedup();
    fragments
}

/// A phrase lower-cased, whole and word by word, without the pieces too
/// short to forbid.
fn fragments_of(phrase: &str) -> Vec<String> {
    let lowered = phrase.trim().to_lowercase();
    let mut fragments: Vec<String> = lowered.split_whitespace().map(str::to_owned).collect();
    fragments.push(lowered);
    fragments.retain(|fragment| fragment.chars().count() >= MIN_PERSONAL_FRAGMENT_CHARS);
    fragments
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
