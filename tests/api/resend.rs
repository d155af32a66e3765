use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, TestApp, both_backends, json_body, token_of};

both_backends!(
    resend_sends_a_fresh_link_and_kills_the_old_ones,
    resend_never_reveals_whether_an_account_exists,
    a_link_resent_after_the_clock_stepped_back_works,
);

async fn resend_sends_a_fresh_link_and_kills_the_old_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = token_of(&app.register_and_get_link("again@example.com").await);
    let response = app
        .post_json("/verify/resend", &json!({ "email": "Again@EXAMPLE.com" }))
        .await;
    assert_eq!(response.status(), 202);
    let mails = app.sink().wait_for("again@example.com", 2).await;
    let second = token_of(&mails[1].link());
    assert_ne!(first, second);

    let old = app.get_json(&format!("/verify?token={first}")).await;
    assert_eq!(old.status(), 400, "an earlier link stops working");
    assert_eq!(json_body(old).await["error"]["code"], "invalid_token");
    let new = app.get_json(&format!("/verify?token={second}")).await;
    assert_eq!(new.status(), 200);
    assert_eq!(json_body(new).await["already_verified"], false);

    // Once active, a resend sends nothing (only the "account active" notice
    // of the activation arrives).
    assert_eq!(
        app.post_json("/verify/resend", &json!({ "email": "again@example.com" }))
            .await
            .status(),
        202
    );
    app.sink()
        .wait_for_subject("again@example.com", "Your account is active", 1)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let subjects: Vec<String> = app
        .sink()
        .received_for("again@example.com")
        .iter()
        .map(|mail| mail.subject())
        .collect();
    assert_eq!(
        subjects,
        [
            "Confirm your email address",
            "Confirm your email address",
            "Your account is active"
        ]
    );
}

async fn resend_never_reveals_whether_an_account_exists(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_and_get_link("known@example.com").await;
    let known = app
        .post_json("/verify/resend", &json!({ "email": "known@example.com" }))
        .await;
    let unknown = app
        .post_json("/verify/resend", &json!({ "email": "nobody@example.com" }))
        .await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(json_body(known).await, json_body(unknown).await);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(app.sink().received_for("nobody@example.com").is_empty());

    let invalid = app
        .post_json("/verify/resend", &json!({ "email": "nope" }))
        .await;
    assert_eq!(invalid.status(), 422);
    assert_eq!(
        json_body(invalid).await["error"]["fields"]["email"][0]["code"],
        "invalid_email"
    );
}

/// A fast clock corrected back (NTP) after the sign-up: the link sent then is
/// dated before the account it confirms, and must work all the same.
async fn a_link_resent_after_the_clock_stepped_back_works(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A minute: a longer step back would also spend the recipient's quota
    // of messages, which counts time as the clock tells it.
    app.clock.advance(Duration::from_secs(60));
    let first = token_of(&app.register_and_get_link("stepped@example.com").await);
    app.clock.step_back(Duration::from_secs(60));
    let resent = app
        .post_json("/verify/resend", &json!({ "email": "stepped@example.com" }))
        .await;
    assert_eq!(resent.status(), 202);
    let mails = app.sink().wait_for("stepped@example.com", 2).await;
    let second = token_of(&mails[1].link());

    let old = app.get_json(&format!("/verify?token={first}")).await;
    assert_eq!(old.status(), 400, "the earlier link is dead");
    let verified = app.get_json(&format!("/verify?token={second}")).await;
    assert_eq!(verified.status(), 200, "the resent link works");
    assert_eq!(json_body(verified).await["already_verified"], false);
}
