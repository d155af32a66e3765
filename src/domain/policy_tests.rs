use proptest::prelude::*;

use super::*;

fn check(password: &str) -> Vec<&'static str> {
    let name = DisplayName::parse("Ada Lovelace").unwrap();
    let email = EmailAddress::parse("countess@example.com").unwrap();
    PasswordPolicy::default()
        .check(&Password::new(password), Some(&name), Some(&email))
        .iter()
        .map(PolicyViolation::code)
        .collect()
}

#[test]
fn accepts_a_long_passphrase_without_composition_rules() {
    assert_eq!(check("correct horse battery staple"), Vec::<&str>::new());
    assert_eq!(check("purple elephants juggle quietly"), Vec::<&str>::new());
}

#[test]
fn common_passwords_are_refused() {
    for common in [
        "password",
        "123456789",
        "qwertyuiop",
        "iloveyou",
        "Password",
    ] {
        assert!(
            check(common).contains(&"too_common"),
            "{common}: {:?}",
            check(common)
        );
    }
}

#[test]
fn length_is_counted_in_code_points_and_never_truncated() {
    assert!(check("ab").contains(&"too_short"));
    // 7 code points, 21 bytes: still too short.
    assert!(check("日本語のパスワ").contains(&"too_short"));
    let max = PasswordPolicy::default().max_length;
    let long = "x7Q!".repeat(max / 4) + "é";
    assert_eq!(check(&long), vec!["too_long"]);
    let exact: String = "x7Q!".repeat(max / 4);
    assert!(!check(&exact).contains(&"too_long"));
}

#[test]
fn at_least_64_characters_are_accepted() {
    let passphrase = "the quiet lighthouse keeper counts seventeen ships every dusk ok";
    assert!(passphrase.chars().count() >= 64);
    assert_eq!(check(passphrase), Vec::<&str>::new());
}

#[test]
fn personal_information_is_refused() {
    assert!(check("lovelace-rocket-garden").contains(&"contains_personal_info"));
    assert!(check("my countess castle 1815").contains(&"contains_personal_info"));
}

#[test]
fn weak_passwords_say_why() {
    let policy = PasswordPolicy::default();
    let violations = policy.check(&Password::new("abcabcabc1"), None, None);
    let weak = violations
        .iter()
        .find(|v| v.code() == "too_weak")
        .expect("too weak");
    assert!(
        weak.message()
            .starts_with("This password is too easy to guess.")
    );
}

#[test]
fn every_broken_rule_is_reported() {
    let codes = check("ada");
    assert!(
        codes.contains(&"too_short") && codes.contains(&"contains_personal_info"),
        "{codes:?}"
    );
}

#[test]
fn empty_is_required() {
    assert_eq!(check(""), vec!["required"]);
}

#[test]
fn min_score_is_configurable() {
    let lenient = PasswordPolicy {
        min_score: 0,
        ..PasswordPolicy::default()
    };
    assert!(
        lenient
            .check(&Password::new("abcabcabc1"), None, None)
            .is_empty()
    );
}

#[test]
fn the_services_name_is_refused_whole_and_word_by_word() {
    let policy = PasswordPolicy::default().with_context_words(["Acme Rockets", " ", "ab"]);
    assert_eq!(
        &policy.context_words[..],
        ["acme", "acme rockets", "rockets"]
    );
    let codes = |password: &str| -> Vec<&'static str> {
        policy
            .check(&Password::new(password), None, None)
            .iter()
            .map(PolicyViolation::code)
            .collect()
    };
    assert_eq!(codes("purple elephants juggle quietly"), Vec::<&str>::new());
    for barred in ["purple ACME elephants juggle", "quietly juggling rockets42"] {
        assert!(
            codes(barred).contains(&"contains_context_word"),
            "{barred}: {:?}",
            codes(barred)
        );
    }
    // Words too short to forbid ("ab") forbid nothing.
    assert_eq!(
        codes("purple elephants ab juggle quietly"),
        Vec::<&str>::new()
    );
}

#[test]
fn a_blocklisted_password_is_refused_for_that_alone() {
    let list = Blocklist::read("Purple Elephants Juggle Quietly\n".as_bytes()).unwrap();
    let policy = PasswordPolicy::default().with_blocklist(list);
    for listed in [
        "purple elephants juggle quietly",
        "PURPLE ELEPHANTS JUGGLE QUIETLY",
    ] {
        let codes: Vec<&str> = policy
            .check(&Password::new(listed), None, None)
            .iter()
            .map(PolicyViolation::code)
            .collect();
        assert_eq!(codes, ["blocklisted"], "{listed}");
    }
    assert!(
        policy
            .check(&Password::new("correct horse battery staple"), None, None)
            .is_empty()
    );
    // zxcvbn's own list says it first.
    let common: Vec<&str> = PasswordPolicy::default()
        .with_blocklist(Blocklist::read("password\n".as_bytes()).unwrap())
        .check(&Password::new("password"), None, None)
        .iter()
        .map(PolicyViolation::code)
        .collect();
    assert_eq!(common, ["too_common"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn check_never_panics(raw in "\\PC{0,300}") {
        let _ = PasswordPolicy::default().check(&Password::new(&raw), None, None);
    }

    #[test]
    fn too_long_is_always_refused(raw in "\\PC{257,300}") {
        let password = Password::new(&raw);
        prop_assume!(password.char_count() > 256);
        prop_assert_eq!(PasswordPolicy::default().check(&password, None, None), vec![PolicyViolation::TooLong { max: 256 }]);
    }
}

#[test]
fn the_score_grows_with_strength_and_too_long_is_not_scored() {
    let policy = PasswordPolicy::default();
    let assess = |password: &str| policy.assess(&Password::new(password), None, None);
    assert!(assess("password").score <= 1);
    assert!(!assess("password").is_acceptable());
    let strong = assess("violet submarine harvests 42 clouds");
    assert_eq!(strong.score, 4);
    assert!(strong.is_acceptable());
    let long = assess(&"x".repeat(policy.max_length + 1));
    assert_eq!(long.score, 0);
    assert_eq!(long.violations, vec![PolicyViolation::TooLong { max: 256 }]);
}

proptest! {
    /// `check` is `assess` without the score: the page's meter and the
    /// server's verdict come from one computation.
    #[test]
    fn check_is_assess_without_the_score(password in "\\PC{0,40}") {
        let policy = PasswordPolicy::default();
        let name = DisplayName::parse("Ada Lovelace").ok();
        let password = Password::new(&password);
        prop_assert_eq!(
            policy.check(&password, name.as_ref(), None),
            policy.assess(&password, name.as_ref(), None).violations
        );
        prop_assert!(policy.assess(&password, name.as_ref(), None).score <= 4);
    }
}
