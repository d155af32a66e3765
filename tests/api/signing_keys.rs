//! Signing keys: rotation (also through the CLI), several instances on one
//! database, and instances starting or rotating at the same moment.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use latchkey::clock::Clock;
use latchkey::crypto::Sealer;
use latchkey::domain::UserId;
use latchkey::store::NewSigningKey;
use latchkey::tokens::{self, AccessTokens};

use crate::helpers::{Backend, TestApp, both_backends, fresh_database};
use crate::tokens::{issue, jwks, kid_of, kids, status_with_bearer, verified_person};

both_backends!(
    a_rotation_keeps_old_tokens_working_until_they_expire,
    instances_on_one_database_share_keys_and_rotations,
    concurrent_first_starts_create_one_key,
);

async fn a_rotation_keeps_old_tokens_working_until_they_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "rotation@example.com").await;
    let old_token = issue(&app, ada.id, None).await;
    let old_kid = kid_of(&old_token);

    let new_kid = tokens::rotate(&*app.store, &app.state.sealer, &*app.clock)
        .await
        .unwrap();
    assert_ne!(new_kid, old_kid);
    // The new key is published within a second, before anything is signed with it...
    app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        kids(&jwks(&app).await),
        vec![new_kid.clone(), old_kid.clone()]
    );
    assert_eq!(kid_of(&issue(&app, ada.id, None).await), old_kid);
    // ... and signs with it a minute after the rotation, once cached JWKS expired.
    app.clock.advance(Duration::from_secs(59));
    let new_token = issue(&app, ada.id, None).await;
    assert_eq!(kid_of(&new_token), new_kid);
    assert_eq!(status_with_bearer(&app, &new_token).await, 200);
    assert_eq!(status_with_bearer(&app, &old_token).await, 200);
    assert_eq!(kids(&jwks(&app).await), vec![new_kid.clone(), old_kid]);

    // Once every token the old key could have signed has expired, it is gone.
    app.clock.advance(Duration::from_secs(15 * 60 + 10));
    assert_eq!(kids(&jwks(&app).await), vec![new_kid]);
    assert_eq!(status_with_bearer(&app, &old_token).await, 401);
}

fn latchkey(app: &TestApp, secret_key: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(args)
        .current_dir(app.dir.path())
        .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
        .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"))
        .env_remove("LATCHKEY_SECRET_KEY");
    if let Some(key) = secret_key {
        command.env("LATCHKEY_SECRET_KEY", key);
    }
    command.output().unwrap()
}

async fn instances_on_one_database_share_keys_and_rotations(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let (database_url, secret_key) = (a.config.database_url.clone(), a.config.secret_key.clone());
    let b = TestApp::spawn_with(backend, |config| {
        config.database_url = database_url;
        config.secret_key = secret_key;
    })
    .await;
    assert_eq!(jwks(&a).await, jwks(&b).await, "one key for both");
    let ada = verified_person(&a, "shared@example.com").await;
    let from_a = issue(&a, ada.id, None).await;
    assert_eq!(status_with_bearer(&b, &from_a).await, 200);

    // The CLI refuses to rotate without the service's secret key...
    let old_kid = kid_of(&from_a);
    let refused = latchkey(&a, None, &["keys", "rotate"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("LATCHKEY_SECRET_KEY"));
    let wrong_key = base64::engine::general_purpose::STANDARD.encode([0_u8; 32]);
    let refused = latchkey(&a, Some(&wrong_key), &["keys", "rotate"]);
    assert!(!refused.status.success());
    assert_eq!(
        kids(&jwks(&a).await),
        vec![old_kid.clone()],
        "nothing changed"
    );

    // ... and rotates with it.
    let rotated = latchkey(&a, a.config.secret_key.as_deref(), &["keys", "rotate"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let stdout = String::from_utf8(rotated.stdout).unwrap();
    let new_kid = stdout
        .lines()
        .find_map(|line| line.strip_prefix("new current key: "))
        .expect("the new kid is printed")
        .to_owned();
    let listed = String::from_utf8(latchkey(&a, None, &["keys", "list"]).stdout).unwrap();
    assert!(
        listed.contains(&format!("{new_kid}  "))
            && listed.contains("(current)")
            && listed.contains(&old_kid),
        "{listed}"
    );

    // Both publish the new key within a second, sign with it a minute after
    // the rotation, and verify what the other signs.
    a.clock.advance(Duration::from_secs(1));
    b.clock.advance(Duration::from_secs(1));
    assert_eq!(
        kids(&jwks(&b).await),
        vec![new_kid.clone(), old_kid.clone()]
    );
    assert_eq!(kid_of(&issue(&b, ada.id, None).await), old_kid);
    a.clock.advance(Duration::from_secs(60));
    b.clock.advance(Duration::from_secs(60));
    let from_a = issue(&a, ada.id, None).await;
    assert_eq!(kid_of(&from_a), new_kid);
    assert_eq!(status_with_bearer(&b, &from_a).await, 200);
    let from_b = issue(&b, ada.id, None).await;
    assert_eq!(kid_of(&from_b), new_kid);
    assert_eq!(status_with_bearer(&a, &from_b).await, 200);
    assert_eq!(jwks(&a).await, jwks(&b).await);
    assert_eq!(kids(&jwks(&b).await), vec![new_kid, old_kid]);
}

async fn concurrent_first_starts_create_one_key(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let clock: Arc<dyn Clock> = Arc::new(latchkey::clock::SystemClock);
    let sealer = Sealer::from_master_key(&[2; 32]);
    // Migrations first: what races here is the key creation. (On PostgreSQL
    // an advisory lock serialises migrations; SQLite serves one instance.)
    latchkey::store::migrate(&url).await.unwrap();
    // Each "instance" has its own connection pool, as separate processes would.
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let (url, sealer, clock) = (url.clone(), sealer.clone(), clock.clone());
            tokio::spawn(async move {
                let store = latchkey::store::connect(&url).await.unwrap();
                let tokens = AccessTokens::load(store, sealer, clock, "i".into(), "a".into())
                    .await
                    .unwrap();
                kid_of(
                    &tokens
                        .issue(UserId::generate(), None)
                        .await
                        .unwrap()
                        .access_token,
                )
            })
        })
        .collect();
    let mut kids = Vec::new();
    for start in starts {
        kids.push(start.await.unwrap());
    }
    kids.dedup();
    assert_eq!(
        kids.len(),
        1,
        "every instance signs with the same key: {kids:?}"
    );
    let store = latchkey::store::connect(&url).await.unwrap();
    let stored = store
        .signing_keys(tokens::ALGORITHM, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "the losers inserted nothing");
    // The partial unique index is what decides, not timing: a late first key loses.
    let late = NewSigningKey {
        kid: "late".to_owned(),
        algorithm: tokens::ALGORITHM,
        public_key: vec![0; 32],
        sealed_private_key: vec![0; 64],
        created_at: clock.now(),
    };
    assert!(!store.insert_first_signing_key(&late).await.unwrap());
    assert_eq!(
        store
            .signing_keys(tokens::ALGORITHM, chrono::DateTime::UNIX_EPOCH)
            .await
            .unwrap()
            .len(),
        1
    );

    // Concurrent rotations: each either commits or reports the race; never
    // two current keys.
    let rotations: Vec<_> = (0..4)
        .map(|_| {
            let (url, sealer, clock) = (url.clone(), sealer.clone(), clock.clone());
            tokio::spawn(async move {
                let store = latchkey::store::connect(&url).await.unwrap();
                tokens::rotate(&*store, &sealer, &*clock).await
            })
        })
        .collect();
    let mut rotated = Vec::new();
    for rotation in rotations {
        match rotation.await.unwrap() {
            Ok(kid) => rotated.push(kid),
            Err(tokens::TokenError::RotationRaced) => {}
            Err(other) => panic!("{other}"),
        }
    }
    let current: Vec<String> = store
        .signing_keys(tokens::ALGORITHM, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap()
        .into_iter()
        .filter(|key| key.retired_at.is_none())
        .map(|key| key.kid)
        .collect();
    assert_eq!(current.len(), 1, "{current:?}");
    assert!(rotated.contains(&current[0]));
}
