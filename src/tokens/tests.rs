use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;

use super::*;
use crate::clock::ShiftedClock;
use crate::store;

struct Fixture {
    store: Arc<dyn Store>,
    sealer: Sealer,
    clock: Arc<ShiftedClock>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    Fixture {
        store: store::connect(&url).await.unwrap(),
        sealer: Sealer::from_master_key(&[5; 32]),
        clock: Arc::new(ShiftedClock::default()),
        _dir: dir,
    }
}

impl Fixture {
    async fn tokens(&self) -> AccessTokens {
        AccessTokens::load(
            self.store.clone(),
            self.sealer.clone(),
            self.clock.clone(),
            "https://auth.example.com".to_owned(),
            "latchkey".to_owned(),
        )
        .await
        .unwrap()
    }

    async fn current_keys(&self) -> Vec<String> {
        self.store
            .signing_keys(ALGORITHM, DateTime::UNIX_EPOCH)
            .await
            .unwrap()
            .into_iter()
            .filter(|key| key.retired_at.is_none())
            .map(|key| key.kid)
            .collect()
    }
}

fn kid_of(token: &str) -> String {
    jwt::key_id(token).unwrap()
}

fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_first_load_creates_one_key_and_later_loads_reuse_it() {
    let f = fixture().await;
    let first = f.tokens().await;
    let second = f.tokens().await;
    assert_eq!(f.current_keys().await.len(), 1);
    let token = first.issue(UserId::generate(), None).await.unwrap();
    assert_eq!(kid_of(&token.access_token), f.current_keys().await[0]);
    second.verify(&token.access_token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_loads_agree_on_one_key() {
    let f = fixture().await;
    let loads: Vec<_> = (0..8)
        .map(|_| {
            let (store, sealer, clock) = (f.store.clone(), f.sealer.clone(), f.clock.clone());
            tokio::spawn(async move {
                let tokens = AccessTokens::load(store, sealer, clock, "i".into(), "a".into())
                    .await
                    .unwrap();
                tokens.snapshot().signing.kid.clone()
            })
        })
        .collect();
    let mut kids = Vec::new();
    for load in loads {
        kids.push(load.await.unwrap());
    }
    kids.dedup();
    assert_eq!(kids.len(), 1, "{kids:?}");
    assert_eq!(f.current_keys().await, kids);
}

#[tokio::test]
async fn issued_tokens_carry_the_documented_claims() {
    let f = fixture().await;
    let tokens = f.tokens().await;
    let user = UserId::generate();
    let session = Uuid::now_v7();
    let issued = tokens.issue(user, Some(session)).await.unwrap();
    assert_eq!(issued.token_type, "Bearer");
    assert_eq!(issued.expires_in, 900);
    assert!(!format!("{issued:?}").contains(&issued.access_token));
    let claims = tokens.verify(&issued.access_token).await.unwrap();
    assert_eq!(claims.iss, "https://auth.example.com");
    assert_eq!(claims.aud, "latchkey");
    assert_eq!(claims.sub, user);
    assert_eq!(claims.sid, Some(session));
    assert_eq!(claims.exp - claims.iat, 900);
    assert!((claims.iat - f.clock.now().timestamp()).abs() <= 1);
    let again = tokens.issue(user, None).await.unwrap();
    let again = tokens.verify(&again.access_token).await.unwrap();
    assert_ne!(claims.jti, again.jti);
    assert_eq!(again.sid, None);

    let short = tokens.clone().with_ttl(Duration::from_secs(60));
    assert_eq!(short.issue(user, None).await.unwrap().expires_in, 60);
    assert_eq!(tokens.clone().with_ttl(Duration::ZERO).ttl(), MIN_TTL);
}

#[tokio::test]
async fn expiry_follows_the_injected_clock() {
    let f = fixture().await;
    let tokens = f.tokens().await;
    let issued = tokens.issue(UserId::generate(), None).await.unwrap();
    f.clock.advance(Duration::from_secs(14 * 60));
    tokens.verify(&issued.access_token).await.unwrap();
    f.clock.advance(Duration::from_secs(61 + 5));
    assert!(matches!(
        tokens.verify(&issued.access_token).await,
        Err(TokenError::Expired)
    ));
}

#[tokio::test]
async fn a_rotation_is_picked_up_and_the_old_key_retires_after_its_tokens() {
    let f = fixture().await;
    let a = f.tokens().await;
    let b = f.tokens().await;
    let old_kid = kid_of(
        &a.issue(UserId::generate(), None)
            .await
            .unwrap()
            .access_token,
    );
    let old_token = a
        .issue(UserId::generate(), None)
        .await
        .unwrap()
        .access_token;

    let new_kid = rotate(&*f.store, &f.sealer, &*f.clock).await.unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(f.current_keys().await, vec![new_kid.clone()]);

    // An instance that loaded after the rotation signs with the new key at once.
    let c = f.tokens().await;
    let new_token = c
        .issue(UserId::generate(), None)
        .await
        .unwrap()
        .access_token;
    assert_eq!(kid_of(&new_token), new_kid);
    // b's snapshot is younger than a second: the unknown kid does not reload yet.
    assert_eq!(
        match b.verify(&new_token).await {
            Err(TokenError::Invalid(reason)) => reason,
            other => panic!("{other:?}"),
        },
        "unknown key id"
    );
    f.clock.advance(Duration::from_secs(2));
    b.verify(&new_token).await.unwrap();
    // a still signs with the old key until its snapshot is a minute old.
    assert_eq!(
        kid_of(
            &a.issue(UserId::generate(), None)
                .await
                .unwrap()
                .access_token
        ),
        old_kid
    );
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(
        kid_of(
            &a.issue(UserId::generate(), None)
                .await
                .unwrap()
                .access_token
        ),
        new_kid
    );
    a.verify(&old_token).await.unwrap();
    assert_eq!(
        jwks_kids(&a.jwks().await.unwrap()),
        vec![new_kid.clone(), old_kid]
    );

    // Past the retention (ttl + refresh + leeway) only the new key is published.
    f.clock.advance(Duration::from_secs(15 * 60 + 5));
    assert_eq!(jwks_kids(&a.jwks().await.unwrap()), vec![new_kid]);
    assert!(a.verify(&old_token).await.is_err());
}

#[tokio::test]
async fn rotation_and_loading_need_the_secret_key_that_sealed_the_keys() {
    let f = fixture().await;
    let tokens = f.tokens().await;
    let kid = tokens.snapshot().signing.kid.clone();
    let stranger = Sealer::from_master_key(&[6; 32]);
    assert!(matches!(
        rotate(&*f.store, &stranger, &*f.clock).await,
        Err(TokenError::KeyUnreadable)
    ));
    assert_eq!(f.current_keys().await, vec![kid], "nothing changed");
    assert!(matches!(
        AccessTokens::load(
            f.store.clone(),
            stranger,
            f.clock.clone(),
            "i".into(),
            "a".into()
        )
        .await,
        Err(TokenError::KeyUnreadable)
    ));
}
