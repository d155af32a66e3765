//! Signing in with a passkey alone (`POST /login/passkey/options`, then
//! `POST /login/passkey`): no address, no password, no second step. The
//! software passkey answers as a device would; it finds credentials only by
//! the options' allow list, so the test hands it its own credential's id,
//! and puts the user handle a discoverable credential carries into the
//! answer (neither is covered by the signature).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::CreationChallengeResponse;

use crate::helpers::{Backend, TestApp, both_backends, json_body, set_cookie};
use crate::passkey::{SITE, on_localhost};

both_backends!(
    a_passkey_signs_in_alone_once_per_ceremony,
    a_passkey_answering_for_another_account_is_refused,
    no_passkey_signs_in_where_second_factors_are_off,
);

/// An account's passkey as the test drives it.
struct Holder {
    device: SoftPasskey,
    credential_id: String,
    /// The account's id, as a discoverable credential's user handle.
    user_handle: String,
    cookie: String,
}

/// Signs `email` up and adds a passkey made by a fresh device.
async fn holder(app: &TestApp, email: &str) -> Holder {
    let cookie = app.signed_up(email).await;
    let me = json_body(app.get_as(&cookie, "/me").await).await;
    let id = uuid::Uuid::parse_str(me["user"]["id"].as_str().expect("the account's id")).unwrap();
    let options = json_body(
        app.post_as(&cookie, "/mfa/passkey/enroll", &json!({}))
            .await,
    )
    .await;
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"], "preferred",
        "new passkeys are asked to be discoverable: {options}"
    );
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let mut device = SoftPasskey::new(true);
    let credential = device
        .do_registration(Url::parse(SITE).unwrap(), options)
        .unwrap();
    let credential = serde_json::to_value(&credential).unwrap();
    let confirmed = app
        .post_as(
            &cookie,
            "/mfa/passkey/confirm",
            &json!({ "credential": credential }),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    Holder {
        device,
        credential_id: credential["id"].as_str().unwrap().to_owned(),
        user_handle: URL_SAFE_NO_PAD.encode(id.as_bytes()),
        cookie,
    }
}

/// Fresh options: the `ceremony` to send back, and the options as they are.
async fn begin(app: &TestApp) -> (String, Value) {
    let options = app.post_json("/login/passkey/options", &json!({})).await;
    assert_eq!(options.status(), 200);
    let options = json_body(options).await;
    let ceremony = options["ceremony"].as_str().expect("a ceremony").to_owned();
    (ceremony, options)
}

/// `holder`'s device answering `options`, naming `user_handle` as its
/// account.
fn answer(holder: &mut Holder, options: &Value, user_handle: &str) -> Value {
    let mut options = options.clone();
    options["publicKey"]["allowCredentials"] =
        json!([{ "type": "public-key", "id": holder.credential_id }]);
    let options = json!({ "publicKey": options["publicKey"] });
    let mut signed = serde_json::to_value(
        holder
            .device
            .do_authentication(
                Url::parse(SITE).unwrap(),
                serde_json::from_value(options).unwrap(),
            )
            .expect("the soft passkey signs"),
    )
    .unwrap();
    signed["response"]["userHandle"] = json!(user_handle);
    signed
}

async fn finish(app: &TestApp, ceremony: &str, passkey: &Value) -> reqwest::Response {
    app.post_json(
        "/login/passkey",
        &json!({ "ceremony": ceremony, "passkey": passkey }),
    )
    .await
}

async fn a_passkey_signs_in_alone_once_per_ceremony(backend: Backend) {
    let app = on_localhost(backend).await;
    let mut ada = holder(&app, "alone@example.com").await;

    // The options name no passkey: the device offers the ones it holds.
    let (ceremony, options) = begin(&app).await;
    assert!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{options}"
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert_eq!(options["publicKey"]["rpId"], "localhost");

    let handle = ada.user_handle.clone();
    let signed = answer(&mut ada, &options, &handle);
    let done = finish(&app, &ceremony, &signed).await;
    assert_eq!(done.status(), 200);
    let cookie = set_cookie(&done, "latchkey_session").expect("a session");
    let body = json_body(done).await;
    assert_eq!(body["status"], "authenticated", "{body}");
    assert_eq!(body["user"]["email"], "alone@example.com");
    // Two factors in one: its token says so.
    let claims = crate::tokens::part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aal"], "aal2");
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    let me = app
        .get_as(&format!("latchkey_session={cookie}"), "/me")
        .await;
    assert_eq!(me.status(), 200, "the session works");

    // The same answer again: its ceremony is spent.
    let replayed = finish(&app, &ceremony, &signed).await;
    assert_eq!(replayed.status(), 410);
    assert_eq!(json_body(replayed).await["error"]["code"], "mfa_expired");
    // The answer to one ceremony does not finish another.
    let (other, _) = begin(&app).await;
    let crossed = finish(&app, &other, &signed).await;
    assert_eq!(crossed.status(), 401);
    assert_eq!(json_body(crossed).await["error"]["code"], "invalid_passkey");
    // A ceremony the server did not seal, or none, is refused.
    for ceremony in ["forged", ""] {
        let refused = finish(&app, ceremony, &signed).await;
        assert_eq!(refused.status(), 410, "{ceremony:?}");
    }
    let missing = app
        .post_json("/login/passkey", &json!({ "ceremony": other }))
        .await;
    assert_eq!(missing.status(), 400);

    // Its use shows on the account.
    let factors = json_body(app.get_as(&ada.cookie, "/mfa").await).await;
    assert!(
        factors["factors"][0]["last_used_at"].is_string(),
        "{factors}"
    );

    // Removed, the passkey signs in no more.
    let removed = app
        .client
        .delete(app.url("/mfa/passkey"))
        .header("cookie", &ada.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let (ceremony, options) = begin(&app).await;
    let signed = answer(&mut ada, &options, &handle);
    assert_eq!(finish(&app, &ceremony, &signed).await.status(), 401);

    // A ceremony over 10 minutes old is refused (before anything is
    // checked or written).
    let (stale, options) = begin(&app).await;
    app.clock.advance(std::time::Duration::from_secs(11 * 60));
    let signed = answer(&mut ada, &options, &handle);
    assert_eq!(finish(&app, &stale, &signed).await.status(), 410);
}

async fn a_passkey_answering_for_another_account_is_refused(backend: Backend) {
    let app = on_localhost(backend).await;
    let mut mallory = holder(&app, "mallory@example.com").await;
    let victim = holder(&app, "victim@example.com").await;

    // Mallory's own passkey, naming the victim's account: the victim has
    // no passkey of that id.
    let (ceremony, options) = begin(&app).await;
    let forged = answer(&mut mallory, &options, &victim.user_handle);
    let refused = finish(&app, &ceremony, &forged).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(json_body(refused).await["error"]["code"], "invalid_passkey");
    // A handle that names nobody.
    let (ceremony, options) = begin(&app).await;
    let nobody = URL_SAFE_NO_PAD.encode(uuid::Uuid::now_v7().as_bytes());
    let forged = answer(&mut mallory, &options, &nobody);
    assert_eq!(finish(&app, &ceremony, &forged).await.status(), 401);
    // Naming its own account, it signs Mallory in, as Mallory.
    let (ceremony, options) = begin(&app).await;
    let handle = mallory.user_handle.clone();
    let own = answer(&mut mallory, &options, &handle);
    let done = finish(&app, &ceremony, &own).await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        json_body(done).await["user"]["email"],
        "mallory@example.com"
    );
}

/// `LATCHKEY_MFA=off`: no second factor at all, so no passkey either, even
/// one made while they were on.
async fn no_passkey_signs_in_where_second_factors_are_off(backend: Backend) {
    let app = on_localhost(backend).await;
    let mut ada = holder(&app, "off@example.com").await;
    let (ceremony, options) = begin(&app).await;
    let handle = ada.user_handle.clone();
    let signed = answer(&mut ada, &options, &handle);

    let off = app
        .another_instance(|config| {
            config.public_url = Url::parse(SITE).unwrap();
            config.mfa = latchkey::domain::MfaPolicy::Off;
        })
        .await;
    let refused = off.post_json("/login/passkey/options", &json!({})).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        json_body(refused).await["error"]["code"],
        "method_unavailable"
    );
    let refused = finish(&off, &ceremony, &signed).await;
    assert_eq!(refused.status(), 400, "an answer made while they were on");
}
