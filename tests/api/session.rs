use std::time::Duration;

use serde_json::json;

use crate::browser::{Visitor, see_other_path};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie, token_of};

both_backends!(
    verifying_signs_in_once_and_logout_ends_the_session,
    sessions_end_after_idle_and_absolute_timeouts,
    an_https_public_url_gives_a_host_prefixed_secure_cookie,
    signing_in_again_ends_the_session_the_cookie_named,
    a_link_that_signs_in_ends_the_session_the_cookie_named,
    signing_out_everywhere_else_keeps_only_this_session,
);

/// The `name=value` pair and the attributes of the session cookie set by `response`.
fn session_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|value| {
            let value = value.to_str().unwrap();
            value.contains("latchkey_session=").then(|| {
                let pair = value.split(';').next().unwrap().trim().to_owned();
                (pair, value.to_owned())
            })
        })
}

async fn me(app: &TestApp, cookie: &str) -> reqwest::StatusCode {
    app.client
        .get(app.url("/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

async fn verify_and_sign_in(app: &TestApp, email: &str) -> String {
    let token = token_of(&app.register_and_get_link(email).await);
    let response = app.get_json(&format!("/verify?token={token}")).await;
    assert_eq!(response.status(), 200);
    session_cookie(&response)
        .expect("verification signs the person in")
        .0
}

async fn verifying_signs_in_once_and_logout_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = token_of(&app.register_and_get_link("session@example.com").await);
    let response = app.get_json(&format!("/verify?token={token}")).await;
    let (cookie, attributes) = session_cookie(&response).expect("a session cookie");
    assert!(cookie.starts_with("latchkey_session="));
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            attributes.contains(attribute),
            "{attribute} missing: {attributes}"
        );
    }
    assert!(
        !attributes.contains("Secure"),
        "plain http public URL: {attributes}"
    );

    // Opening the link again reports success but is no sign-in credential.
    let again = app.get_json(&format!("/verify?token={token}")).await;
    assert!(session_cookie(&again).is_none());

    let signed_in = app
        .client
        .get(app.url("/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    assert_eq!(
        json_body(signed_in).await["user"]["email"],
        "session@example.com"
    );
    assert_eq!(me(&app, "latchkey_session=forged").await, 401);
    assert_eq!(
        app.client
            .get(app.url("/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let logout = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let (cleared, _) = session_cookie(&logout).expect("the cookie is cleared");
    assert_eq!(cleared, "latchkey_session=");
    assert_eq!(
        me(&app, &cookie).await,
        401,
        "the session is gone server-side"
    );

    let trail = app.store.audit_trail(None, 100).await.unwrap();
    assert!(trail.iter().any(|r| r.event == "session.started"));
    assert!(trail.iter().any(|r| r.event == "session.ended"));
}

async fn sessions_end_after_idle_and_absolute_timeouts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let idle = verify_and_sign_in(&app, "idle@example.com").await;
    let busy = verify_and_sign_in(&app, "busy@example.com").await;
    // Busy keeps using its session every 50 minutes; idle does not.
    for _ in 0..2 {
        app.clock.advance(Duration::from_secs(50 * 60));
        assert_eq!(me(&app, &busy).await, 200);
    }
    assert_eq!(
        me(&app, &idle).await,
        401,
        "idle for 100 minutes, past the 1 h idle timeout"
    );
    // ... but activity does not extend a session past its absolute lifetime.
    for _ in 0..30 {
        app.clock.advance(Duration::from_secs(50 * 60));
        if me(&app, &busy).await == 401 {
            return;
        }
    }
    panic!("the session outlived the 24 h absolute timeout");
}

async fn an_https_public_url_gives_a_host_prefixed_secure_cookie(backend: Backend) {
    let sink = crate::helpers::MailSink::start(0);
    let port = sink.port;
    let mut app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.public_url = "https://auth.example.com".parse().unwrap();
    })
    .await;
    app.mail = Some(sink);
    let token = token_of(&app.register_and_get_link("secure@example.com").await);
    let response = app.get_json(&format!("/verify?token={token}")).await;
    let (cookie, attributes) = session_cookie(&response).unwrap();
    assert!(cookie.starts_with("__Host-latchkey_session="), "{cookie}");
    assert!(
        attributes.contains("Secure")
            && attributes.contains("Path=/")
            && !attributes.contains("Domain"),
        "{attributes}"
    );
}

/// A JSON login (or a link) that replaces the browser's cookie also ends
/// the session the old cookie named (ASVS 5.0 7.2.4).
async fn signing_in_again_ends_the_session_the_cookie_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = app.signed_up("again@example.com").await;
    let me = |cookie: String| {
        app.client
            .get(app.url("/me"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(me(old.clone()).await.unwrap().status(), 200);
    let login = app
        .client
        .post(app.url("/login"))
        .header("cookie", &old)
        .json(&json!({ "email": "again@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let new = session_cookie(&login).expect("a new session").0;
    assert_ne!(new, old);
    assert_eq!(
        me(old).await.unwrap().status(),
        401,
        "the replaced session ended"
    );
    assert_eq!(me(new).await.unwrap().status(), 200);
}

/// The same for the verification link: opened in a browser signed in as
/// someone else, it replaces that session rather than leaving it behind.
async fn a_link_that_signs_in_ends_the_session_the_cookie_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = app.signed_up("first@example.com").await;
    let token = token_of(&app.register_and_get_link("second@example.com").await);
    let verified = app
        .client
        .get(app.url(&format!("/verify?token={token}")))
        .header("accept", "application/json")
        .header("cookie", &old)
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let new = session_cookie(&verified).expect("a new session").0;
    let me = |cookie: String| {
        app.client
            .get(app.url("/me"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(
        me(old).await.unwrap().status(),
        401,
        "the replaced session ended"
    );
    let mine = me(new).await.unwrap();
    assert_eq!(json_body(mine).await["user"]["email"], "second@example.com");
}

/// A new session of `email` by its password: the cookie, `name=value`.
async fn login(app: &TestApp, email: &str) -> String {
    let response = app.login(email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    format!(
        "latchkey_session={}",
        set_cookie(&response, "latchkey_session").unwrap()
    )
}

async fn signing_out_everywhere_else_keeps_only_this_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "everywhere@example.com";
    let this = app.signed_up(email).await;
    let (phone, laptop) = (login(&app, email).await, login(&app, email).await);
    let by_api = app.login(email, PASSWORD).await;
    let laptop_token = json_body(by_api).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.signed_up("bystander@example.com").await;

    let forged = app
        .client
        .delete(app.url("/sessions"))
        .header("cookie", &this)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let anonymous = app
        .client
        .delete(app.url("/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(me(&app, &phone).await, 200, "nothing ended yet");

    let ended = app
        .client
        .delete(app.url("/sessions"))
        .header("cookie", &this)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    assert_eq!(json_body(ended).await, json!({ "revoked": 3 }));
    assert_eq!(me(&app, &this).await, 200, "this one stays");
    assert_eq!(me(&app, &phone).await, 401);
    assert_eq!(me(&app, &laptop).await, 401);
    let bearer = app
        .client
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {laptop_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status(),
        401,
        "with the access tokens issued for them"
    );
    assert_eq!(me(&app, &other).await, 200, "other accounts keep theirs");

    // The dashboard's button, shown only while there are others.
    let (browser, _) = Visitor::open(&app, "/login").await;
    let mut browser = browser.with(&this);
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(!html.contains("Sign out everywhere else"), "{html}");
    let tablet = login(&app, email).await;
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(
        html.contains("action=\"/sessions/revoke-others\""),
        "{html}"
    );
    let forged = browser
        .post_exactly(&app, "/sessions/revoke-others", &[])
        .await;
    assert_eq!(forged.status(), 403);
    let done = browser.post(&app, "/sessions/revoke-others", &[]).await;
    assert_eq!(see_other_path(&done), "/dashboard?notice=sessions-revoked");
    assert_eq!(me(&app, &tablet).await, 401);
    assert_eq!(me(&app, &this).await, 200);
    let trail = app.store.audit_trail(None, 500).await.unwrap();
    assert!(
        trail.iter().any(|e| e
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("3 other session(s) revoked"))),
        "{trail:?}"
    );
}
