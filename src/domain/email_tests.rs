use proptest::prelude::*;

use super::*;

#[test]
fn trims_and_lowercases_the_domain_only() {
    let email = EmailAddress::parse("  Ada.Lovelace@Example.COM \n").unwrap();
    assert_eq!(email.as_str(), "Ada.Lovelace@example.com");
    assert_eq!(email.local_part(), "Ada.Lovelace");
    assert_eq!(email.domain(), "example.com");
    assert_eq!(email.unique_key(), "ada.lovelace@example.com");
}

#[test]
fn accepts_internationalised_domains() {
    let email = EmailAddress::parse("user@Bücher.example").unwrap();
    assert_eq!(email.domain(), "bücher.example");
}

#[test]
fn rejects_what_is_not_an_address() {
    for raw in [
        "",
        "   ",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a b@example.com",
        "a@[127.0.0.1]",
        "Ann <a@example.com>",
    ] {
        assert!(EmailAddress::parse(raw).is_err(), "{raw:?} was accepted");
    }
    assert_eq!(EmailAddress::parse(" ").unwrap_err(), EmailError::Empty);
}

#[test]
fn enforces_rfc_5321_lengths() {
    let local = "a".repeat(64);
    assert!(EmailAddress::parse(&format!("{local}@example.com")).is_ok());
    let local = "a".repeat(65);
    assert_eq!(
        EmailAddress::parse(&format!("{local}@example.com")).unwrap_err(),
        EmailError::TooLong
    );
    let label = "b".repeat(60);
    let domain = format!("{label}.{label}.{label}.{label}.com");
    assert_eq!(
        EmailAddress::parse(&format!("{}@{domain}", "a".repeat(10))).unwrap_err(),
        EmailError::TooLong
    );
}

#[test]
fn debug_does_not_reveal_the_address() {
    let email = EmailAddress::parse("secret.person@example.com").unwrap();
    let shown = format!("{email:?}");
    assert!(!shown.contains("secret.person"), "{shown}");
}

proptest! {
    #[test]
    fn parse_never_panics(raw in "\\PC{0,300}") {
        let _ = EmailAddress::parse(&raw);
    }

    #[test]
    fn accepted_addresses_are_stable(local in "[a-zA-Z0-9._%+-]{1,40}", domain in "[a-zA-Z]{1,20}\\.[a-zA-Z]{2,6}") {
        if let Ok(email) = EmailAddress::parse(&format!("{local}@{domain}")) {
            let again = EmailAddress::parse(email.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), email.as_str());
            prop_assert_eq!(email.domain(), domain.to_lowercase());
        }
    }
}
