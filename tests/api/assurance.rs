//! What an access token says of its session's sign-in: `aal` (NIST SP
//! 800-63B's level) and `amr` (RFC 8176's method references), so that a
//! service can ask for two factors. Each way in, and a renewal by
//! `POST /token`, which keeps them.

use serde_json::{Value, json};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie};
use crate::mfa::password_step;
use crate::passkey::{add_named_passkey, answer_second_step, on_localhost};
use crate::tokens::part;

both_backends!(tokens_say_how_their_session_signed_in);

/// The `aal` and `amr` claims of `token`.
fn assurance(token: &str) -> (Value, Value) {
    let claims = part(token, 1);
    (claims["aal"].clone(), claims["amr"].clone())
}

/// The access token `POST /token` issues for the session `cookie` names.
async fn renewed(app: &TestApp, cookie: &str) -> String {
    let renewed = app.post_as(cookie, "/token", &json!({})).await;
    assert_eq!(renewed.status(), 200);
    json_body(renewed).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn tokens_say_how_their_session_signed_in(backend: Backend) {
    let app = on_localhost(backend).await;

    // A new account's verification link proves an address, no factor.
    let linked = app.signed_up("level@example.com").await;
    let (aal, amr) = assurance(&renewed(&app, &linked).await);
    assert_eq!(aal, "aal1");
    assert!(amr.is_null(), "no method to name: {amr}");

    // The password alone.
    let login = app.login("level@example.com", PASSWORD).await;
    let body = json_body(login).await;
    let (aal, amr) = assurance(body["access_token"].as_str().unwrap());
    assert_eq!((aal, amr), (json!("aal1"), json!(["pwd"])));

    // The password and a passkey: two factors, and a renewal says so too.
    let mut device = SoftPasskey::new(true);
    add_named_passkey(&app, &linked, &mut device, None).await;
    let (token, _) = password_step(&app, "level@example.com").await;
    let done = answer_second_step(&app, &token, &mut device).await;
    assert_eq!(done.status(), 200);
    let cookie = format!(
        "latchkey_session={}",
        set_cookie(&done, "latchkey_session").unwrap()
    );
    let body = json_body(done).await;
    let expected = (json!("aal2"), json!(["pwd", "hwk", "user", "mfa"]));
    assert_eq!(assurance(body["access_token"].as_str().unwrap()), expected);
    assert_eq!(assurance(&renewed(&app, &cookie).await), expected);
    // The session that signed in by link stays what it was.
    assert_eq!(assurance(&renewed(&app, &linked).await).0, "aal1");
    // The owner's list of sessions says how each signed in.
    let listed = json_body(app.get_as(&cookie, "/sessions").await).await;
    let mut ways: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["signed_in_with"].as_str().unwrap())
        .collect();
    ways.sort_unstable();
    assert_eq!(
        ways,
        ["email_link", "password", "password+passkey"],
        "{listed}"
    );
    // And the owner's activity, each sign-in's entry.
    let activity = json_body(app.get_as(&cookie, "/me/activity").await).await;
    let mut ways: Vec<&str> = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["event"] == "session.started")
        .map(|entry| entry["signed_in_with"].as_str().unwrap())
        .collect();
    ways.sort_unstable();
    assert_eq!(
        ways,
        ["email_link", "password", "password+passkey"],
        "{activity}"
    );
}
