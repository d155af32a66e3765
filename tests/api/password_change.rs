//! Changing the password while signed in: the current password required
//! (and counted by the login throttle), the policy, the current session
//! kept and every other ended, the notice; by JSON with the cookie or a
//! Bearer token, and by the dashboard's form.

use std::time::Duration;

use latchkey::limits::QuotaSetting;
use serde_json::json;

use crate::browser::{Visitor, see_other_path};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie};

both_backends!(
    a_change_keeps_this_session_and_ends_the_others,
    a_bearer_token_changes_the_password_and_keeps_its_session,
    wrong_current_passwords_count_as_failed_logins,
    the_dashboard_form_changes_the_password,
);

const NEW_PASSWORD: &str = "quartz lanterns drift over 17 harbours";

async fn change(app: &TestApp, cookie: &str, current: &str, new: &str) -> reqwest::Response {
    app.post_as(
        cookie,
        "/password/change",
        &json!({ "current_password": current, "new_password": new }),
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

async fn session_of(app: &TestApp, email: &str, password: &str) -> String {
    let login = app.login(email, password).await;
    assert_eq!(login.status(), 200);
    format!(
        "latchkey_session={}",
        set_cookie(&login, "latchkey_session").unwrap()
    )
}

async fn a_change_keeps_this_session_and_ends_the_others(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "change@example.com";
    let this = app.signed_up(email).await;
    let other = session_of(&app, email, PASSWORD).await;

    let unauthenticated = app
        .post_json(
            "/password/change",
            &json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(unauthenticated.status(), 401);

    let wrong = change(&app, &this, "not my password", NEW_PASSWORD).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        json_body(wrong).await["error"]["code"],
        "invalid_credentials"
    );

    let weak = change(&app, &this, PASSWORD, "password").await;
    assert_eq!(weak.status(), 422);
    let body = json_body(weak).await;
    assert!(body["error"]["fields"]["new_password"].is_array(), "{body}");
    let missing = change(&app, &this, "", NEW_PASSWORD).await;
    assert_eq!(missing.status(), 422);
    assert!(json_body(missing).await["error"]["fields"]["current_password"].is_array());
    assert_eq!(me(&app, &other).await, 200, "nothing changed yet");
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);

    let done = change(&app, &this, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        json_body(done).await,
        json!({ "status": "password_changed" })
    );
    assert_eq!(me(&app, &this).await, 200, "this session stays");
    assert_eq!(me(&app, &other).await, 401, "the others end");
    assert_eq!(app.login(email, PASSWORD).await.status(), 401);
    assert_eq!(app.login(email, NEW_PASSWORD).await.status(), 200);

    let notice = app
        .sink()
        .wait_for_subject(email, "Your password was changed", 1)
        .await;
    assert!(notice[0].text().contains("Every other session"));
    let trail = app.store.audit_trail(None, 200).await.unwrap();
    let events: Vec<&str> = trail.iter().map(|r| r.event.as_str()).collect();
    assert!(events.contains(&"password.changed"), "{events:?}");
    assert!(events.contains(&"password.change_failed"), "{events:?}");
}

async fn a_bearer_token_changes_the_password_and_keeps_its_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "bearer-change@example.com";
    let cookie = app.signed_up(email).await;
    let login = app.login(email, PASSWORD).await;
    let token = json_body(login).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .client
        .post(app.url("/password/change"))
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(crate::tokens::status_with_bearer(&app, &token).await, 200);
    assert_eq!(me(&app, &cookie).await, 401, "the cookie's session ended");
    let bad = app
        .client
        .post(app.url("/password/change"))
        .header("authorization", "Bearer not.a.token")
        .json(&json!({ "current_password": NEW_PASSWORD, "new_password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
}

async fn wrong_current_passwords_count_as_failed_logins(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_login_per_account = QuotaSetting(None);
        config.limits.login_free_failures = 2;
        config.limits.login_max_delay = Duration::from_secs(4);
    })
    .await;
    let email = "guess@example.com";
    let cookie = app.signed_up(email).await;
    for _ in 0..2 {
        let wrong = change(&app, &cookie, "a guess at the password", NEW_PASSWORD).await;
        assert_eq!(wrong.status(), 401);
    }
    // Past the free failures, the login itself must wait ...
    let login = app.login(email, PASSWORD).await;
    assert_eq!(login.status(), 429);
    // ... and so does the next guess through the change.
    let guess = change(&app, &cookie, "another guess", NEW_PASSWORD).await;
    assert_eq!(guess.status(), 429);
    assert!(guess.headers().contains_key("retry-after"));

    app.clock.advance(Duration::from_secs(5));
    assert_eq!(
        change(&app, &cookie, PASSWORD, NEW_PASSWORD).await.status(),
        200
    );
    // The right password forgot the failures.
    assert_eq!(app.login(email, NEW_PASSWORD).await.status(), 200);
}

async fn the_dashboard_form_changes_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "form-change@example.com";
    let cookie = app.signed_up(email).await;
    let other = session_of(&app, email, PASSWORD).await;
    let (browser, _) = Visitor::open(&app, "/login").await;
    let mut browser = browser.with(&cookie);
    let dashboard = browser.get(&app, "/dashboard").await;
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("action=\"/password/change\""), "{html}");
    assert!(html.contains("autocomplete=\"current-password\""), "{html}");

    let refused = browser
        .post_exactly(
            &app,
            "/password/change",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403, "no CSRF token");

    let wrong = browser
        .post(
            &app,
            "/password/change",
            &[("current_password", "nope"), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("Your current password is wrong."), "{html}");
    assert!(!html.contains(NEW_PASSWORD), "never sent back");

    let weak = browser
        .post(
            &app,
            "/password/change",
            &[("current_password", PASSWORD), ("new_password", "password")],
        )
        .await;
    assert_eq!(weak.status(), 422);

    let done = browser
        .post(
            &app,
            "/password/change",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(see_other_path(&done), "/dashboard?notice=password-changed");
    let after = browser
        .get(&app, "/dashboard?notice=password-changed")
        .await;
    assert!(
        after
            .text()
            .await
            .unwrap()
            .contains("Your password was changed.")
    );
    assert_eq!(me(&app, &other).await, 401);
    assert_eq!(app.login(email, NEW_PASSWORD).await.status(), 200);
}
