//! The login page over HTTP: its form post (303 to the dashboard, the
//! second step or the set-up page; or the page again with the error
//! inline), CSRF, and `POST /login` with JSON answering as before.

use serde_json::json;

use crate::browser::{HTML, Visitor, assert_page, see_other_path, set_cookie};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};

both_backends!(
    a_form_login_redirects_to_the_dashboard_with_a_session,
    wrong_credentials_and_unverified_accounts_come_back_inline,
    json_logins_answer_as_before,
    a_second_login_in_one_browser_ends_the_first_session,
    login_forms_without_a_matching_csrf_token_are_refused,
);

async fn a_form_login_redirects_to_the_dashboard_with_a_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("form@example.com").await;
    let (mut browser, html) = Visitor::open(&app, "/login").await;
    for expected in [
        "action=\"/login\"",
        "autocomplete=\"username\"",
        "autocomplete=\"current-password\"",
        "href=\"/signup\"",
        "href=\"/resend\"",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    let response = browser
        .post(
            &app,
            "/login",
            &[("email", " FORM@example.com "), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(see_other_path(&response), "/dashboard");
    let session = set_cookie(&response, "latchkey_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    let dashboard = browser.get(&app, "/dashboard").await;
    assert_page(&dashboard);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("<strong>Ada Lovelace</strong>"), "{html}");
    let trail = app.store.audit_trail(None, 100).await.unwrap();
    assert!(trail.iter().any(|r| r.event == "login.succeeded"));
}

async fn wrong_credentials_and_unverified_accounts_come_back_inline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("known@example.com").await;
    assert_eq!(
        app.register("Ada", "pending@example.com", PASSWORD)
            .await
            .status(),
        201
    );
    let (mut browser, _) = Visitor::open(&app, "/login").await;
    for (email, password) in [
        ("known@example.com", "not the password at all"),
        ("nobody@example.com", PASSWORD),
        ("", ""),
    ] {
        let response = browser
            .post(&app, "/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(response.status(), 401, "{email}");
        assert_page(&response);
        assert!(set_cookie(&response, "latchkey_session").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("The email or password is wrong."), "{html}");
        assert!(
            html.contains("aria-describedby=\"login-error\" aria-invalid=\"true\""),
            "{html}"
        );
        assert!(html.contains(&format!("value=\"{email}\"")), "{html}");
        assert!(!html.contains("value=\"not the password"), "{html}");
    }

    let pending = browser
        .post(
            &app,
            "/login",
            &[("email", "pending@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(pending.status(), 403);
    let html = pending.text().await.unwrap();
    assert!(html.contains("Confirm your email address first"), "{html}");
    assert!(
        html.contains("href=\"/resend?email=pending%40example.com\""),
        "{html}"
    );
    // The wrong password never learns that the account is pending.
    let wrong = browser
        .post(
            &app,
            "/login",
            &[("email", "pending@example.com"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status(), 401);
}

async fn json_logins_answer_as_before(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("api@example.com").await;
    let response = app.login("api@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response, "latchkey_session").is_some());
    let body = json_body(response).await;
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "status", "token_type", "user"]
    );
    let wrong = app.login("api@example.com", "wrong").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        json_body(wrong).await,
        json!({"error": {"code": "invalid_credentials", "message": "The email or password is wrong."}})
    );
    // A browser's Accept header changes nothing for a JSON body.
    let from_script = app
        .client
        .post(app.url("/login"))
        .header("accept", HTML)
        .json(&json!({ "email": "api@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body(from_script).await["status"], "authenticated");
    let plain = app
        .client
        .post(app.url("/login"))
        .header("content-type", "text/plain")
        .body("email=api@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
    assert_eq!(
        json_body(plain).await["error"]["code"],
        "unsupported_media_type"
    );
}

async fn a_second_login_in_one_browser_ends_the_first_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_up("again@example.com").await;
    let (browser, html) = Visitor::open(&app, "/login").await;
    assert!(!html.contains("You're signed in as"));
    let mut browser = browser.with(&first);
    let page = browser.get(&app, "/login").await;
    let html = page.text().await.unwrap();
    assert!(html.contains("You're signed in as"), "{html}");
    assert!(html.contains("value=\"again@example.com\""), "{html}");
    let response = browser
        .post(
            &app,
            "/login",
            &[("email", "again@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(see_other_path(&response), "/dashboard");
    let me = |cookie: String| {
        app.client
            .get(app.url("/me"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(
        me(first).await.unwrap().status(),
        401,
        "the old session ended"
    );
    let second = format!(
        "latchkey_session={}",
        browser.cookie("latchkey_session").unwrap()
    );
    assert_eq!(me(second).await.unwrap().status(), 200);
}

async fn login_forms_without_a_matching_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("csrf-login@example.com").await;
    let (mut browser, _) = Visitor::open(&app, "/login").await;
    let fields = [("email", "csrf-login@example.com"), ("password", PASSWORD)];
    let other = latchkey::domain::CsrfToken::generate().encode();
    let mut with_other = fields.to_vec();
    with_other.push(("csrf_token", &other));
    for response in [
        browser.post_exactly(&app, "/login", &fields).await,
        browser.post_exactly(&app, "/login", &with_other).await,
    ] {
        assert_eq!(response.status(), 403);
        assert!(set_cookie(&response, "latchkey_session").is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
    }
    let cross_site = app
        .client
        .post(app.url("/login"))
        .header("cookie", format!("latchkey_csrf={}", browser.token))
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("email", "csrf-login@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &browser.token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let trail = app.store.audit_trail(None, 100).await.unwrap();
    assert!(
        !trail.iter().any(|r| r.event.starts_with("login.")),
        "refused before any password check"
    );
}
