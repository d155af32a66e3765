//! Changing the account's address: asked for with the current password, a
//! link to the new address that only its use makes the change, notices to
//! the old address; by JSON with the cookie or a Bearer token, and by the
//! dashboard's form and the page behind the link.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::{Visitor, assert_page, see_other_path};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};

both_backends!(
    the_link_moves_the_account_to_the_new_address,
    a_wrong_password_or_a_bad_address_changes_nothing,
    a_taken_address_is_refused_at_the_request_and_at_the_link,
    an_unverified_account_holds_no_address_against_a_change,
    a_newer_request_a_password_change_or_time_ends_the_link,
    under_enumeration_protection_only_the_link_says_the_address_is_taken,
    the_dashboard_and_the_page_behind_the_link_change_the_address,
    a_waiting_change_is_shown_and_can_be_cancelled,
    the_letters_case_alone_can_change,
);

const LINK_SUBJECT: &str = "Confirm your new email address";

async fn ask(app: &TestApp, cookie: &str, email: &str, password: &str) -> reqwest::Response {
    app.post_as(
        cookie,
        "/email/change",
        &json!({ "email": email, "current_password": password }),
    )
    .await
}

/// The token of the `nth` (from 1) change link that reached `address`.
pub(crate) async fn link_token(app: &TestApp, address: &str, nth: usize) -> String {
    let mails = app
        .sink()
        .wait_for_subject(address, LINK_SUBJECT, nth)
        .await;
    let link = mails[nth - 1].link();
    assert!(link.contains("/email/confirm?token="), "{link}");
    token_of(&link)
}

pub(crate) async fn confirm(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/email/confirm", &json!({ "token": token }))
        .await
}

pub(crate) async fn email_of_session(app: &TestApp, cookie: &str) -> Value {
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    json_body(me).await["user"]["email"].clone()
}

async fn events(app: &TestApp) -> Vec<String> {
    let trail = app.store.audit_trail(None, 500).await.unwrap();
    trail.into_iter().map(|record| record.event).collect()
}

async fn the_link_moves_the_account_to_the_new_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (old, new) = ("before@example.com", "after@example.com");
    let cookie = app.signed_up(old).await;

    let asked = ask(&app, &cookie, new, PASSWORD).await;
    assert_eq!(asked.status(), 202);
    assert!(json_body(asked).await["message"].is_string());
    let token = link_token(&app, new, 1).await;
    let notice = app
        .sink()
        .wait_for_subject(old, "A change of your email address was requested", 1)
        .await;
    assert!(notice[0].text().contains(new));
    assert!(
        !notice[0].text().contains(&token),
        "the link only goes to the new address"
    );

    // Until the link is used, nothing changed; opening its page uses nothing.
    assert_eq!(email_of_session(&app, &cookie).await, old);
    let page = app
        .client
        .get(app.url(&format!("/email/confirm?token={token}")))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(old) && html.contains(new), "{html}");
    assert_eq!(app.login(old, PASSWORD).await.status(), 200);

    let done = confirm(&app, &token).await;
    assert_eq!(done.status(), 200);
    assert_eq!(json_body(done).await, json!({ "status": "email_changed" }));
    assert_eq!(
        email_of_session(&app, &cookie).await,
        new,
        "the session stays"
    );
    assert_eq!(app.login(old, PASSWORD).await.status(), 401);
    assert_eq!(app.login(new, PASSWORD).await.status(), 200);
    let told = app
        .sink()
        .wait_for_subject(old, "Your email address was changed", 1)
        .await;
    assert!(told[0].text().contains(new));

    // A link works once; the old address is free to sign up again.
    let again = confirm(&app, &token).await;
    assert_eq!(again.status(), 400);
    assert_eq!(json_body(again).await["error"]["code"], "invalid_token");
    assert_eq!(app.register("Someone", old, PASSWORD).await.status(), 201);
    let events = events(&app).await;
    for event in ["user.email_change_requested", "user.email_changed"] {
        assert!(events.iter().any(|e| e == event), "{event}: {events:?}");
    }
}

async fn a_wrong_password_or_a_bad_address_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = "stays@example.com";
    let cookie = app.signed_up(old).await;
    let new = "elsewhere@example.com";

    let wrong = ask(&app, &cookie, new, "not my password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        json_body(wrong).await["error"]["code"],
        "invalid_credentials"
    );
    for (email, password, field, code) in [
        (new, "", "current_password", "required"),
        ("not an address", PASSWORD, "email", ""),
        ("", PASSWORD, "email", ""),
        ("stays@example.com", PASSWORD, "email", "unchanged"),
    ] {
        let refused = ask(&app, &cookie, email, password).await;
        assert_eq!(refused.status(), 422, "{email:?}");
        let body = json_body(refused).await;
        let errors = &body["error"]["fields"][field];
        assert!(errors.is_array(), "{email:?}: {body}");
        if !code.is_empty() {
            assert_eq!(errors[0]["code"], code, "{body}");
        }
    }
    let anonymous = app
        .post_json(
            "/email/change",
            &json!({ "email": new, "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(anonymous.status(), 401);
    let forged = app
        .client
        .post(app.url("/email/change"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({ "email": new, "current_password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    app.outbox_settled().await;
    assert!(app.sink().received_for(new).is_empty());
    assert_eq!(email_of_session(&app, &cookie).await, old);
    let events = events(&app).await;
    assert!(
        events.iter().any(|e| e == "user.email_change_failed"),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| e == "user.email_change_requested"));
}

async fn a_taken_address_is_refused_at_the_request_and_at_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("mover@example.com").await;
    app.signed_up("owner@example.com").await;

    let taken = ask(&app, &cookie, "Owner@Example.com", PASSWORD).await;
    assert_eq!(taken.status(), 409);
    assert_eq!(json_body(taken).await["error"]["code"], "email_taken");

    // Free when asked for, taken by a verified sign-up before the link is used.
    let asked = ask(&app, &cookie, "late@example.com", PASSWORD).await;
    assert_eq!(asked.status(), 202);
    let token = link_token(&app, "late@example.com", 1).await;
    app.signed_up("late@example.com").await;
    let refused = confirm(&app, &token).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(json_body(refused).await["error"]["code"], "email_taken");
    assert_eq!(email_of_session(&app, &cookie).await, "mover@example.com");
    assert_eq!(app.login("mover@example.com", PASSWORD).await.status(), 200);
}

/// Somebody signed up with the address and never verified it (perhaps to
/// keep it from its owner): a change to it is asked for and, once its link
/// proves the address, made; the unverified account is deleted, and its
/// link with it.
async fn an_unverified_account_holds_no_address_against_a_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("mover@example.com").await;
    let squatter = token_of(&app.register_and_get_link("held@example.com").await);

    let asked = ask(&app, &cookie, "Held@Example.com", PASSWORD).await;
    assert_eq!(asked.status(), 202);
    let token = link_token(&app, "Held@example.com", 1).await;
    let done = confirm(&app, &token).await;
    assert_eq!(done.status(), 200);
    assert_eq!(email_of_session(&app, &cookie).await, "Held@example.com");

    let users = app.store.users(10).await.unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(
        app.get_json(&format!("/verify?token={squatter}"))
            .await
            .status(),
        400,
        "the unverified account's link went with it"
    );
    assert_eq!(app.login("held@example.com", PASSWORD).await.status(), 200);
    let trail = app.store.audit_trail(None, 500).await.unwrap();
    assert!(
        trail.iter().any(|e| e.event == "user.deleted"
            && e.detail
                .as_deref()
                .is_some_and(|d| d.contains("never verified"))),
        "{trail:?}"
    );
}

async fn a_newer_request_a_password_change_or_time_ends_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("links@example.com").await;

    assert_eq!(
        ask(&app, &cookie, "first@example.com", PASSWORD)
            .await
            .status(),
        202
    );
    let first = link_token(&app, "first@example.com", 1).await;
    assert_eq!(
        ask(&app, &cookie, "second@example.com", PASSWORD)
            .await
            .status(),
        202
    );
    let second = link_token(&app, "second@example.com", 1).await;
    assert_eq!(confirm(&app, &first).await.status(), 400, "superseded");

    // The notice says a new password cancels the change: it does.
    const NEW_PASSWORD: &str = "quartz lanterns drift over 17 harbours";
    let changed = app
        .post_as(
            &cookie,
            "/password/change",
            &json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(confirm(&app, &second).await.status(), 400, "cancelled");

    assert_eq!(
        ask(&app, &cookie, "third@example.com", NEW_PASSWORD)
            .await
            .status(),
        202
    );
    let third = link_token(&app, "third@example.com", 1).await;
    app.clock
        .advance(app.config.verify_ttl + Duration::from_secs(1));
    let expired = confirm(&app, &third).await;
    assert_eq!(expired.status(), 410);
    assert_eq!(json_body(expired).await["error"]["code"], "token_expired");
    for bad in ["", "short", &"A".repeat(43)] {
        assert_eq!(confirm(&app, bad).await.status(), 400, "{bad:?}");
    }
    // (A day later the session has ended; the account keeps its address.)
    let kept = latchkey::domain::EmailAddress::parse("links@example.com").unwrap();
    assert!(app.store.user_by_email(&kept).await.unwrap().is_some());
}

async fn under_enumeration_protection_only_the_link_says_the_address_is_taken(backend: Backend) {
    let app =
        TestApp::spawn_configured(backend, |config| config.enumeration_protection = true).await;
    let cookie = app.signed_up("quiet@example.com").await;
    app.signed_up("holder@example.com").await;

    let asked = ask(&app, &cookie, "holder@example.com", PASSWORD).await;
    assert_eq!(asked.status(), 202, "the same answer as for a free address");
    // Only whoever reads that inbox learns it has an account.
    let token = link_token(&app, "holder@example.com", 1).await;
    assert_eq!(confirm(&app, &token).await.status(), 409);
    assert_eq!(email_of_session(&app, &cookie).await, "quiet@example.com");
}

async fn the_dashboard_and_the_page_behind_the_link_change_the_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("page-old@example.com").await;
    let (browser, _) = Visitor::open(&app, "/login").await;
    let mut browser = browser.with(&cookie);
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("action=\"/email/change\""), "{html}");

    let fields = |email, password| [("email", email), ("current_password", password)];
    let forged = browser
        .post_exactly(
            &app,
            "/email/change",
            &fields("page-new@example.com", PASSWORD),
        )
        .await;
    assert_eq!(forged.status(), 403);
    let wrong = browser
        .post(
            &app,
            "/email/change",
            &fields("page-new@example.com", "nope"),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_page(&wrong);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("Your current password is wrong."), "{html}");
    assert!(
        html.contains("value=\"page-new@example.com\""),
        "kept: {html}"
    );
    let bad = browser
        .post(&app, "/email/change", &fields("nope", PASSWORD))
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\""), "{html}");

    let sent = browser
        .post(
            &app,
            "/email/change",
            &fields("page-new@example.com", PASSWORD),
        )
        .await;
    assert_eq!(see_other_path(&sent), "/dashboard?notice=email-change-sent");
    let html = browser
        .get(&app, "/dashboard?notice=email-change-sent")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("We sent a link to your new address."),
        "{html}"
    );

    // The link opens in some browser, signed in or not.
    let token = link_token(&app, "page-new@example.com", 1).await;
    let (mut reader, html) = Visitor::open(&app, &format!("/email/confirm?token={token}")).await;
    assert!(html.contains("action=\"/email/confirm\""), "{html}");
    let forged = reader
        .post_exactly(&app, "/email/confirm", &[("token", &token)])
        .await;
    assert_eq!(forged.status(), 403);
    let used = reader
        .post(&app, "/email/confirm", &[("token", &token)])
        .await;
    assert_eq!(see_other_path(&used), "/email/confirm?changed=1");
    let html = reader
        .get(&app, "/email/confirm?changed=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your email address was changed"), "{html}");
    let again = reader
        .post(&app, "/email/confirm", &[("token", &token)])
        .await;
    assert_eq!(again.status(), 400);
    assert_page(&again);
    assert_eq!(
        email_of_session(&app, &cookie).await,
        "page-new@example.com"
    );
}

async fn pending_of(app: &TestApp, auth: (&str, &str)) -> Value {
    let response = app
        .client
        .get(app.url("/email/change"))
        .header(auth.0, auth.1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json_body(response).await["pending"].clone()
}

async fn cancel(app: &TestApp, cookie: &str, origin: Option<&str>) -> u16 {
    let mut request = app
        .client
        .delete(app.url("/email/change"))
        .header("cookie", cookie);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn a_waiting_change_is_shown_and_can_be_cancelled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("waiting@example.com").await;
    assert_eq!(pending_of(&app, ("cookie", &cookie)).await, Value::Null);
    assert_eq!(cancel(&app, &cookie, None).await, 404, "nothing to cancel");

    assert_eq!(
        ask(&app, &cookie, "later@example.com", PASSWORD)
            .await
            .status(),
        202
    );
    let token = link_token(&app, "later@example.com", 1).await;
    let pending = pending_of(&app, ("cookie", &cookie)).await;
    assert_eq!(pending["email"], "later@example.com", "{pending}");
    assert!(pending["expires_at"].is_string(), "{pending}");
    let login = json_body(app.login("waiting@example.com", PASSWORD).await).await;
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    assert_eq!(pending_of(&app, ("authorization", &bearer)).await, pending);

    assert_eq!(
        cancel(&app, &cookie, Some("https://evil.example")).await,
        403
    );
    assert_eq!(cancel(&app, &cookie, None).await, 204);
    assert_eq!(confirm(&app, &token).await.status(), 400, "the link died");
    assert_eq!(pending_of(&app, ("cookie", &cookie)).await, Value::Null);
    assert_eq!(cancel(&app, &cookie, None).await, 404);
    assert!(
        events(&app)
            .await
            .iter()
            .any(|e| e == "user.email_change_cancelled")
    );

    // The dashboard says what waits, and cancels it.
    assert_eq!(
        ask(&app, &cookie, "again@example.com", PASSWORD)
            .await
            .status(),
        202
    );
    let token = link_token(&app, "again@example.com", 1).await;
    let (browser, _) = Visitor::open(&app, "/login").await;
    let mut browser = browser.with(&cookie);
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(
        html.contains("Waiting for you to open the link sent to"),
        "{html}"
    );
    assert!(html.contains("again@example.com"), "{html}");
    let forged = browser
        .post_exactly(&app, "/email/change/cancel", &[])
        .await;
    assert_eq!(forged.status(), 403);
    let cancelled = browser.post(&app, "/email/change/cancel", &[]).await;
    assert_eq!(
        see_other_path(&cancelled),
        "/dashboard?notice=email-change-cancelled"
    );
    let html = browser
        .get(&app, "/dashboard?notice=email-change-cancelled")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("The change of address is cancelled"),
        "{html}"
    );
    assert!(!html.contains("Waiting for you to open"), "{html}");
    assert_eq!(confirm(&app, &token).await.status(), 400);
    let again = browser.post(&app, "/email/change/cancel", &[]).await;
    assert_eq!(again.status(), 404);
    assert_page(&again);
}

/// The same inbox written in other letters: a change like any other (the
/// link goes to it), not `unchanged`, and not taken by its own account.
async fn the_letters_case_alone_can_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("ada.lovelace@example.com").await;
    let shown = "Ada.Lovelace@example.com";
    let asked = ask(&app, &cookie, shown, PASSWORD).await;
    assert_eq!(asked.status(), 202);
    let token = link_token(&app, shown, 1).await;
    assert_eq!(confirm(&app, &token).await.status(), 200);
    assert_eq!(email_of_session(&app, &cookie).await, shown);
    assert_eq!(
        app.login("ada.lovelace@example.com", PASSWORD)
            .await
            .status(),
        200
    );
}
