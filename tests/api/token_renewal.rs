//! `POST /token`: the session cookie's session gets a fresh access token,
//! bound to it; nothing else can get one there.

use std::time::Duration;

use latchkey::clock::Clock;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both_backends, json_body};
use crate::tokens::{Person, issue, me_with_bearer, part, status_with_bearer, verified_person};

both_backends!(
    the_session_renews_an_expired_access_token,
    a_bearer_token_cannot_renew_itself,
    renewed_tokens_end_with_their_session,
    a_renewed_token_expires_with_its_session,
    only_a_json_post_of_this_origin_gets_a_token,
);

async fn renew(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.post_as(cookie, "/token", &json!({})).await
}

/// A renewal that must succeed: its body.
async fn renewed(app: &TestApp, person: &Person) -> Value {
    let response = renew(app, &person.cookie).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    json_body(response).await
}

fn access_token(body: &Value) -> &str {
    body["access_token"].as_str().unwrap()
}

async fn current_session_id(app: &TestApp, person: &Person) -> String {
    let listed = app
        .client
        .get(app.url("/sessions"))
        .header("cookie", &person.cookie)
        .send()
        .await
        .unwrap();
    let listed = json_body(listed).await;
    listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["current"] == true)
        .expect("the cookie's session is listed")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn the_session_renews_an_expired_access_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "renew@example.com").await;
    let first = renewed(&app, &ada).await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 900);
    let token = access_token(&first).to_owned();
    let me = me_with_bearer(&app, &token).await;
    assert_eq!(me.status(), 200);
    assert_eq!(json_body(me).await["user"]["email"], "renew@example.com");
    let claims = part(&token, 1);
    assert_eq!(claims["sub"], ada.id.to_string());
    assert_eq!(
        claims["sid"],
        current_session_id(&app, &ada).await,
        "bound to the cookie's session"
    );

    // Past its `exp` (and the 5 s leeway) the token is refused, and the
    // session, still within its idle timeout, gets the next one.
    app.clock.advance(Duration::from_secs(15 * 60 + 6));
    assert_eq!(status_with_bearer(&app, &token).await, 401);
    let next = renewed(&app, &ada).await;
    let next = access_token(&next);
    assert_ne!(next, token);
    assert_ne!(part(next, 1)["jti"], claims["jti"]);
    assert_eq!(status_with_bearer(&app, next).await, 200);
}

async fn a_bearer_token_cannot_renew_itself(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "bearer-renew@example.com").await;
    let session = app.store.sessions_of(ada.id).await.unwrap()[0].id;
    let token = issue(&app, ada.id, Some(session)).await;
    assert_eq!(status_with_bearer(&app, &token).await, 200);
    let response = app
        .client
        .post(app.url("/token"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        json_body(response).await["error"]["code"],
        "unauthenticated"
    );

    let anonymous = app
        .client
        .post(app.url("/token"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn renewed_tokens_end_with_their_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "renew-logout@example.com").await;
    let body = renewed(&app, &ada).await;
    let token = access_token(&body);
    assert_eq!(status_with_bearer(&app, token).await, 200);

    let logout = app.post_as(&ada.cookie, "/logout", &json!({})).await;
    assert_eq!(logout.status(), 204);
    assert_eq!(status_with_bearer(&app, token).await, 401);
    let again = renew(&app, &ada.cookie).await;
    assert_eq!(again.status(), 401, "an ended session renews nothing");
}

async fn a_renewed_token_expires_with_its_session(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.session_absolute_timeout = Duration::from_secs(30 * 60);
    })
    .await;
    let ada = verified_person(&app, "renew-absolute@example.com").await;
    let session = app.store.sessions_of(ada.id).await.unwrap()[0].clone();

    // Five minutes before the session's absolute end, a token for five.
    app.clock.advance(Duration::from_secs(25 * 60));
    let body = renewed(&app, &ada).await;
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!((299..=300).contains(&expires_in), "{body}");
    let claims = part(access_token(&body), 1);
    assert_eq!(claims["exp"], session.expires_at.timestamp());
    let left = session.expires_at.timestamp() - app.clock.now().timestamp();
    assert!((299..=300).contains(&left), "{left}");

    // At the end, the session is gone and so is its token.
    app.clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(status_with_bearer(&app, access_token(&body)).await, 401);
    assert_eq!(renew(&app, &ada.cookie).await.status(), 401);
}

async fn only_a_json_post_of_this_origin_gets_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "renew-csrf@example.com").await;
    // A page of any origin can send a form or `text/plain` without asking
    // (this path has no page to take a form); JSON from another origin is
    // refused by the origin check.
    let refused = [
        (
            "application/x-www-form-urlencoded",
            None,
            415,
            "unsupported_media_type",
        ),
        ("text/plain", None, 415, "unsupported_media_type"),
        (
            "application/json",
            Some("https://evil.example"),
            403,
            "cross_site_request",
        ),
    ];
    for (content_type, origin, status, code) in refused {
        let mut request = app
            .client
            .post(app.url("/token"))
            .header("cookie", &ada.cookie)
            .header("content-type", content_type)
            .body("x=1");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{content_type} {origin:?}");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], code);
        assert!(body.get("access_token").is_none());
    }
    assert_eq!(renew(&app, &ada.cookie).await.status(), 200);
}
