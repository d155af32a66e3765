//! JWT access tokens: the JWKS, Bearer authentication on `/me`, forgeries,
//! expiry and logout. Signing key lifecycle is in `signing_keys.rs`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use latchkey::clock::Clock;
use latchkey::crypto::Sealer;
use latchkey::domain::UserId;
use latchkey::tokens::{AccessTokens, TokenSession};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, both_backends, json_body, token_of};

both_backends!(
    the_jwks_publishes_the_signing_key,
    a_bearer_token_of_an_active_account_opens_me,
    an_independent_ed25519_check_verifies_the_token_against_the_jwks,
    an_expired_token_is_401,
    forged_and_foreign_tokens_are_401,
    logout_ends_the_tokens_of_its_session,
);

pub(crate) struct Person {
    pub(crate) id: UserId,
    pub(crate) cookie: String,
}

/// Registers and verifies an account; verification signs the person in.
pub(crate) async fn verified_person(app: &TestApp, email: &str) -> Person {
    let token = token_of(&app.register_and_get_link(email).await);
    let response = app.get_json(&format!("/verify?token={token}")).await;
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.contains("latchkey_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = json_body(response).await;
    Person {
        id: user_id(&body["user"]["id"]),
        cookie,
    }
}

pub(crate) fn user_id(value: &Value) -> UserId {
    UserId::from_uuid(Uuid::parse_str(value.as_str().unwrap()).unwrap())
}

/// A token for `user`, issued for `session` (as if it lasted forever).
pub(crate) async fn issue(app: &TestApp, user: UserId, session: Option<Uuid>) -> String {
    let session = session.map(|id| TokenSession {
        id,
        ends_at: DateTime::<Utc>::MAX_UTC,
        signed_in_with: None,
    });
    app.state
        .tokens
        .issue(user, session)
        .await
        .unwrap()
        .access_token
}

pub(crate) async fn me_with_bearer(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn status_with_bearer(app: &TestApp, token: &str) -> u16 {
    me_with_bearer(app, token).await.status().as_u16()
}

pub(crate) async fn jwks(app: &TestApp) -> Value {
    let response = app.get_json("/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=60",
        "caches refetch soon enough to learn rotated keys"
    );
    json_body(response).await
}

pub(crate) fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The decoded JSON of one part (0: header, 1: payload) of a compact JWS.
pub(crate) fn part(token: &str, index: usize) -> Value {
    let encoded = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
}

pub(crate) fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

pub(crate) fn kid_of(token: &str) -> String {
    part(token, 0)["kid"].as_str().unwrap().to_owned()
}

async fn the_jwks_publishes_the_signing_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jwks = jwks(&app).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["x"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert!(key.get("d").is_none(), "never the private key: {key}");
    let token = issue(&app, UserId::generate(), None).await;
    assert_eq!(key["kid"].as_str().unwrap(), kid_of(&token));
}

async fn a_bearer_token_of_an_active_account_opens_me(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "bearer@example.com").await;
    let token = issue(&app, ada.id, None).await;
    let response = me_with_bearer(&app, &token).await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["user"]["email"], "bearer@example.com");
    assert_eq!(user_id(&body["user"]["id"]), ada.id);

    // The cookie still works on its own.
    let by_cookie = app
        .client
        .get(app.url("/me"))
        .header("cookie", &ada.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);

    // A pending (unverified) account, or none at all, gets nothing from a valid token.
    let pending = app
        .register("Pending", "pending@example.com", crate::helpers::PASSWORD)
        .await;
    let pending = user_id(&json_body(pending).await["user"]["id"]);
    assert_eq!(
        status_with_bearer(&app, &issue(&app, pending, None).await).await,
        401
    );
    let nobody = issue(&app, UserId::generate(), None).await;
    assert_eq!(status_with_bearer(&app, &nobody).await, 401);

    // Without credentials the challenge names the Bearer scheme.
    let anonymous = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"Bearer realm="latchkey""#
    );
    assert_eq!(
        json_body(anonymous).await["error"]["code"],
        "unauthenticated"
    );
}

async fn an_independent_ed25519_check_verifies_the_token_against_the_jwks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = UserId::generate();
    let token = issue(&app, user, None).await;
    let jwks = jwks(&app).await;

    // By hand, with ed25519-dalek rather than jsonwebtoken's ring: find the
    // key named by the header in the published set and check the signature
    // over `header.payload` with the raw `x` value.
    let header = part(&token, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == header["kid"])
        .expect("the JWKS holds the token's key");
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature =
        ed25519_dalek::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    public
        .verify_strict(signed.as_bytes(), &signature)
        .expect("the JWKS key verifies the signature");
    let mut tampered = signed.to_owned().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(public.verify_strict(&tampered, &signature).is_err());

    let claims = part(&token, 1);
    assert_eq!(
        claims["iss"], "http://127.0.0.1:8080",
        "the public URL, no trailing slash"
    );
    assert_eq!(claims["aud"], "latchkey");
    assert_eq!(claims["sub"], user.to_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    let now = app.clock.now().timestamp();
    assert!((claims["iat"].as_i64().unwrap() - now).abs() <= 2);
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
    assert!(claims.get("sid").is_none());
}

async fn an_expired_token_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "expiry@example.com").await;
    let token = issue(&app, ada.id, None).await;
    app.clock.advance(Duration::from_secs(14 * 60));
    assert_eq!(status_with_bearer(&app, &token).await, 200);
    app.clock.advance(Duration::from_secs(60 + 6));
    let response = me_with_bearer(&app, &token).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="latchkey", error="invalid_token""#
    );
    assert_eq!(
        json_body(response).await["error"]["code"],
        "invalid_access_token"
    );
}

async fn forged_and_foreign_tokens_are_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "victim@example.com").await;
    let eve = verified_person(&app, "eve@example.com").await;
    let genuine = issue(&app, eve.id, None).await;
    assert_eq!(status_with_bearer(&app, &genuine).await, 200);
    let header = part(&genuine, 0);
    let payload = part(&genuine, 1);
    let kid = header["kid"].as_str().unwrap();
    let signature = genuine.rsplit('.').next().unwrap();

    // alg none, with and without the trailing dot.
    let none = json!({ "alg": "none", "typ": "at+jwt", "kid": kid });
    let unsigned = format!("{}.{}", encode_part(&none), encode_part(&payload));
    assert_eq!(status_with_bearer(&app, &format!("{unsigned}.")).await, 401);
    assert_eq!(status_with_bearer(&app, &unsigned).await, 401);

    // HS256 "signed" with the public key: the raw bytes, and the JWK's `x` text.
    let x = jwks(&app).await["keys"][0]["x"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw_x = URL_SAFE_NO_PAD.decode(&x).unwrap();
    let mut hs256 = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs256.typ = Some("at+jwt".to_owned());
    hs256.kid = Some(kid.to_owned());
    for secret in [raw_x.as_slice(), x.as_bytes()] {
        let forged = jsonwebtoken::encode(
            &hs256,
            &payload,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert_eq!(status_with_bearer(&app, &forged).await, 401);
    }

    // Eve's genuine token, with the payload changed to say she is Ada.
    let mut as_ada = payload.clone();
    as_ada["sub"] = json!(ada.id.to_string());
    let tampered = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&as_ada)
    );
    assert_eq!(status_with_bearer(&app, &tampered).await, 401);
    // ... or to last a day longer.
    let mut longer = payload.clone();
    longer["exp"] = json!(payload["exp"].as_i64().unwrap() + 86_400);
    let tampered = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&longer)
    );
    assert_eq!(status_with_bearer(&app, &tampered).await, 401);

    // Well signed with our own key, but for another issuer or audience.
    let with = |issuer: &str, audience: &str| {
        AccessTokens::load(
            app.store.clone(),
            app.state.sealer.clone(),
            app.clock.clone(),
            issuer.to_owned(),
            audience.to_owned(),
        )
    };
    let evil_issuer = with("https://evil.example.com", "latchkey").await.unwrap();
    let token = evil_issuer.issue(eve.id, None).await.unwrap().access_token;
    assert_eq!(kid_of(&token), kid, "signed with our key");
    assert_eq!(status_with_bearer(&app, &token).await, 401);
    let other_audience = with("http://127.0.0.1:8080", "billing").await.unwrap();
    let token = other_audience
        .issue(eve.id, None)
        .await
        .unwrap()
        .access_token;
    assert_eq!(status_with_bearer(&app, &token).await, 401);
    // Sanity: the same construction with our issuer and audience is accepted.
    let ours = with("http://127.0.0.1:8080", "latchkey").await.unwrap();
    let token = ours.issue(eve.id, None).await.unwrap().access_token;
    assert_eq!(status_with_bearer(&app, &token).await, 200);

    // Properly signed by a key this service never had (another deployment).
    let elsewhere = tempfile::tempdir().unwrap();
    let foreign_store = latchkey::store::connect(&format!(
        "sqlite://{}",
        elsewhere.path().join("other.db").display()
    ))
    .await
    .unwrap();
    let foreign = AccessTokens::load(
        foreign_store,
        Sealer::from_master_key(&[1; 32]),
        app.clock.clone(),
        "http://127.0.0.1:8080".to_owned(),
        "latchkey".to_owned(),
    )
    .await
    .unwrap();
    let token = foreign.issue(eve.id, None).await.unwrap().access_token;
    assert_ne!(kid_of(&token), kid);
    assert_eq!(status_with_bearer(&app, &token).await, 401);
    // ... and a genuine token relabelled with an unknown kid.
    let mut unknown = header.clone();
    unknown["kid"] = json!("no-such-key");
    let relabelled = format!(
        "{}.{}.{signature}",
        encode_part(&unknown),
        encode_part(&payload)
    );
    assert_eq!(status_with_bearer(&app, &relabelled).await, 401);

    for garbage in ["", "abc", "a.b.c", &"x".repeat(10_000)] {
        assert_eq!(
            status_with_bearer(&app, garbage).await,
            401,
            "{garbage:.10}"
        );
    }
    // A bad token is refused even next to a good cookie: the token decides.
    let both = app
        .client
        .get(app.url("/me"))
        .header("authorization", "Bearer a.b.c")
        .header("cookie", &ada.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 401);
}

async fn logout_ends_the_tokens_of_its_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "logout@example.com").await;
    let session = app.store.sessions_of(ada.id).await.unwrap()[0].id;
    let bound = issue(&app, ada.id, Some(session)).await;
    assert_eq!(part(&bound, 1)["sid"], session.to_string());
    let unbound = issue(&app, ada.id, None).await;
    assert_eq!(status_with_bearer(&app, &bound).await, 200);
    // A token naming a session of someone else, or no session, is refused.
    let stranger = issue(&app, UserId::generate(), Some(session)).await;
    assert_eq!(status_with_bearer(&app, &stranger).await, 401);
    let ghost = issue(&app, ada.id, Some(Uuid::now_v7())).await;
    assert_eq!(status_with_bearer(&app, &ghost).await, 401);

    let logout = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &ada.cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(
        status_with_bearer(&app, &bound).await,
        401,
        "the token's session was revoked"
    );
    // Documented trade-off: a token issued without a session lives to its `exp`.
    assert_eq!(status_with_bearer(&app, &unbound).await, 200);
}
