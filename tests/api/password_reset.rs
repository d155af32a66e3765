//! A forgotten password: the request (the same answer for every address),
//! the emailed link (a page that uses nothing), the new password set once,
//! every session ended, the notice; expiry, superseded and used links, the
//! policy, and the limits.

use std::time::Duration;

use latchkey::limits::QuotaSetting;
use serde_json::{Value, json};

use crate::browser::{HTML, Visitor, assert_page, see_other_path};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie, token_of};

both_backends!(
    a_reset_link_sets_a_new_password_once_and_ends_every_session,
    every_address_gets_the_same_answer,
    a_reset_confirms_a_pending_account_with_the_new_password,
    links_expire_and_a_newer_one_supersedes_the_older,
    a_weak_password_changes_nothing,
    reset_requests_are_rate_limited,
    the_pages_reset_a_password_without_javascript,
);

const NEW_PASSWORD: &str = "quartz lanterns drift over 17 harbours";
const RESET: &str = "Reset your password";
const CHANGED: &str = "Your password was changed";

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/password/reset", &json!({ "email": email }))
        .await
}

/// Asks for a link and returns its token (the `count`th reset email).
async fn reset_token(app: &TestApp, email: &str, count: usize) -> String {
    assert_eq!(request_reset(app, email).await.status(), 202);
    let mails = app.sink().wait_for_subject(email, RESET, count).await;
    token_of(&mails[count - 1].link())
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/password/reset/confirm",
        &json!({ "token": token, "password": password }),
    )
    .await
}

async fn me(app: &TestApp, cookie: &str) -> u16 {
    app.client
        .get(app.url("/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_reset_link_sets_a_new_password_once_and_ends_every_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "reset@example.com";
    let first_session = app.signed_up(email).await;
    let login = app.login(email, PASSWORD).await;
    assert_eq!(login.status(), 200);
    let second_session = format!(
        "latchkey_session={}",
        set_cookie(&login, "latchkey_session").unwrap()
    );
    let access_token = json_body(login).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(request_reset(&app, "Reset@EXAMPLE.com").await.status(), 202);
    let mails = app.sink().wait_for_subject(email, RESET, 1).await;
    let link = mails[0].link();
    assert!(
        link.starts_with(&format!("{}password/reset?token=", app.config.public_url)),
        "{link}"
    );
    let token = token_of(&link);

    // Opening the link (twice, as a mail scanner then the person) uses nothing.
    for _ in 0..2 {
        let (_, html) = Visitor::open(&app, &format!("/password/reset?token={token}")).await;
        assert!(
            html.contains("action=\"/password/reset/confirm\""),
            "{html}"
        );
        assert!(
            html.contains(&format!("name=\"token\" value=\"{token}\"")),
            "{html}"
        );
        assert!(html.contains("autocomplete=\"new-password\""), "{html}");
        assert!(html.contains(email), "{html}");
    }

    let done = confirm(&app, &token, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
    assert!(
        set_cookie(&done, "latchkey_session").is_none(),
        "no sign-in"
    );
    assert_eq!(json_body(done).await, json!({ "status": "password_reset" }));

    assert_eq!(app.login(email, PASSWORD).await.status(), 401);
    assert_eq!(app.login(email, NEW_PASSWORD).await.status(), 200);
    assert_eq!(me(&app, &first_session).await, 401);
    assert_eq!(me(&app, &second_session).await, 401);
    assert_eq!(
        crate::tokens::status_with_bearer(&app, &access_token).await,
        401,
        "the access token of an ended session"
    );

    let notice = app.sink().wait_for_subject(email, CHANGED, 1).await;
    let text = notice[0].text();
    assert!(text.contains("reset with a link"), "{text}");
    assert!(!text.contains(&token), "{text}");

    let again = confirm(&app, &token, "another fine password for 2 weeks").await;
    assert_eq!(again.status(), 400, "a link works once");
    assert_eq!(json_body(again).await["error"]["code"], "invalid_token");
    let page = app
        .client
        .get(app.url(&format!("/password/reset?token={token}")))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("This link does not work")
    );

    let trail = app.store.audit_trail(None, 200).await.unwrap();
    let events: Vec<&str> = trail.iter().map(|r| r.event.as_str()).collect();
    for expected in [
        "password.reset_requested",
        "password.reset",
        "password.reset_failed",
    ] {
        assert!(events.contains(&expected), "{expected}: {events:?}");
    }
}

async fn every_address_gets_the_same_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("active@example.com").await;
    app.register_and_get_link("pending@example.com").await;
    let mut answers: Vec<(u16, Value)> = Vec::new();
    for email in [
        "active@example.com",
        "pending@example.com",
        "nobody@example.com",
    ] {
        let response = request_reset(&app, email).await;
        answers.push((response.status().as_u16(), json_body(response).await));
    }
    assert_eq!(answers[0].0, 202);
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);

    app.sink()
        .wait_for_subject("active@example.com", RESET, 1)
        .await;
    app.sink()
        .wait_for_subject("pending@example.com", RESET, 1)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(app.sink().received_for("nobody@example.com").is_empty());

    let invalid = request_reset(&app, "not an address").await;
    assert_eq!(invalid.status(), 422);
    assert_eq!(
        json_body(invalid).await["error"]["fields"]["email"][0]["code"],
        "invalid_email"
    );
}

/// Whoever signed up first with somebody else's address chose its password;
/// the owner who asks for a reset gets a reset link, not the verification
/// link that would activate that password. Setting a password with it
/// proves the address: the account is active with the new password only,
/// and its verification links are spent.
async fn a_reset_confirms_a_pending_account_with_the_new_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "pending@example.com";
    let verification = token_of(&app.register_and_get_link(email).await);
    let reset = reset_token(&app, email, 1).await;
    assert_eq!(
        app.login(email, PASSWORD).await.status(),
        403,
        "pending until the reset"
    );
    let done = confirm(&app, &reset, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);

    assert_eq!(app.login(email, NEW_PASSWORD).await.status(), 200);
    assert_eq!(app.login(email, PASSWORD).await.status(), 401);
    let stale = app.get_json(&format!("/verify?token={verification}")).await;
    assert_eq!(stale.status(), 400, "it would have signed in");
    let account = &app.store.users(1).await.unwrap()[0];
    assert_eq!(account.status, latchkey::domain::UserStatus::Active);
    assert!(account.verified_at.is_some());
    let trail = app.store.audit_trail(Some(account.id), 100).await.unwrap();
    assert!(
        trail.iter().any(|e| e.event == "verification.succeeded"
            && e.detail.as_deref() == Some("by a password reset link")),
        "{trail:?}"
    );
}

async fn links_expire_and_a_newer_one_supersedes_the_older(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "expiry@example.com";
    app.signed_up(email).await;
    let first = reset_token(&app, email, 1).await;
    let second = reset_token(&app, email, 2).await;
    assert_ne!(first, second);
    let superseded = confirm(&app, &first, NEW_PASSWORD).await;
    assert_eq!(superseded.status(), 400);
    assert_eq!(
        json_body(superseded).await["error"]["code"],
        "invalid_token"
    );

    app.clock.advance(Duration::from_secs(3601));
    let expired = confirm(&app, &second, NEW_PASSWORD).await;
    assert_eq!(expired.status(), 410);
    assert_eq!(json_body(expired).await["error"]["code"], "token_expired");
    let page = app
        .client
        .get(app.url(&format!("/password/reset?token={second}")))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("This link has expired"));

    for bad in ["", "nonsense", &"A".repeat(43)] {
        let response = confirm(&app, bad, NEW_PASSWORD).await;
        assert_eq!(response.status(), 400, "{bad:?}");
    }
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);
}

async fn a_weak_password_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "weak@example.com";
    let session = app.signed_up(email).await;
    let token = reset_token(&app, email, 1).await;
    for weak in ["password", "short", "weak@example.com is mine"] {
        let response = confirm(&app, &token, weak).await;
        assert_eq!(response.status(), 422, "{weak}");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], "validation_failed");
        assert!(body["error"]["fields"]["password"].is_array(), "{body}");
    }
    assert_eq!(me(&app, &session).await, 200, "the session lives on");
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);
    // The link still works for a good password.
    assert_eq!(confirm(&app, &token, NEW_PASSWORD).await.status(), 200);
}

async fn reset_requests_are_rate_limited(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_reset_per_address = QuotaSetting::try_from("2/1h".to_owned()).unwrap();
    })
    .await;
    for _ in 0..2 {
        assert_eq!(request_reset(&app, "many@example.com").await.status(), 202);
    }
    let refused = request_reset(&app, "many@example.com").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(json_body(refused).await["error"]["code"], "rate_limited");
    // Another address has its own quota.
    assert_eq!(request_reset(&app, "other@example.com").await.status(), 202);
}

async fn the_pages_reset_a_password_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "pages@example.com";
    app.signed_up(email).await;

    let (mut browser, login) = Visitor::open(&app, "/login").await;
    assert!(login.contains("href=\"/password/forgot\""), "{login}");
    let forgot = browser
        .get(&app, &format!("/password/forgot?email={email}"))
        .await;
    assert_page(&forgot);
    let html = forgot.text().await.unwrap();
    assert!(html.contains("action=\"/password/reset\""), "{html}");
    assert!(html.contains(&format!("value=\"{email}\"")), "{html}");

    let invalid = browser
        .post(&app, "/password/reset", &[("email", "nope")])
        .await;
    assert_eq!(invalid.status(), 422);
    let sent = browser
        .post(&app, "/password/reset", &[("email", email)])
        .await;
    assert_eq!(
        see_other_path(&sent),
        "/password/forgot?email=pages%40example.com&sent=1"
    );
    let page = browser.get(&app, &see_other_path(&sent)).await;
    assert!(page.text().await.unwrap().contains("is on its way"));

    let mails = app.sink().wait_for_subject(email, RESET, 1).await;
    let path = format!("/password/reset?token={}", token_of(&mails[0].link()));
    let form = browser.get(&app, &path).await;
    assert_eq!(form.status(), 200);
    assert_page(&form);
    let token = token_of(&mails[0].link());
    let fields = |password, again| {
        [
            ("token", token.as_str()),
            ("password", password),
            ("password_confirm", again),
        ]
    };

    let differ = browser
        .post(
            &app,
            "/password/reset/confirm",
            &fields(NEW_PASSWORD, "something else entirely"),
        )
        .await;
    assert_eq!(differ.status(), 422);
    let html = differ.text().await.unwrap();
    assert!(html.contains("The two passwords differ"), "{html}");
    assert!(!html.contains(NEW_PASSWORD), "never sent back");

    let weak = browser
        .post(
            &app,
            "/password/reset/confirm",
            &fields("password", "password"),
        )
        .await;
    assert_eq!(weak.status(), 422);
    assert!(weak.text().await.unwrap().contains("aria-invalid=\"true\""));

    let done = browser
        .post(
            &app,
            "/password/reset/confirm",
            &fields(NEW_PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(see_other_path(&done), "/login?password=reset");
    let login = browser.get(&app, "/login?password=reset").await;
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains("Log in with your new password")
    );
    let signed_in = browser
        .post(
            &app,
            "/login",
            &[("email", email), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(see_other_path(&signed_in), "/dashboard");

    // Without the CSRF token, nothing is sent or changed.
    for (path, fields) in [
        ("/password/reset", vec![("email", email)]),
        (
            "/password/reset/confirm",
            vec![
                ("token", token.as_str()),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        ),
    ] {
        let refused = browser.post_exactly(&app, path, &fields).await;
        assert_eq!(refused.status(), 403, "{path}");
    }
}
