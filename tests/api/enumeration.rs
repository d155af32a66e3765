//! Enumeration protection (`LATCHKEY_ENUMERATION_PROTECTION`): sign-up with
//! a taken address answers exactly as with a new one, and the owner of the
//! address hears about it by email.

use reqwest::Response;
use serde_json::{Value, json};

use crate::browser::{open, post_form};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};

both_backends!(
    a_taken_address_answers_like_a_new_one_and_its_owner_is_told,
    a_pending_address_is_signed_up_again_and_the_answer_keeps_it,
    the_signup_form_cannot_tell_either,
    without_protection_a_taken_address_is_still_409,
    login_and_resend_answer_alike_for_every_kind_of_address,
);

async fn protected(backend: Backend) -> TestApp {
    TestApp::spawn_configured(backend, |config| config.enumeration_protection = true).await
}

/// Status, header names and values (but the date and the length, which
/// differ between any two answers), and the body with its varying values
/// replaced by their kind.
async fn shape(response: Response) -> (u16, Vec<(String, String)>, Value) {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "content-length"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    let mut body = json_body(response).await;
    let user = &mut body["user"];
    let id = user["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    user["id"] = json!("<uuid v7>");
    chrono::DateTime::parse_from_rfc3339(user["created_at"].as_str().unwrap()).unwrap();
    user["created_at"] = json!("<timestamp>");
    user["email"] = json!("<email>");
    (status, headers, body)
}

async fn a_taken_address_answers_like_a_new_one_and_its_owner_is_told(backend: Backend) {
    let app = protected(backend).await;
    app.signed_up("owner@example.com").await;
    let owner_id = app.store.users(1).await.unwrap()[0].id.to_string();

    let new = app.register("Eve", "other@example.com", PASSWORD).await;
    let taken = app.register("Eve", "Owner@Example.com", PASSWORD).await;
    let (new_shape, taken_shape) = (shape(new).await, shape(taken).await);
    assert_eq!(new_shape, taken_shape);
    assert_eq!(taken_shape.0, 201);

    // The owner hears of it, with a link to log in; no second account, and
    // the answer's id is nobody's.
    let mails = app
        .sink()
        .wait_for_subject(
            "owner@example.com",
            "Someone tried to sign up with your email address",
            1,
        )
        .await;
    let notice = &mails[0];
    assert!(
        notice.text().contains("http://127.0.0.1:8080/login"),
        "{}",
        notice.text()
    );
    assert!(notice.html().contains("http://127.0.0.1:8080/login"));
    assert!(
        notice
            .text()
            .contains("http://127.0.0.1:8080/password/forgot?email=Owner%40example.com"),
        "{}",
        notice.text()
    );
    assert!(!notice.text().contains("verify?token="));
    let users = app.store.users(10).await.unwrap();
    assert_eq!(users.len(), 2, "the owner and other@: nobody else");
    let owner = users
        .iter()
        .find(|u| u.email.as_str() == "owner@example.com")
        .unwrap();
    assert_eq!(owner.id.to_string(), owner_id);
    assert_eq!(
        owner.name.as_str(),
        "Ada Lovelace",
        "the account is untouched"
    );

    // The old password still works; the typed one was never stored.
    assert_eq!(app.login("owner@example.com", PASSWORD).await.status(), 200);

    let trail = app.store.audit_trail(Some(owner.id), 100).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.event == "user.signup_with_taken_address" && e.outcome == "failure"),
        "{trail:?}"
    );
}

/// A sign-up replaces an account nobody verified (`register.rs` has why),
/// protected or not; under protection the answer does not give the old
/// account's id away (its UUIDv7 would date the first sign-up).
async fn a_pending_address_is_signed_up_again_and_the_answer_keeps_it(backend: Backend) {
    let app = protected(backend).await;
    let first = token_of(&app.register_and_get_link("waiting@example.com").await);
    let account = app.store.users(1).await.unwrap()[0].id.to_string();
    let again = app
        .register(
            "Someone",
            "waiting@example.com",
            "another quite long passphrase 99",
        )
        .await;
    assert_eq!(again.status(), 201);
    let body = json_body(again).await;
    assert_ne!(body["user"]["id"], account.as_str());
    assert_eq!(body["user"]["name"], "Someone");

    // A link to the new sign-up, not a notice; the first link is dead.
    let mails = app.sink().wait_for("waiting@example.com", 2).await;
    assert_eq!(mails[1].subject(), mails[0].subject());
    let fresh = token_of(&mails[1].link());
    assert_eq!(
        app.get_json(&format!("/verify?token={first}"))
            .await
            .status(),
        400
    );
    let verified = json_body(app.get_json(&format!("/verify?token={fresh}")).await).await;
    assert_eq!(verified["user"]["id"], account.as_str());
    assert_eq!(verified["user"]["name"], "Someone");
    assert_eq!(
        app.login("waiting@example.com", "another quite long passphrase 99")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.login("waiting@example.com", PASSWORD).await.status(),
        401,
        "the first sign-up's password is gone"
    );
}

async fn the_signup_form_cannot_tell_either(backend: Backend) {
    let app = protected(backend).await;
    app.signed_up("owner@example.com").await;
    let (browser, _) = open(&app, "/signup").await;
    let mut answers = Vec::new();
    for email in ["someone@example.com", "owner@example.com"] {
        let fields = [("name", "Eve"), ("email", email), ("password", PASSWORD)];
        let response = post_form(&app, &browser, "/register", &fields, None).await;
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        answers.push(location.replace(&email.replace('@', "%40"), "<email>"));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0],
        "http://127.0.0.1:8080/check-inbox?email=<email>"
    );
    app.sink().wait_for("owner@example.com", 2).await;
}

async fn without_protection_a_taken_address_is_still_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("ada@example.com").await;
    app.outbox_settled().await;
    let before = app.sink().received_for("ada@example.com").len();
    let again = app.register("Ada", "ada@example.com", PASSWORD).await;
    assert_eq!(again.status(), 409);
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(
        app.sink().received_for("ada@example.com").len(),
        before,
        "no email"
    );
}

/// Status, headers (but the date) and body.
async fn answer(response: Response) -> (u16, Vec<(String, String)>, String) {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (status, headers, response.text().await.unwrap())
}

async fn login_and_resend_answer_alike_for_every_kind_of_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("active@example.com").await;
    app.register_and_get_link("pending@example.com").await;
    let mut logins = Vec::new();
    let mut resends = Vec::new();
    // Same lengths, so even Content-Length cannot differ.
    for email in [
        "active@example.com",
        "pending@example.com",
        "nobody1@example.com",
    ] {
        let login = app
            .post_json(
                "/login",
                &json!({ "email": email, "password": "wrong password 1234" }),
            )
            .await;
        logins.push(answer(login).await);
        let resend = app
            .post_json("/verify/resend", &json!({ "email": email }))
            .await;
        resends.push(answer(resend).await);
    }
    assert_eq!(logins[0].0, 401);
    assert!(logins.iter().all(|l| *l == logins[0]), "{logins:#?}");
    assert_eq!(resends[0].0, 202);
    assert!(resends.iter().all(|r| *r == resends[0]), "{resends:#?}");
}
