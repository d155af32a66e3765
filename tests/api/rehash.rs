//! Raising the argon2 cost reaches the passwords set before it: each one is
//! hashed again with the configured parameters at its owner's next
//! sign-in, the only moment the service holds it.

use latchkey::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use latchkey::clock::Clock;
use latchkey::domain::{EmailAddress, PasswordHash};

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends};

both_backends!(a_sign_in_rehashes_a_password_made_with_an_older_cost);

const EMAIL: &str = "ada@example.com";

async fn stored_hash(app: &TestApp) -> PasswordHash {
    app.store
        .credentials_by_email(&EmailAddress::parse(EMAIL).unwrap())
        .await
        .unwrap()
        .expect("the account")
        .password_hash
}

async fn rehashed_entries(app: &TestApp) -> Vec<Option<String>> {
    app.store
        .audit_trail(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|record| record.event == "password.rehashed")
        .map(|record| record.detail)
        .collect()
}

async fn a_sign_in_rehashes_a_password_made_with_an_older_cost(backend: Backend) {
    let old = TestApp::spawn_configured(backend, |config| {
        config.argon2_memory_kib = 1024;
        config.argon2_iterations = 1;
    })
    .await;
    old.signed_up(EMAIL).await;
    let before = stored_hash(&old).await;
    assert!(
        before
            .as_str()
            .starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "{before:?}"
    );

    // The operator raises the cost.
    let new = old
        .another_instance(|config| {
            config.argon2_memory_kib = 2048;
            config.argon2_iterations = 2;
        })
        .await;
    let wrong = new
        .login(EMAIL, "violet submarine harvests 43 clouds")
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        stored_hash(&new).await,
        before,
        "a wrong password upgrades nothing"
    );

    assert_eq!(new.login(EMAIL, PASSWORD).await.status(), 200);
    let after = stored_hash(&new).await;
    assert!(
        after.as_str().starts_with("$argon2id$v=19$m=2048,t=2,p=1$"),
        "{:?}",
        after.as_str()
    );
    assert_eq!(
        rehashed_entries(&new).await,
        [Some(
            "from argon2id v=19 m=1024,t=1,p=1 to argon2id v=19 m=2048,t=2,p=1".to_owned()
        )]
    );

    // The new hash is the same password's, and a current hash stays as it is.
    assert_eq!(new.login(EMAIL, PASSWORD).await.status(), 200);
    assert_eq!(stored_hash(&new).await, after);
    assert_eq!(rehashed_entries(&new).await.len(), 1);

    // An upgrade computed from a hash that is no longer the account's (the
    // password changed while the sign-in hashed) replaces nothing.
    let account = new
        .store
        .user_by_email(&EmailAddress::parse(EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let event = AuditEvent::new(
        new.clock.now(),
        AuditKind::PasswordRehashed,
        Outcome::Success,
        Some(account.id),
        &RequestMeta::internal(),
    );
    let replaced = new
        .store
        .upgrade_password_hash(account.id, &before, &before, &event)
        .await
        .unwrap();
    assert!(!replaced);
    assert_eq!(stored_hash(&new).await, after);
    assert_eq!(rehashed_entries(&new).await.len(), 1);
}
