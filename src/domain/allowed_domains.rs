//! Who may sign up by their address (`LATCHKEY_REGISTRATION_DOMAINS`): an
//! organisation's own service opens sign-up to its own domains only. Empty:
//! every domain. Operators' invitations are not held to it.

use std::sync::Arc;

use super::EmailAddress;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedDomains(Arc<[String]>);

impl AllowedDomains {
    /// Comma-separated domains (`example.com, example.org`), each checked
    /// as the domain of an address and kept as addresses keep theirs.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut domains = Vec::new();
        for entry in list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let address = EmailAddress::parse(&format!("x@{entry}"))
                .map_err(|_| format!("{entry:?} is not a domain"))?;
            domains.push(address.domain().to_owned());
        }
        domains.sort();
        domains.dedup();
        Ok(Self(Arc::from(domains)))
    }

    /// Whether `email` may sign up: its domain exactly (a subdomain is
    /// another domain), or any when the list is empty.
    pub fn admit(&self, email: &EmailAddress) -> bool {
        self.0.is_empty() || self.0.iter().any(|domain| domain == email.domain())
    }

    /// What a refused person is told: the domains that may sign up.
    pub fn refusal(&self) -> String {
        format!(
            "Sign-up is open to addresses at {} only.",
            self.0.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(raw: &str) -> EmailAddress {
        EmailAddress::parse(raw).unwrap()
    }

    #[test]
    fn only_the_listed_domains_are_admitted() {
        let allowed = AllowedDomains::parse(" Example.COM, example.org ,").unwrap();
        assert!(allowed.admit(&address("ada@example.com")));
        assert!(allowed.admit(&address("ada@EXAMPLE.org")));
        assert!(!allowed.admit(&address("ada@sub.example.com")));
        assert!(!allowed.admit(&address("ada@example.net")));
        assert_eq!(
            allowed.refusal(),
            "Sign-up is open to addresses at example.com, example.org only."
        );
    }

    #[test]
    fn an_empty_list_admits_every_domain() {
        assert!(
            AllowedDomains::parse("")
                .unwrap()
                .admit(&address("ada@anywhere.test"))
        );
    }

    #[test]
    fn a_malformed_domain_is_refused() {
        assert!(AllowedDomains::parse("example.com, not a domain").is_err());
    }
}
