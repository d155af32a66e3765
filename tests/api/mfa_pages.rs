//! The second step of a login in a browser, over HTTP: the login form's 303
//! to `/mfa` with the challenge cookie, the page (methods, one-time-code
//! field, recovery code form), codes sent from it, wrong codes inline, the
//! end of a challenge leading back to the login page, and CSRF.

use std::time::Duration;

use crate::browser::{HTML, Visitor, assert_page, see_other_path, set_cookie};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, six_digits};
use crate::mfa::{code_at, enrol_totp, step_now};

both_backends!(
    a_form_login_with_totp_goes_through_the_mfa_page,
    a_recovery_code_signs_in_through_the_form,
    email_codes_are_sent_from_the_page,
    too_many_codes_and_expired_challenges_lead_back_to_the_login,
    get_mfa_is_the_page_for_browsers_and_the_factor_list_for_the_api,
    mfa_forms_without_a_matching_csrf_token_are_refused,
);

/// The password step through the login form: 303 to `/mfa`, and the
/// challenge as a cookie.
async fn password_step(app: &TestApp, email: &str) -> Visitor {
    let (mut browser, _) = Visitor::open(app, "/login").await;
    let response = browser
        .post(app, "/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(see_other_path(&response), "/mfa");
    assert!(set_cookie(&response, "latchkey_session").is_none());
    let cookie = set_cookie(&response, "latchkey_mfa").expect("the challenge cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=600"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    browser
}

async fn a_form_login_with_totp_goes_through_the_mfa_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("page2fa@example.com").await;
    let (secret, _, spent) = enrol_totp(&app, &cookie).await;
    let mut browser = password_step(&app, "page2fa@example.com").await;

    let page = browser.get(&app, "/mfa").await;
    assert_eq!(page.status(), 200);
    assert_page(&page);
    let html = page.text().await.unwrap();
    for expected in [
        "autocomplete=\"one-time-code\"",
        "inputmode=\"numeric\"",
        "action=\"/mfa/verify\"",
        "Use a recovery code",
        "authenticator app",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(!html.contains("Text me a code"), "no SMS factor: {html}");
    assert!(!html.contains("Email me a code"), "no email factor: {html}");

    let wrong = browser
        .post(&app, "/mfa/verify", &[("code", "123456")])
        .await;
    assert_eq!(wrong.status(), 401);
    assert_page(&wrong);
    let html = wrong.text().await.unwrap();
    assert!(
        html.contains("That code is not right. Check it and try again."),
        "{html}"
    );
    assert!(html.contains("aria-invalid=\"true\""), "{html}");

    let code = code_at(&secret, spent + 1);
    let done = browser.post(&app, "/mfa/verify", &[("code", &code)]).await;
    assert_eq!(see_other_path(&done), "/dashboard");
    assert!(set_cookie(&done, "latchkey_session").is_some());
    assert!(
        set_cookie(&done, "latchkey_mfa")
            .unwrap()
            .contains("Max-Age=0"),
        "the challenge cookie is cleared"
    );
    assert!(browser.cookie("latchkey_mfa").is_none());
    let dashboard = browser.get(&app, "/dashboard").await;
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("Authenticator app"), "{html}");
    // Signed in, /mfa has nothing to ask: on to the dashboard.
    let again = browser.get(&app, "/mfa").await;
    assert_eq!(see_other_path(&again), "/dashboard");
}

async fn a_recovery_code_signs_in_through_the_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("recover@example.com").await;
    let (_, recovery, _) = enrol_totp(&app, &cookie).await;
    let mut browser = password_step(&app, "recover@example.com").await;
    let wrong = browser
        .post(
            &app,
            "/mfa/verify",
            &[("code", "AAAA-BBBB-CCCC-DDDD"), ("field", "recovery")],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let html = wrong.text().await.unwrap();
    // The recovery form opens, with the error beside its field.
    assert!(
        html.contains("<details class=\"disclosure\" open>"),
        "{html}"
    );
    assert!(
        html.contains("id=\"recovery-code-error\" class=\"field-error\" aria-live=\"polite\">That code is not right."),
        "{html}"
    );
    let code = recovery[0].to_lowercase().replace('-', " ");
    let done = browser
        .post(
            &app,
            "/mfa/verify",
            &[("code", &code), ("field", "recovery")],
        )
        .await;
    assert_eq!(see_other_path(&done), "/dashboard");
    let dashboard = browser.get(&app, "/dashboard").await;
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("9 of 10 left"), "{html}");
}

async fn email_codes_are_sent_from_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("mailcode@example.com").await;
    assert_eq!(
        app.post_as(&cookie, "/mfa/email/enroll", &serde_json::json!({}))
            .await
            .status(),
        202
    );
    let mails = app
        .sink()
        .wait_for_subject("mailcode@example.com", "Your sign-in code", 1)
        .await;
    let code = six_digits(&mails[0].text());
    assert_eq!(
        app.post_as(
            &cookie,
            "/mfa/email/confirm",
            &serde_json::json!({ "code": code })
        )
        .await
        .status(),
        200
    );
    let mut browser = password_step(&app, "mailcode@example.com").await;
    let html = browser.get(&app, "/mfa").await.text().await.unwrap();
    assert!(html.contains("Email me a code"), "{html}");
    assert!(!html.contains("We sent a 6-digit code"), "{html}");

    let refused = browser
        .post(&app, "/mfa/challenge", &[("method", "sms")])
        .await;
    assert_eq!(refused.status(), 400);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("This method is not available for this account."),
        "{html}"
    );

    let sent = browser
        .post(&app, "/mfa/challenge", &[("method", "email")])
        .await;
    assert_eq!(see_other_path(&sent), "/mfa");
    let html = browser.get(&app, "/mfa").await.text().await.unwrap();
    assert!(
        html.contains(
            "We sent a 6-digit code to <strong class=\"address\">mailcode@example.com</strong>"
        ),
        "{html}"
    );
    // Verification, "account active", enrolment code, "method added", sign-in code.
    let mails = app.sink().wait_for("mailcode@example.com", 5).await;
    let sign_in = mails
        .iter()
        .rev()
        .find(|mail| mail.parsed().subject() == Some("Your sign-in code"))
        .unwrap();
    let code = six_digits(&sign_in.text());
    let done = browser.post(&app, "/mfa/verify", &[("code", &code)]).await;
    assert_eq!(see_other_path(&done), "/dashboard");
}

async fn too_many_codes_and_expired_challenges_lead_back_to_the_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("stuck@example.com").await;
    let (secret, _, _) = enrol_totp(&app, &cookie).await;
    let mut browser = password_step(&app, "stuck@example.com").await;
    for attempt in 1..=4 {
        let wrong = browser
            .post(&app, "/mfa/verify", &[("code", &format!("{attempt:06}"))])
            .await;
        assert_eq!(wrong.status(), 401, "attempt {attempt}");
    }
    let last = browser
        .post(&app, "/mfa/verify", &[("code", "000005")])
        .await;
    assert_eq!(last.status(), 429);
    assert_page(&last);
    let html = last.text().await.unwrap();
    assert!(html.contains("Too many wrong codes"), "{html}");
    assert!(html.contains("href=\"/login\""), "{html}");
    let page = browser.get(&app, "/mfa").await;
    assert_eq!(page.status(), 429);

    let mut browser = password_step(&app, "stuck@example.com").await;
    app.clock.advance(Duration::from_secs(11 * 60));
    let late = browser
        .post(
            &app,
            "/mfa/verify",
            &[("code", &code_at(&secret, step_now(&app)))],
        )
        .await;
    assert_eq!(late.status(), 410);
    let html = late.text().await.unwrap();
    assert!(html.contains("This sign-in has expired"), "{html}");
    assert!(html.contains("href=\"/login\""), "{html}");

    // No challenge at all: the same page.
    let (mut fresh, _) = Visitor::open(&app, "/login").await;
    let nothing = fresh.get(&app, "/mfa").await;
    assert_eq!(nothing.status(), 410);
    assert_page(&nothing);
}

async fn get_mfa_is_the_page_for_browsers_and_the_factor_list_for_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("list@example.com").await;
    enrol_totp(&app, &cookie).await;
    let api = app
        .client
        .get(app.url("/mfa"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    assert!(api.headers()["vary"].to_str().unwrap().contains("accept"));
    let body = json_body(api).await;
    assert_eq!(body["factors"][0]["method"], "totp");
    let signed_out = app.get_json("/mfa").await;
    assert_eq!(signed_out.status(), 401);
    let page = app
        .client
        .get(app.url("/mfa"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    assert_page(&page);
}

async fn mfa_forms_without_a_matching_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("csrf-mfa@example.com").await;
    let (secret, _, spent) = enrol_totp(&app, &cookie).await;
    let mut browser = password_step(&app, "csrf-mfa@example.com").await;
    let code = code_at(&secret, spent + 1);
    let other = latchkey::domain::CsrfToken::generate().encode();
    for path in ["/mfa/verify", "/mfa/challenge"] {
        for fields in [
            vec![("code", code.as_str()), ("method", "email")],
            vec![
                ("code", code.as_str()),
                ("method", "email"),
                ("csrf_token", &other),
            ],
        ] {
            let response = browser.post_exactly(&app, path, &fields).await;
            assert_eq!(response.status(), 403, "{path}");
            assert!(set_cookie(&response, "latchkey_session").is_none());
        }
    }
    // The refused posts spent no attempt: the code still works.
    let done = browser.post(&app, "/mfa/verify", &[("code", &code)]).await;
    assert_eq!(see_other_path(&done), "/dashboard");
}
