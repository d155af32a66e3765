//! Passkeys as a second factor, through the API, with a software passkey
//! (webauthn-authenticator-rs) that answers as a browser and its
//! authenticator would: enrolment, sign-in, a replayed answer, another
//! passkey, and a public URL where browsers offer none.

use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use crate::helpers::{Backend, TestApp, both_backends, json_body, set_cookie};
use crate::mfa::password_step;

both_backends!(
    a_passkey_is_added_then_signs_in_once_per_challenge,
    a_passkey_needs_a_domain_name,
    a_passkey_set_up_to_finish_a_login_starts_the_session,
);

pub const SITE: &str = "http://localhost:8080";

pub async fn on_localhost(backend: Backend) -> TestApp {
    TestApp::spawn_configured(backend, |config| {
        config.public_url = Url::parse(SITE).unwrap();
    })
    .await
}

/// A passkey made for `app` by `device` on the signed-in `cookie`; returns
/// the recovery codes.
async fn add_passkey(app: &TestApp, cookie: &str, device: &mut SoftPasskey) -> Value {
    add_named_passkey(app, cookie, device, None).await
}

/// As `add_passkey`, with the `name` given to it, if any.
pub async fn add_named_passkey(
    app: &TestApp,
    cookie: &str,
    device: &mut SoftPasskey,
    name: Option<&str>,
) -> Value {
    let options = app.post_as(cookie, "/mfa/passkey/enroll", &json!({})).await;
    assert_eq!(options.status(), 200);
    let options = json_body(options).await;
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost", "{options}");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = device
        .do_registration(Url::parse(SITE).unwrap(), options)
        .expect("the soft passkey registers");
    let mut body = json!({ "credential": credential });
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    let confirmed = app.post_as(cookie, "/mfa/passkey/confirm", &body).await;
    assert_eq!(confirmed.status(), 200);
    json_body(confirmed).await
}

/// The options for `mfa_token`'s second step, as the device sees them.
pub async fn sign_in_options(app: &TestApp, token: &str) -> RequestChallengeResponse {
    let options = app
        .post_json("/mfa/passkey/options", &json!({ "mfa_token": token }))
        .await;
    assert_eq!(options.status(), 200);
    serde_json::from_value(json_body(options).await).unwrap()
}

/// `device` answers the passkey options of the login waiting on `token`:
/// `POST /mfa/verify`'s answer.
pub async fn answer_second_step(
    app: &TestApp,
    token: &str,
    device: &mut SoftPasskey,
) -> reqwest::Response {
    let options = sign_in_options(app, token).await;
    let signed = device
        .do_authentication(Url::parse(SITE).unwrap(), options)
        .expect("the soft passkey signs");
    app.post_json(
        "/mfa/verify",
        &json!({ "mfa_token": token, "passkey": signed }),
    )
    .await
}

async fn a_passkey_is_added_then_signs_in_once_per_challenge(backend: Backend) {
    let app = on_localhost(backend).await;
    let cookie = app.signed_up("passkey@example.com").await;
    let mut device = SoftPasskey::new(true);
    let added = add_passkey(&app, &cookie, &mut device).await;
    assert_eq!(added["recovery_codes"].as_array().unwrap().len(), 10);
    let factors = json_body(app.get_as(&cookie, "/mfa").await).await;
    assert_eq!(factors["factors"][0]["method"], "passkey", "{factors}");

    let (token, body) = password_step(&app, "passkey@example.com").await;
    assert_eq!(body["methods"], json!(["passkey", "recovery_code"]));

    // Another account's passkey, made to sign this challenge, is refused.
    let other = app.signed_up("other@example.com").await;
    let mut stranger = SoftPasskey::new(true);
    add_passkey(&app, &other, &mut stranger).await;
    let (other_token, _) = password_step(&app, "other@example.com").await;
    let theirs = json_body(
        app.post_json("/mfa/passkey/options", &json!({ "mfa_token": other_token }))
            .await,
    )
    .await;
    let mut options = serde_json::to_value(sign_in_options(&app, &token).await).unwrap();
    options["publicKey"]["allowCredentials"] = theirs["publicKey"]["allowCredentials"].clone();
    let forged = stranger
        .do_authentication(
            Url::parse(SITE).unwrap(),
            serde_json::from_value(options).unwrap(),
        )
        .expect("the stranger's passkey signs what it is given");
    let refused = app
        .post_json(
            "/mfa/verify",
            &json!({ "mfa_token": token, "passkey": forged }),
        )
        .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(json_body(refused).await["error"]["code"], "invalid_passkey");

    // The owner's passkey answering a page of another origin (a look-alike
    // on another port) is refused.
    let options = sign_in_options(&app, &token).await;
    let phished = device
        .do_authentication(Url::parse("http://localhost:9999").unwrap(), options)
        .expect("the passkey signs for any origin of its site");
    let refused = app
        .post_json(
            "/mfa/verify",
            &json!({ "mfa_token": token, "passkey": phished }),
        )
        .await;
    assert_eq!(refused.status(), 401);

    // The owner's passkey signs in; its answer is good once.
    let options = sign_in_options(&app, &token).await;
    let signed = device
        .do_authentication(Url::parse(SITE).unwrap(), options)
        .expect("the soft passkey signs");
    let done = app
        .post_json(
            "/mfa/verify",
            &json!({ "mfa_token": token, "passkey": signed }),
        )
        .await;
    assert_eq!(done.status(), 200);
    assert!(set_cookie(&done, "latchkey_session").is_some());
    assert_eq!(json_body(done).await["status"], "authenticated");
    let replayed = app
        .post_json(
            "/mfa/verify",
            &json!({ "mfa_token": token, "passkey": signed }),
        )
        .await;
    assert_eq!(replayed.status(), 410);

    // A replayed answer on a new login is refused too: it signed another
    // challenge. The passkey itself signs the new one.
    let (token, _) = password_step(&app, "passkey@example.com").await;
    let _ = sign_in_options(&app, &token).await;
    let stale = app
        .post_json(
            "/mfa/verify",
            &json!({ "mfa_token": token, "passkey": signed }),
        )
        .await;
    assert_eq!(stale.status(), 401);
    let done = answer_second_step(&app, &token, &mut device).await;
    assert_eq!(done.status(), 200);

    // The owner is told, and it shows in the activity with its method.
    let activity = json_body(app.get_as(&cookie, "/me/activity").await).await;
    assert!(
        activity["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["event"] == "mfa.factor_added" && event["method"] == "passkey"),
        "{activity}"
    );
    // Removed (`DELETE /mfa/passkey`: every passkey), it no longer signs in.
    let removed = app
        .client
        .delete(app.url("/mfa/passkey"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let after = app
        .login("passkey@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(json_body(after).await["status"], "authenticated");
}

async fn a_passkey_needs_a_domain_name(backend: Backend) {
    // The default public URL is an IP address: browsers offer no passkeys.
    let app = TestApp::spawn_configured(backend, |config| {
        config.mfa = latchkey::domain::MfaPolicy::Required;
    })
    .await;
    app.verified("strict@example.com").await;
    let strict = json_body(
        app.login("strict@example.com", crate::helpers::PASSWORD)
            .await,
    )
    .await;
    assert_eq!(strict["status"], "mfa_enrollment_required");
    assert_eq!(
        strict["methods"],
        json!(["totp", "sms", "email"]),
        "no passkey offered"
    );
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("ip@example.com").await;
    let refused = app
        .post_as(&cookie, "/mfa/passkey/enroll", &json!({}))
        .await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        json_body(refused).await["error"]["code"],
        "method_unavailable"
    );
    let alone = app.post_json("/login/passkey/options", &json!({})).await;
    assert_eq!(alone.status(), 400, "nor a sign-in with one alone");
    let missing = app
        .post_as(
            &cookie,
            "/mfa/passkey/confirm",
            &json!({ "credential": {} }),
        )
        .await;
    assert!(missing.status().is_client_error(), "{}", missing.status());
}

/// Under `LATCHKEY_MFA=required`, a passkey is a first factor to set up
/// with the enrolment token, and setting it up finishes the login.
async fn a_passkey_set_up_to_finish_a_login_starts_the_session(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.public_url = Url::parse(SITE).unwrap();
        config.mfa = latchkey::domain::MfaPolicy::Required;
    })
    .await;
    app.verified("required@example.com").await;
    let body = json_body(
        app.login("required@example.com", crate::helpers::PASSWORD)
            .await,
    )
    .await;
    assert_eq!(body["status"], "mfa_enrollment_required");
    assert_eq!(body["methods"], json!(["totp", "sms", "email", "passkey"]));
    let token = body["mfa_token"].as_str().unwrap();

    let options = app
        .post_json("/mfa/passkey/enroll", &json!({ "mfa_token": token }))
        .await;
    assert_eq!(options.status(), 200);
    let options: CreationChallengeResponse =
        serde_json::from_value(json_body(options).await).unwrap();
    let mut device = SoftPasskey::new(true);
    let credential = device
        .do_registration(Url::parse(SITE).unwrap(), options)
        .unwrap();
    let done = app
        .post_json(
            "/mfa/passkey/confirm",
            &json!({ "mfa_token": token, "credential": credential }),
        )
        .await;
    assert_eq!(done.status(), 200);
    assert!(
        set_cookie(&done, "latchkey_session").is_some(),
        "the login is finished"
    );
    let body = json_body(done).await;
    assert_eq!(body["status"], "authenticated", "{body}");
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10);

    // The next login asks for it.
    let (token, body) = password_step(&app, "required@example.com").await;
    assert_eq!(body["methods"], json!(["passkey", "recovery_code"]));
    let done = answer_second_step(&app, &token, &mut device).await;
    assert_eq!(done.status(), 200);
}
