//! Several passkeys on one account: each signs in, each is named and shows
//! its last use, one goes while the others stay, and an account keeps at
//! most ten.

use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::helpers::{Backend, TestApp, both_backends, json_body};
use crate::mfa::password_step;
use crate::passkey::{SITE, add_named_passkey, on_localhost, sign_in_options};

both_backends!(
    each_of_several_passkeys_signs_in_and_goes_alone,
    an_account_keeps_at_most_ten_passkeys,
);

const EMAIL: &str = "keys@example.com";

/// The account's passkeys as `GET /mfa` lists them.
async fn passkeys(app: &TestApp, cookie: &str) -> Vec<Value> {
    let factors = json_body(app.get_as(cookie, "/mfa").await).await;
    factors["factors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|factor| factor["method"] == "passkey")
        .cloned()
        .collect()
}

/// Signs `EMAIL` in with `device`'s answer to a new login's options; the
/// status of `POST /mfa/verify`.
async fn sign_in_with(app: &TestApp, device: &mut SoftPasskey) -> u16 {
    let (token, body) = password_step(app, EMAIL).await;
    assert_eq!(
        body["methods"],
        json!(["passkey", "recovery_code"]),
        "one method, however many passkeys"
    );
    let options = sign_in_options(app, &token).await;
    let Ok(answer) = device.do_authentication(Url::parse(SITE).unwrap(), options) else {
        // The device holds none of the passkeys the options allow.
        return 0;
    };
    app.post_json(
        "/mfa/verify",
        &json!({ "mfa_token": token, "passkey": answer }),
    )
    .await
    .status()
    .as_u16()
}

/// `PATCH /mfa/passkeys/{id}` with `body`, as `cookie`'s account.
async fn rename(app: &TestApp, cookie: &str, id: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/mfa/passkeys/{id}")))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `DELETE /mfa/passkeys/{id}` as `cookie`'s account: the status.
async fn remove(app: &TestApp, cookie: &str, id: &str) -> u16 {
    app.client
        .delete(app.url(&format!("/mfa/passkeys/{id}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn each_of_several_passkeys_signs_in_and_goes_alone(backend: Backend) {
    let app = on_localhost(backend).await;
    let cookie = app.signed_up(EMAIL).await;
    let mut phone = SoftPasskey::new(true);
    let mut key = SoftPasskey::new(true);
    let first = add_named_passkey(&app, &cookie, &mut phone, None).await;
    assert_eq!(first["recovery_codes"].as_array().unwrap().len(), 10);
    let second = add_named_passkey(&app, &cookie, &mut key, Some("  Blue key ")).await;
    assert!(
        second["recovery_codes"].as_array().unwrap().is_empty(),
        "codes come with the first factor only: {second}"
    );

    // The codes' issue is the owner's own doing, from their own device.
    let activity = json_body(app.get_as(&cookie, "/me/activity").await).await;
    let issued = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["event"] == "mfa.recovery_codes_issued")
        .cloned()
        .unwrap_or_default();
    assert_eq!(issued["ip"], "127.0.0.1", "{activity}");

    let listed = passkeys(&app, &cookie).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(
        listed[0]["name"], "Passkey 1",
        "an unnamed passkey is numbered"
    );
    assert_eq!(listed[1]["name"], "Blue key", "a name is trimmed");
    assert!(
        listed
            .iter()
            .all(|passkey| passkey["last_used_at"].is_null())
    );
    assert_ne!(listed[0]["id"], listed[1]["id"]);

    // A third one's options tell the browser which devices hold one already.
    let options = json_body(
        app.post_as(&cookie, "/mfa/passkey/enroll", &json!({}))
            .await,
    )
    .await;
    assert_eq!(
        options["publicKey"]["excludeCredentials"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{options}"
    );

    // A login's options allow both; either signs in, and its use is kept.
    let (token, _) = password_step(&app, EMAIL).await;
    let options = serde_json::to_value(sign_in_options(&app, &token).await).unwrap();
    assert_eq!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{options}"
    );
    assert_eq!(sign_in_with(&app, &mut key).await, 200);
    let listed = passkeys(&app, &cookie).await;
    assert!(listed[0]["last_used_at"].is_null(), "{listed:?}");
    assert!(listed[1]["last_used_at"].is_string(), "{listed:?}");
    assert_eq!(sign_in_with(&app, &mut phone).await, 200);
    assert!(passkeys(&app, &cookie).await[0]["last_used_at"].is_string());

    // Renamed; a blank or overlong name is refused and changes nothing.
    let phone_id = listed[0]["id"].as_str().unwrap().to_owned();
    let key_id = listed[1]["id"].as_str().unwrap().to_owned();
    let renamed = rename(&app, &cookie, &phone_id, json!({ "name": "Old phone" })).await;
    assert_eq!(renamed.status(), 204);
    for bad in [
        json!({ "name": " " }),
        json!({ "name": "k".repeat(65) }),
        json!({}),
    ] {
        let refused = rename(&app, &cookie, &phone_id, bad).await;
        assert_eq!(refused.status(), 422);
        let body = json_body(refused).await;
        assert!(
            body["error"]["fields"]["name"][0]["message"].is_string(),
            "{body}"
        );
    }
    assert_eq!(passkeys(&app, &cookie).await[0]["name"], "Old phone");
    // The owner's download has them by name, with their last use.
    let export = json_body(app.get_as(&cookie, "/me/export").await).await;
    let exported = export["second_factors"].as_array().unwrap();
    assert_eq!(exported.len(), 2, "{export}");
    assert_eq!(exported[0]["name"], "Old phone");
    assert_eq!(exported[1]["name"], "Blue key");
    assert!(exported[1]["last_used_at"].is_string(), "{export}");

    // Another account cannot name or remove them, nor find out they exist.
    let stranger = app.signed_up("stranger@example.com").await;
    let theirs = rename(&app, &stranger, &phone_id, json!({ "name": "Mine" })).await;
    assert_eq!(theirs.status(), 404);
    assert_eq!(remove(&app, &stranger, &phone_id).await, 404);
    assert_eq!(remove(&app, &cookie, "not-an-id").await, 404);

    // One goes; the other stays and still signs in, alone.
    assert_eq!(remove(&app, &cookie, &key_id).await, 204);
    assert_eq!(remove(&app, &cookie, &key_id).await, 404, "gone already");
    let listed = passkeys(&app, &cookie).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], phone_id.as_str());
    assert_eq!(
        sign_in_with(&app, &mut key).await,
        0,
        "the removed passkey is not offered"
    );
    assert_eq!(sign_in_with(&app, &mut phone).await, 200);
    let codes = json_body(app.get_as(&cookie, "/mfa").await).await;
    assert_eq!(
        codes["recovery_codes_left"], 10,
        "the recovery codes stay while a factor does"
    );

    // The owner was told of each change by email.
    let sink = app.sink();
    sink.wait_for_subject(EMAIL, "Two-factor sign-in method added", 2)
        .await;
    sink.wait_for_subject(EMAIL, "Two-factor sign-in method removed", 1)
        .await;
}

async fn an_account_keeps_at_most_ten_passkeys(backend: Backend) {
    let app = on_localhost(backend).await;
    let cookie = app.signed_up(EMAIL).await;
    for nth in 1..=10 {
        let mut device = SoftPasskey::new(true);
        add_named_passkey(&app, &cookie, &mut device, Some(&format!("Key {nth}"))).await;
    }
    let refused = app
        .post_as(&cookie, "/mfa/passkey/enroll", &json!({}))
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        json_body(refused).await["error"]["code"],
        "too_many_passkeys"
    );
    let listed = passkeys(&app, &cookie).await;
    assert_eq!(listed.len(), 10);

    // With one removed there is room again.
    let id = listed[3]["id"].as_str().unwrap();
    assert_eq!(remove(&app, &cookie, id).await, 204);
    let mut device = SoftPasskey::new(true);
    add_named_passkey(&app, &cookie, &mut device, None).await;
    let names: Vec<Value> = passkeys(&app, &cookie)
        .await
        .iter()
        .map(|passkey| passkey["name"].clone())
        .collect();
    assert_eq!(names.len(), 10);
    assert_eq!(
        names[9], "Passkey 10",
        "numbered after the ones it has: {names:?}"
    );
}
