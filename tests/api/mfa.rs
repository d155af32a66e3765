use std::time::Duration;

use latchkey::domain::TotpSecret;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, FakeSms, MailSink, PASSWORD, TestApp, both_backends, json_body, set_cookie, six_digits,
};

both_backends!(
    totp_enrolment_then_login_with_code_and_recovery_code,
    five_wrong_codes_spend_the_challenge_and_challenges_expire,
    sms_codes_through_a_provider_and_resend_keeps_the_count,
    email_codes_as_a_second_factor,
    required_mfa_makes_people_enrol_before_any_session,
    changing_factors_needs_a_recent_login_and_notifies,
);

/// The TOTP time step the app's clock is in now.
pub fn step_now(app: &TestApp) -> u64 {
    app.clock_now().timestamp() as u64 / 30
}

/// The code of `secret` (base32) for time step `step`.
pub fn code_at(secret: &str, step: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    TotpSecret::from_bytes(bytes).code_at_step(step).unwrap()
}

/// The code for the app's current step plus `offset`.
pub fn code_for(secret: &str, app: &TestApp, offset: u64) -> String {
    code_at(secret, step_now(app) + offset)
}

impl TestApp {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        latchkey::clock::Clock::now(&*self.clock)
    }
}

/// Enrols TOTP for the signed-in `cookie`; returns the secret, the recovery
/// codes, and the time step whose code confirmed the enrolment (now spent).
pub async fn enrol_totp(app: &TestApp, cookie: &str) -> (String, Vec<String>, u64) {
    let enrolment = json_body(app.post_as(cookie, "/mfa/totp/enroll", &json!({})).await).await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160-bit secret");
    assert!(
        enrolment["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let wrong = app
        .post_as(cookie, "/mfa/totp/confirm", &json!({ "code": "000000" }))
        .await;
    assert_eq!(wrong.status(), 401);
    let step = step_now(app);
    let confirmed = app
        .post_as(
            cookie,
            "/mfa/totp/confirm",
            &json!({ "code": code_at(&secret, step) }),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let codes: Vec<String> = json_body(confirmed).await["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes, step)
}

/// Logs in with the password; expects a second-factor challenge.
pub async fn password_step(app: &TestApp, email: &str) -> (String, Value) {
    let response = app.login(email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(
        set_cookie(&response, "latchkey_session").is_none(),
        "no session before the second factor"
    );
    assert!(
        set_cookie(&response, "latchkey_mfa").is_some(),
        "browsers get the token as a cookie"
    );
    let body = json_body(response).await;
    assert_eq!(body["status"], "mfa_required", "{body}");
    (body["mfa_token"].as_str().unwrap().to_owned(), body)
}

async fn verify(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post_json("/mfa/verify", &json!({ "mfa_token": token, "code": code }))
        .await
}

async fn totp_enrolment_then_login_with_code_and_recovery_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("totp@example.com").await;
    let (secret, recovery, spent) = enrol_totp(&app, &cookie).await;

    let (token, body) = password_step(&app, "totp@example.com").await;
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(verify(&app, &token, "123456").await.status(), 401);
    // The code used to confirm enrolment is spent; the next step's is good (one step of skew).
    assert_eq!(
        json_body(verify(&app, &token, &code_at(&secret, spent)).await).await["error"]["code"],
        "invalid_code"
    );
    let next = code_at(&secret, spent + 1);
    let done = verify(&app, &token, &next).await;
    assert_eq!(done.status(), 200);
    assert!(set_cookie(&done, "latchkey_session").is_some());
    assert_eq!(json_body(done).await["status"], "authenticated");
    assert_eq!(
        verify(&app, &token, &next).await.status(),
        410,
        "a challenge completes once"
    );

    // A replayed TOTP code fails on a new login too.
    let (token, _) = password_step(&app, "totp@example.com").await;
    assert_eq!(verify(&app, &token, &next).await.status(), 401);
    // A recovery code works once, in any case and spacing.
    let code = recovery[3].to_lowercase();
    assert_eq!(verify(&app, &token, &code).await.status(), 200);
    let (token, _) = password_step(&app, "totp@example.com").await;
    assert_eq!(verify(&app, &token, &recovery[3]).await.status(), 401);

    let trail = serde_json::to_string(&app.store.audit_trail(None, 500).await.unwrap()).unwrap();
    assert!(
        trail.contains("mfa.succeeded")
            && trail.contains("mfa.failed")
            && trail.contains("mfa.factor_added")
    );
    assert!(
        !trail.contains(&next) && !trail.contains(&secret) && !trail.contains(&recovery[3]),
        "no secrets in the audit trail"
    );
    // The owner is told a factor was added.
    let notices = app
        .sink()
        .wait_for_subject("totp@example.com", "Two-factor sign-in method added", 1)
        .await;
    assert!(notices[0].text().contains("authenticator app"));
    // And of the sign-in by recovery code, with how many are left; the
    // code itself is not in the email.
    let used = app
        .sink()
        .wait_for_subject(
            "totp@example.com",
            "A recovery code was used to sign in to your account",
            1,
        )
        .await;
    assert_eq!(used.len(), 1, "the TOTP sign-in is not reported");
    let text = used[0].text();
    assert!(text.contains("9 codes are left"), "{text}");
    assert!(!text.contains(&recovery[3]), "{text}");
    assert!(!text.to_lowercase().contains(&code), "{text}");
}

async fn five_wrong_codes_spend_the_challenge_and_challenges_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("brute@example.com").await;
    let (secret, _, _) = enrol_totp(&app, &cookie).await;
    let (token, _) = password_step(&app, "brute@example.com").await;
    for attempt in 1..=5 {
        let status = verify(&app, &token, &format!("{:06}", attempt))
            .await
            .status();
        assert_eq!(
            status,
            if attempt < 5 { 401 } else { 429 },
            "attempt {attempt}"
        );
    }
    let after = verify(&app, &token, &code_for(&secret, &app, 1)).await;
    assert_eq!(after.status(), 429);
    assert_eq!(json_body(after).await["error"]["code"], "too_many_attempts");

    let (token, _) = password_step(&app, "brute@example.com").await;
    app.clock.advance(Duration::from_secs(11 * 60));
    let late = verify(&app, &token, &code_for(&secret, &app, 1)).await;
    assert_eq!(late.status(), 410);
    assert_eq!(json_body(late).await["error"]["code"], "mfa_expired");
    assert_eq!(verify(&app, "not-a-token", "123456").await.status(), 410);
}

async fn sms_codes_through_a_provider_and_resend_keeps_the_count(backend: Backend) {
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
    let cookie = app.signed_up("sms@example.com").await;
    let bad = app
        .post_as(&cookie, "/mfa/sms/enroll", &json!({ "phone": "12345" }))
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(
        app.post_as(
            &cookie,
            "/mfa/sms/enroll",
            &json!({ "phone": "+1 (555) 010-0199" })
        )
        .await
        .status(),
        202
    );
    let code = sms.code("+15550100199", 1).await;
    let confirmed = app
        .post_as(&cookie, "/mfa/sms/confirm", &json!({ "code": code }))
        .await;
    assert_eq!(confirmed.status(), 200);

    let (token, body) = password_step(&app, "sms@example.com").await;
    assert_eq!(body["methods"], json!(["sms", "recovery_code"]));
    let challenge = app
        .post_json(
            "/mfa/challenge",
            &json!({ "mfa_token": token, "method": "sms" }),
        )
        .await;
    assert_eq!(challenge.status(), 202);
    let first = sms.code("+15550100199", 2).await;
    for wrong in ["000001", "000002", "000003"] {
        assert_eq!(verify(&app, &token, wrong).await.status(), 401);
    }
    // A resend replaces the code; the three wrong attempts still count.
    assert_eq!(
        app.post_json(
            "/mfa/challenge",
            &json!({ "mfa_token": token, "method": "sms" })
        )
        .await
        .status(),
        202
    );
    let second = sms.code("+15550100199", 3).await;
    if second != first {
        assert_eq!(
            verify(&app, &token, &first).await.status(),
            401,
            "the old code is replaced"
        );
    } else {
        assert_eq!(verify(&app, &token, "000004").await.status(), 401);
    }
    assert_eq!(verify(&app, &token, "000005").await.status(), 429);

    let (token, _) = password_step(&app, "sms@example.com").await;
    app.post_json(
        "/mfa/challenge",
        &json!({ "mfa_token": token, "method": "sms" }),
    )
    .await;
    let code = sms.code("+15550100199", 4).await;
    assert_eq!(verify(&app, &token, &code).await.status(), 200);
    let email = app
        .post_json(
            "/mfa/challenge",
            &json!({ "mfa_token": token, "method": "email" }),
        )
        .await;
    assert_eq!(email.status(), 410, "the challenge is done");
}

async fn email_codes_as_a_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("mail2fa@example.com").await;
    assert_eq!(
        app.post_as(&cookie, "/mfa/email/enroll", &json!({}))
            .await
            .status(),
        202
    );
    let mails = app
        .sink()
        .wait_for_subject("mail2fa@example.com", "Your sign-in code", 1)
        .await;
    let code = six_digits(&mails[0].text());
    assert_eq!(
        app.post_as(&cookie, "/mfa/email/confirm", &json!({ "code": code }))
            .await
            .status(),
        200
    );

    let (token, body) = password_step(&app, "mail2fa@example.com").await;
    assert_eq!(body["methods"], json!(["email", "recovery_code"]));
    assert_eq!(
        app.post_json(
            "/mfa/challenge",
            &json!({ "mfa_token": token, "method": "sms" })
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        app.post_json(
            "/mfa/challenge",
            &json!({ "mfa_token": token, "method": "email" })
        )
        .await
        .status(),
        202
    );
    // Mail so far: verification, "account active", enrolment code,
    // "factor added", sign-in code.
    let mails = app.sink().wait_for("mail2fa@example.com", 5).await;
    let codes = app
        .sink()
        .wait_for_subject("mail2fa@example.com", "Your sign-in code", 2)
        .await;
    assert_eq!(mails.len(), 5);
    let code = six_digits(&codes[1].text());
    assert_eq!(verify(&app, &token, &code).await.status(), 200);
}

async fn required_mfa_makes_people_enrol_before_any_session(backend: Backend) {
    let sink = MailSink::start(0);
    let port = sink.port;
    let mut app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.mfa = latchkey::domain::MfaPolicy::Required;
        config.mfa_methods = "totp".to_owned();
    })
    .await;
    app.mail = Some(sink);
    let verified = app.verified("strict@example.com").await;
    assert!(
        set_cookie(&verified, "latchkey_session").is_none(),
        "the link proves the address, not a second factor: no session"
    );
    let response = app.login("strict@example.com", PASSWORD).await;
    assert!(set_cookie(&response, "latchkey_session").is_none());
    let body = json_body(response).await;
    assert_eq!(body["status"], "mfa_enrollment_required");
    assert_eq!(body["methods"], json!(["totp"]));
    let token = body["mfa_token"].as_str().unwrap();
    assert_eq!(
        verify(&app, token, "123456").await.status(),
        403,
        "an enrolment token is no login"
    );
    let enrolment = json_body(
        app.post_json("/mfa/totp/enroll", &json!({ "mfa_token": token }))
            .await,
    )
    .await;
    let secret = enrolment["secret"].as_str().unwrap();
    let done = app
        .post_json(
            "/mfa/totp/confirm",
            &json!({ "mfa_token": token, "code": code_for(secret, &app, 0) }),
        )
        .await;
    assert_eq!(done.status(), 200);
    let session = set_cookie(&done, "latchkey_session").expect("enrolment finishes the login");
    let body = json_body(done).await;
    assert_eq!(body["status"], "authenticated");
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10);
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", format!("latchkey_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        app.post_json("/mfa/sms/enroll", &json!({ "phone": "+15550100199" }))
            .await
            .status(),
        401
    );
}

async fn changing_factors_needs_a_recent_login_and_notifies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("change@example.com").await;
    let (secret, _, _) = enrol_totp(&app, &cookie).await;
    let listed = json_body(
        app.client
            .get(app.url("/mfa"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["factors"][0]["method"], "totp");
    assert_eq!(listed["recovery_codes_left"], 10);
    assert_eq!(
        app.post_as(&cookie, "/mfa/totp/enroll", &json!({}))
            .await
            .status(),
        409,
        "remove it first"
    );

    app.clock.advance(Duration::from_secs(11 * 60));
    let stale = app
        .client
        .delete(app.url("/mfa/totp"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 403);
    assert_eq!(
        json_body(stale).await["error"]["code"],
        "reauthentication_required"
    );

    let (token, _) = password_step(&app, "change@example.com").await;
    // 11 minutes on, every step near now is later than the one spent at enrolment.
    let fresh = verify(&app, &token, &code_for(&secret, &app, 0)).await;
    let fresh = format!(
        "latchkey_session={}",
        set_cookie(&fresh, "latchkey_session").unwrap()
    );
    let codes = json_body(app.post_as(&fresh, "/mfa/recovery-codes", &json!({})).await).await;
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);
    let removed = app
        .client
        .delete(app.url("/mfa/totp?revoke_other_sessions=true"))
        .header("cookie", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(
        app.client
            .get(app.url("/me"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "other sessions revoked on request"
    );
    let after = app.login("change@example.com", PASSWORD).await;
    assert_eq!(
        json_body(after).await["status"],
        "authenticated",
        "no factor left: password is enough again"
    );
    app.sink()
        .wait_for_subject("change@example.com", "Two-factor sign-in method removed", 1)
        .await;
}
