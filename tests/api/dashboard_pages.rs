//! The dashboard and the set-up page over HTTP: profile, factors and
//! sessions shown; an authenticator app, email and SMS codes set up through
//! the forms (recovery codes shown once); a factor removed and a session
//! revoked by form; factor changes refused after 10 minutes; and, under
//! `LATCHKEY_MFA=required`, a login that finishes by setting one up.

use std::time::Duration;

use base64::Engine;

use crate::browser::{Visitor, assert_page, see_other_path, set_cookie};
use crate::helpers::{Backend, FakeSms, MailSink, PASSWORD, TestApp, both_backends, six_digits};
use crate::mfa::{code_at, enrol_totp, step_now};

both_backends!(
    the_dashboard_shows_profile_factors_and_sessions,
    an_authenticator_app_is_set_up_through_the_forms,
    email_and_sms_codes_are_set_up_through_the_forms,
    factors_are_removed_and_sessions_revoked_by_form,
    changing_factors_from_the_dashboard_needs_a_recent_sign_in,
    a_required_second_factor_is_set_up_to_finish_the_login,
    dashboard_forms_without_a_matching_csrf_token_are_refused,
    with_two_step_verification_off_the_dashboard_offers_none,
);

/// A signed-in browser of a new, verified account.
async fn signed_in(app: &TestApp, email: &str) -> (Visitor, String) {
    let session = app.signed_up(email).await;
    let (browser, _) = Visitor::open(app, "/login").await;
    (browser.with(&session), session)
}

/// The secret of the pending authenticator app on the set-up page.
fn secret_in(html: &str) -> String {
    let start = html
        .find("id=\"totp-secret\">")
        .expect("the key on the page")
        + 17;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].replace(' ', "")
}

fn recovery_codes_in(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_owned())
        .collect()
}

async fn the_dashboard_shows_profile_factors_and_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, session) = signed_in(&app, "dash@example.com").await;
    // Another session, from a script.
    assert_eq!(app.login("dash@example.com", PASSWORD).await.status(), 200);
    let page = browser.get(&app, "/dashboard").await;
    assert_eq!(page.status(), 200);
    assert_page(&page);
    let html = page.text().await.unwrap();
    for expected in [
        "<dd>Ada Lovelace</dd>",
        "<dd class=\"address\">dash@example.com</dd>",
        "Member since",
        "Off.",
        "Set up authenticator app",
        "action=\"/mfa/totp/enroll\"",
        "action=\"/mfa/email/enroll\"",
        "href=\"/mfa/setup?method=sms\"",
        "This device",
        "127.0.0.1",
        "action=\"/logout\"",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    let sessions = html
        .split_once("id=\"sessions-heading\"")
        .and_then(|(_, rest)| rest.split_once("</section>"))
        .map(|(section, _)| section)
        .expect("the sessions section");
    assert_eq!(
        sessions.matches("<tr").count(),
        3,
        "a header and two sessions"
    );
    assert_eq!(html.matches("/revoke\"").count(), 1, "only the other one");

    enrol_totp(&app, &session).await;
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    for expected in [
        "On.",
        "data-factor=\"totp\"",
        "action=\"/mfa/totp/remove\"",
        "10 of 10 left",
        "action=\"/mfa/recovery-codes\"",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(!html.contains("Set up authenticator app"), "{html}");
    // A notice by name only: the query string is never shown.
    let html = browser
        .get(&app, "/dashboard?notice=%3Cb%3Ehi")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("role=\"status\""), "{html}");
}

async fn an_authenticator_app_is_set_up_through_the_forms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, _) = signed_in(&app, "app@example.com").await;
    let started = browser.post(&app, "/mfa/totp/enroll", &[]).await;
    assert_eq!(see_other_path(&started), "/mfa/setup?method=totp");
    let page = browser.get(&app, "/mfa/setup?method=totp").await;
    assert_eq!(page.status(), 200);
    assert_page(&page);
    let html = page.text().await.unwrap();
    let secret = secret_in(&html);
    assert_eq!(secret.len(), 32);
    // The QR code is an image whose SVG is base64 in a data: URI, never markup.
    let qr = html
        .split("src=\"data:image/svg+xml;base64,")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a data: URI");
    let svg = base64::engine::general_purpose::STANDARD
        .decode(qr)
        .unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    assert!(!html.contains("<svg"), "{html}");
    assert!(html.contains("href=\"otpauth://totp/"), "{html}");
    assert!(html.contains("autocomplete=\"one-time-code\""), "{html}");

    let wrong = browser
        .post(&app, "/mfa/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), 401);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("That code is not right."), "{html}");
    assert_eq!(secret_in(&html), secret, "the same key again");

    let code = code_at(&secret, step_now(&app));
    let done = browser
        .post(&app, "/mfa/totp/confirm", &[("code", &code)])
        .await;
    assert_eq!(done.status(), 200);
    assert_page(&done);
    let html = done.text().await.unwrap();
    assert!(html.contains("Your authenticator app is set up"), "{html}");
    let codes = recovery_codes_in(&html);
    assert_eq!(codes.len(), 10, "{html}");
    assert!(html.contains("data-account=\"app@example.com\""), "{html}");
    assert!(html.contains("data-copy-codes"), "{html}");

    // Shown once: the set-up page now says it is done.
    let html = browser
        .get(&app, "/mfa/setup?method=totp")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Authenticator app is already set up"),
        "{html}"
    );
    assert!(!html.contains(&codes[0]));
    // A new set from the dashboard's form.
    let renewed = browser.post(&app, "/mfa/recovery-codes", &[]).await;
    assert_eq!(renewed.status(), 200);
    let html = renewed.text().await.unwrap();
    assert!(html.contains("New recovery codes"), "{html}");
    let fresh = recovery_codes_in(&html);
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&codes[0]));
}

async fn email_and_sms_codes_are_set_up_through_the_forms(backend: Backend) {
    let sms = FakeSms::start().await;
    let sink = MailSink::start(0);
    let (url, port) = (sms.url.clone(), sink.port);
    let mut app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.sms_url = Some(url);
        config.sms_account = Some("AC123".to_owned());
        config.sms_token = Some("secret-token".to_owned());
        config.sms_from = Some("+15550000000".to_owned());
    })
    .await;
    app.mail = Some(sink);
    let (mut browser, _) = signed_in(&app, "codes@example.com").await;

    let sent = browser.post(&app, "/mfa/email/enroll", &[]).await;
    assert_eq!(see_other_path(&sent), "/mfa/setup?method=email");
    let html = browser
        .get(&app, "/mfa/setup?method=email")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("codes@example.com"), "{html}");
    assert!(html.contains("action=\"/mfa/email/confirm\""), "{html}");
    let mails = app
        .sink()
        .wait_for_subject("codes@example.com", "Your sign-in code", 1)
        .await;
    let code = six_digits(&mails[0].text());
    let done = browser
        .post(&app, "/mfa/email/confirm", &[("code", &code)])
        .await;
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("Email codes are set up")
    );

    let page = browser.get(&app, "/mfa/setup?method=sms").await;
    assert!(page.text().await.unwrap().contains("type=\"tel\""));
    let bad = browser
        .post(&app, "/mfa/sms/enroll", &[("phone", "12345")])
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("value=\"12345\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    let sent = browser
        .post(&app, "/mfa/sms/enroll", &[("phone", "+1 (555) 010-0199")])
        .await;
    assert_eq!(see_other_path(&sent), "/mfa/setup?method=sms");
    let html = browser
        .get(&app, "/mfa/setup?method=sms")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("•••• 99"), "the number, masked: {html}");
    assert!(!html.contains("0100199"), "{html}");
    let code = sms.code("+15550100199", 1).await;
    let done = browser
        .post(
            &app,
            "/mfa/sms/confirm",
            &[("code", &code), ("revoke_other_sessions", "true")],
        )
        .await;
    // Recovery codes came with the first factor: now back to the dashboard.
    assert_eq!(see_other_path(&done), "/dashboard?notice=factor-added");
    let html = browser
        .get(&app, "/dashboard?notice=factor-added")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Two-step verification method added."),
        "{html}"
    );
    assert!(html.contains("data-factor=\"sms\""), "{html}");
    assert!(html.contains("data-factor=\"email\""), "{html}");
    let unknown = browser.post(&app, "/mfa/totp2/enroll", &[]).await;
    assert_eq!(unknown.status(), 404);
}

async fn factors_are_removed_and_sessions_revoked_by_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, session) = signed_in(&app, "tidy@example.com").await;
    enrol_totp(&app, &session).await;
    let removed = browser.post(&app, "/mfa/totp/remove", &[]).await;
    assert_eq!(see_other_path(&removed), "/dashboard?notice=factor-removed");
    let html = browser
        .get(&app, "/dashboard?notice=factor-removed")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Two-step verification method removed."),
        "{html}"
    );
    assert!(html.contains("Off."), "{html}");
    let gone = browser.post(&app, "/mfa/totp/remove", &[]).await;
    assert_eq!(gone.status(), 404);
    assert_page(&gone);

    let other = app.login("tidy@example.com", PASSWORD).await;
    let other = set_cookie(&other, "latchkey_session").unwrap();
    let other = other.split(';').next().unwrap().to_owned();
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    let id = html
        .split("action=\"/sessions/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a Revoke form for the other session")
        .to_owned();
    let revoked = browser
        .post(&app, &format!("/sessions/{id}/revoke"), &[])
        .await;
    assert_eq!(
        see_other_path(&revoked),
        "/dashboard?notice=session-revoked"
    );
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "the other session is over");
    let again = browser
        .post(&app, &format!("/sessions/{id}/revoke"), &[])
        .await;
    assert_eq!(again.status(), 404);
    let nonsense = browser.post(&app, "/sessions/nonsense/revoke", &[]).await;
    assert_eq!(nonsense.status(), 404);
    // Signed out, the forms lead to the login page.
    browser.forget("latchkey_session");
    let signed_out = browser.post(&app, "/mfa/totp/remove", &[]).await;
    assert_eq!(see_other_path(&signed_out), "/login");
}

async fn changing_factors_from_the_dashboard_needs_a_recent_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, session) = signed_in(&app, "stale@example.com").await;
    enrol_totp(&app, &session).await;
    app.clock.advance(Duration::from_secs(11 * 60));
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("To change these settings"), "{html}");
    assert!(html.contains("href=\"/login\""), "{html}");
    assert!(!html.contains("/remove\""), "{html}");
    assert!(!html.contains("Set up email codes"), "{html}");
    for path in [
        "/mfa/totp/remove",
        "/mfa/email/enroll",
        "/mfa/recovery-codes",
    ] {
        let refused = browser.post(&app, path, &[]).await;
        assert_eq!(refused.status(), 403, "{path}");
        assert_page(&refused);
        let html = refused.text().await.unwrap();
        assert!(html.contains("Sign in again to continue"), "{path}: {html}");
        assert!(html.contains("href=\"/login\""), "{path}: {html}");
    }
    let page = browser.get(&app, "/mfa/setup?method=email").await;
    assert_eq!(page.status(), 403);
}

async fn a_required_second_factor_is_set_up_to_finish_the_login(backend: Backend) {
    let sink = MailSink::start(0);
    let port = sink.port;
    let mut app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.mfa = latchkey::domain::MfaPolicy::Required;
        config.mfa_methods = "totp,email".to_owned();
    })
    .await;
    app.mail = Some(sink);
    app.verified("strict@example.com").await;
    let (mut browser, _) = Visitor::open(&app, "/login").await;
    let response = browser
        .post(
            &app,
            "/login",
            &[("email", "strict@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(see_other_path(&response), "/mfa/setup");
    assert!(set_cookie(&response, "latchkey_session").is_none());
    assert!(browser.cookie("latchkey_mfa").is_some());
    // The enrolment challenge is no login challenge.
    let mfa = browser.get(&app, "/mfa").await;
    assert_eq!(see_other_path(&mfa), "/mfa/setup");

    let html = browser.get(&app, "/mfa/setup").await.text().await.unwrap();
    assert!(html.contains("Set one up to finish signing in"), "{html}");
    assert!(html.contains("href=\"/mfa/setup?method=totp\""), "{html}");
    assert!(html.contains("href=\"/mfa/setup?method=email\""), "{html}");
    assert!(!html.contains("method=sms"), "not offered here: {html}");
    let started = browser.post(&app, "/mfa/totp/enroll", &[]).await;
    assert_eq!(see_other_path(&started), "/mfa/setup?method=totp");
    let html = browser
        .get(&app, "/mfa/setup?method=totp")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("sign out everywhere else"), "{html}");
    let secret = secret_in(&html);
    let done = browser
        .post(
            &app,
            "/mfa/totp/confirm",
            &[("code", &code_at(&secret, step_now(&app)))],
        )
        .await;
    assert_eq!(done.status(), 200);
    assert!(set_cookie(&done, "latchkey_session").is_some());
    assert!(browser.cookie("latchkey_mfa").is_none());
    let html = done.text().await.unwrap();
    assert_eq!(recovery_codes_in(&html).len(), 10);
    let dashboard = browser.get(&app, "/dashboard").await;
    assert!(
        dashboard
            .text()
            .await
            .unwrap()
            .contains("data-factor=\"totp\"")
    );
    // Someone else logs in on this browser: their set-up is theirs, and the
    // session left from the first account ends (the set-up page prefers a
    // session to the challenge, so it would have had the factor set up).
    app.verified("someone.else@example.com").await;
    let first = browser
        .cookie("latchkey_session")
        .expect("the first account's session")
        .to_owned();
    let other = browser
        .post(
            &app,
            "/login",
            &[
                ("email", "someone.else@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(see_other_path(&other), "/mfa/setup");
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", format!("latchkey_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "the first account's session ended");
    let html = browser.get(&app, "/mfa/setup").await.text().await.unwrap();
    assert!(html.contains("Set one up to finish signing in"), "{html}");

    // Without a session or challenge, the set-up page sends people to log in.
    let (mut stranger, _) = Visitor::open(&app, "/login").await;
    let page = stranger.get(&app, "/mfa/setup").await;
    assert_eq!(see_other_path(&page), "/login");
}

async fn dashboard_forms_without_a_matching_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, session) = signed_in(&app, "csrf-dash@example.com").await;
    let other_session = app.login("csrf-dash@example.com", PASSWORD).await;
    assert_eq!(other_session.status(), 200);
    let (secret, _, _) = enrol_totp(&app, &session).await;
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    let id = html
        .split("action=\"/sessions/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let other = latchkey::domain::CsrfToken::generate().encode();
    let code = code_at(&secret, step_now(&app) + 1);
    let revoke = format!("/sessions/{id}/revoke");
    for path in [
        "/mfa/totp/remove",
        "/mfa/recovery-codes",
        "/mfa/email/enroll",
        "/mfa/email/confirm",
        "/mfa/totp/enroll",
        "/mfa/totp/confirm",
        "/mfa/sms/enroll",
        revoke.as_str(),
        "/logout",
    ] {
        for fields in [
            vec![("code", code.as_str()), ("phone", "+15550100199")],
            vec![
                ("code", code.as_str()),
                ("phone", "+15550100199"),
                ("csrf_token", other.as_str()),
            ],
        ] {
            let response = browser.post_exactly(&app, path, &fields).await;
            assert_eq!(response.status(), 403, "{path}");
            assert_page(&response);
        }
    }
    // Nothing changed.
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("data-factor=\"totp\""), "{html}");
    assert!(html.contains("10 of 10 left"), "{html}");
    assert_eq!(html.matches("/revoke\"").count(), 1, "{html}");
}

async fn with_two_step_verification_off_the_dashboard_offers_none(backend: Backend) {
    let sink = MailSink::start(0);
    let port = sink.port;
    let mut app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.mfa = latchkey::domain::MfaPolicy::Off;
    })
    .await;
    app.mail = Some(sink);
    let (mut browser, _) = signed_in(&app, "off@example.com").await;
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(
        html.contains("This service does not use two-step verification."),
        "{html}"
    );
    assert!(!html.contains("/enroll\""), "{html}");
    let refused = browser.post(&app, "/mfa/totp/enroll", &[]).await;
    assert_eq!(refused.status(), 400);
    assert_page(&refused);
}
