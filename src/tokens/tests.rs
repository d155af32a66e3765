use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::clock::ShiftedClock;
use crate::domain::{FactorKind, SecondStep, SignedInWith};
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
    let far_end = TokenSession {
        id: session,
        ends_at: f.clock.now() + TimeDelta::days(1),
        signed_in_with: Some(SignedInWith::PasswordAnd(SecondStep::Factor(
            FactorKind::Totp,
        ))),
    };
    let issued = tokens.issue(user, Some(far_end)).await.unwrap();
    assert_eq!(issued.token_type, "Bearer");
    assert_eq!(issued.expires_in, 900);
    assert!(!format!("{issued:?}").contains(&issued.access_token));
    let claims = tokens.verify(&issued.access_token).await.unwrap();
    assert_eq!(claims.iss, "https://auth.example.com");
    assert_eq!(claims.aud, "latchkey");
    assert_eq!(claims.sub, user);
    assert_eq!(claims.sid, Some(session));
    assert_eq!(claims.aal.as_deref(), Some("aal2"));
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.exp - claims.iat, 900);
    assert!((claims.iat - f.clock.now().timestamp()).abs() <= 1);
    let again = tokens.issue(user, None).await.unwrap();
    let again = tokens.verify(&again.access_token).await.unwrap();
    assert_ne!(claims.jti, again.jti);
    assert_eq!(again.sid, None);
    assert_eq!(again.aal, None, "no session, nothing to say of its sign-in");
    assert!(again.amr.is_empty());

    let short = tokens.clone().with_ttl(Duration::from_secs(60));
    assert_eq!(short.issue(user, None).await.unwrap().expires_in, 60);

    // A session that ends sooner than the lifetime cuts the token short,
    // and one that has ended gets a token already expired.
    let ending = TokenSession {
        id: session,
        ends_at: f.clock.now() + TimeDelta::seconds(100),
        signed_in_with: None,
    };
    let cut = tokens.issue(user, Some(ending)).await.unwrap();
    assert!((99..=100).contains(&cut.expires_in), "{}", cut.expires_in);
    let cut = tokens.verify(&cut.access_token).await.unwrap();
    assert_eq!(cut.exp, ending.ends_at.timestamp());
    let ended = TokenSession {
        id: session,
        ends_at: f.clock.now() - TimeDelta::seconds(100),
        signed_in_with: None,
    };
    assert_eq!(tokens.issue(user, Some(ended)).await.unwrap().expires_in, 0);
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

/// A clock tests set by hand, backwards too (another machine's clock).
#[derive(Debug)]
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn at(time: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(time)))
    }

    fn set(&self, time: DateTime<Utc>) {
        *self.0.lock().unwrap() = time;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

async fn load_at(f: &Fixture, clock: &Arc<ManualClock>) -> AccessTokens {
    AccessTokens::load(
        f.store.clone(),
        f.sealer.clone(),
        clock.clone(),
        "https://auth.example.com".to_owned(),
        "latchkey".to_owned(),
    )
    .await
    .unwrap()
}

async fn issued_kid(tokens: &AccessTokens) -> String {
    kid_of(
        &tokens
            .issue(UserId::generate(), None)
            .await
            .unwrap()
            .access_token,
    )
}

#[tokio::test]
async fn a_new_key_is_published_at_once_signs_a_minute_later_and_the_old_one_retires() {
    let f = fixture().await;
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let at = |seconds: i64| t0 + TimeDelta::seconds(seconds);
    let clock = ManualClock::at(t0);
    let a = load_at(&f, &clock).await;
    let old_kid = issued_kid(&a).await;
    let old_token = a
        .issue(UserId::generate(), None)
        .await
        .unwrap()
        .access_token;

    let new_kid = rotate(&*f.store, &f.sealer, &*clock).await.unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(f.current_keys().await, vec![new_kid.clone()]);

    // Within a second the JWKS has the new key; nobody signs with it yet.
    clock.set(at(2));
    assert_eq!(
        jwks_kids(&a.jwks().await.unwrap()),
        vec![new_kid.clone(), old_kid.clone()]
    );
    assert_eq!(issued_kid(&a).await, old_kid);
    let fresh = load_at(&f, &clock).await;
    assert_eq!(
        issued_kid(&fresh).await,
        old_kid,
        "even an instance started after the rotation"
    );

    // A minute after the rotation, every instance signs with the new key.
    clock.set(at(60));
    let new_token = a
        .issue(UserId::generate(), None)
        .await
        .unwrap()
        .access_token;
    assert_eq!(kid_of(&new_token), new_kid);
    assert_eq!(issued_kid(&fresh).await, new_kid);
    a.verify(&old_token).await.unwrap();
    fresh.verify(&new_token).await.unwrap();

    // The old key signed until t0 + 60 s; its last tokens expire 15 minutes
    // later, and then it leaves the JWKS.
    clock.set(at(60 + 15 * 60 + 5 - 1));
    assert_eq!(jwks_kids(&a.jwks().await.unwrap()).len(), 2);
    clock.set(at(60 + 15 * 60 + 5));
    assert_eq!(jwks_kids(&a.jwks().await.unwrap()), vec![new_kid]);
    assert!(matches!(
        a.verify(&old_token).await,
        Err(TokenError::Invalid("unknown key id"))
    ));
}

#[tokio::test]
async fn an_unknown_kid_reloads_the_keys_at_most_once_a_second() {
    let f = fixture().await;
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let clock = ManualClock::at(t0);
    let verifier = load_at(&f, &clock).await;
    // Rotated by a machine whose clock is two minutes behind: the new key is
    // already past its minute of publication when a fresh instance signs.
    rotate(
        &*f.store,
        &f.sealer,
        &*ManualClock::at(t0 - TimeDelta::seconds(120)),
    )
    .await
    .unwrap();
    clock.set(t0 + TimeDelta::milliseconds(500));
    let signer = load_at(&f, &clock).await;
    let token = signer
        .issue(UserId::generate(), None)
        .await
        .unwrap()
        .access_token;
    assert!(matches!(
        verifier.verify(&token).await,
        Err(TokenError::Invalid("unknown key id"))
    ));
    clock.set(t0 + TimeDelta::milliseconds(1_000));
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn rotation_and_loading_need_the_secret_key_that_sealed_the_keys() {
    let f = fixture().await;
    let tokens = f.tokens().await;
    let kid = kid_of(
        &tokens
            .issue(UserId::generate(), None)
            .await
            .unwrap()
            .access_token,
    );
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
