//! Undoing a change of address from the old one: the notice of a change
//! made carries the link; using it gives the address back, signs everyone
//! out, removes what was set up since the change was asked for, and sends a
//! password reset link. By JSON and by the page behind the link.

use std::time::Duration;

use latchkey::domain::{EmailAddress, UserId};
use serde_json::json;

use crate::browser::{Visitor, see_other_path};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};
use crate::mfa::enrol_totp;

both_backends!(
    the_old_address_takes_the_account_back_from_an_intruder,
    an_undo_link_works_once_within_its_week_while_the_address_is_free,
    the_page_behind_the_undo_link_asks_then_undoes,
);

const CHANGED: &str = "Your email address was changed";

/// Changes `cookie`'s account from `old` to `new` through the API, the
/// link opened; returns the undo link's token from the notice to `old`.
async fn change(app: &TestApp, cookie: &str, old: &str, new: &str) -> String {
    let asked = app
        .post_as(
            cookie,
            "/email/change",
            &json!({ "email": new, "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(asked.status(), 202);
    let link = app
        .sink()
        .wait_for_subject(new, "Confirm your new email address", 1)
        .await[0]
        .link();
    let confirmed = app
        .post_json("/email/confirm", &json!({ "token": token_of(&link) }))
        .await;
    assert_eq!(confirmed.status(), 200);
    let notices = app.sink().wait_for_subject(old, CHANGED, 1).await;
    let undo = notices.last().unwrap().link();
    assert!(undo.contains("/email/revert?token="), "{undo}");
    token_of(&undo)
}

async fn revert(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/email/revert", &json!({ "token": token }))
        .await
}

async fn me(app: &TestApp, cookie: &str) -> u16 {
    let response = app
        .client
        .get(app.url("/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

async fn id_of(app: &TestApp, email: &str) -> UserId {
    let email = EmailAddress::parse(email).unwrap();
    app.store.user_by_email(&email).await.unwrap().unwrap().id
}

async fn the_old_address_takes_the_account_back_from_an_intruder(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (old, new) = ("owner@example.com", "intruder@example.com");
    // The owner's own factor, set up before anything happened.
    let owner = app.signed_up(old).await;
    enrol_totp(&app, &owner).await;
    let id = id_of(&app, old).await;
    app.clock.advance(Duration::from_secs(1));

    // A stolen session changes the address and adds a factor of its own.
    let token = change(&app, &owner, old, new).await;
    let codes = json_body(app.post_as(&owner, "/mfa/email/enroll", &json!({})).await).await;
    assert!(codes.is_object(), "{codes}");
    let code = crate::helpers::six_digits(
        &app.sink()
            .wait_for_subject(new, "Your sign-in code", 1)
            .await[0]
            .text(),
    );
    let added = app
        .post_as(&owner, "/mfa/email/confirm", &json!({ "code": code }))
        .await;
    assert_eq!(added.status(), 200);
    let kinds = |factors: Vec<latchkey::store::FactorRecord>| {
        let mut kinds: Vec<&str> = factors.iter().map(|f| f.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds
    };
    assert_eq!(
        kinds(app.store.factors_of(id).await.unwrap()),
        ["email", "totp"]
    );

    // The page behind the link changes nothing.
    let page = app
        .client
        .get(app.url(&format!("/email/revert?token={token}")))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(old) && html.contains(new), "{html}");
    assert_eq!(me(&app, &owner).await, 200);

    let undone = revert(&app, &token).await;
    assert_eq!(undone.status(), 200);
    assert_eq!(
        json_body(undone).await,
        json!({ "status": "email_restored" })
    );
    assert_eq!(me(&app, &owner).await, 401, "every session ends");
    assert_eq!(
        kinds(app.store.factors_of(id).await.unwrap()),
        ["totp"],
        "the intruder's factor goes"
    );
    assert_eq!(app.login(new, PASSWORD).await.status(), 401);
    let login = json_body(app.login(old, PASSWORD).await).await;
    assert_eq!(
        login["status"], "mfa_required",
        "the owner's factor stays: {login}"
    );

    // The password is known to the intruder: a reset link goes to the owner.
    let reset = app
        .sink()
        .wait_for_subject(old, "Reset your password", 1)
        .await[0]
        .link();
    const NEW_PASSWORD: &str = "quartz lanterns drift over 17 harbours";
    let reset = app
        .post_json(
            "/password/reset/confirm",
            &json!({ "token": token_of(&reset), "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(reset.status(), 200);
    assert_eq!(app.login(old, PASSWORD).await.status(), 401);

    let trail = app.store.audit_trail(Some(id), 500).await.unwrap();
    assert!(
        trail.iter().any(|e| e.event == "user.email_reverted"
            && e.detail.as_deref() == Some("back to owner@example.com from intruder@example.com")),
        "{trail:?}"
    );
}

async fn an_undo_link_works_once_within_its_week_while_the_address_is_free(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("first@example.com").await;
    let token = change(&app, &cookie, "first@example.com", "second@example.com").await;
    assert_eq!(revert(&app, &token).await.status(), 200);
    let again = revert(&app, &token).await;
    assert_eq!(again.status(), 400);
    assert_eq!(json_body(again).await["error"]["code"], "invalid_token");
    for bad in ["", "nonsense", &"A".repeat(43)] {
        assert_eq!(revert(&app, bad).await.status(), 400, "{bad:?}");
    }

    // Taken since by a verified account: the address stays where it is.
    let cookie = app.signed_up("third@example.com").await;
    let token = change(&app, &cookie, "third@example.com", "fourth@example.com").await;
    app.signed_up("third@example.com").await;
    let taken = revert(&app, &token).await;
    assert_eq!(taken.status(), 409);
    assert_eq!(json_body(taken).await["error"]["code"], "email_taken");
    assert_eq!(me(&app, &cookie).await, 200, "nothing ended");

    // A week on, too late.
    let cookie = app.signed_up("fifth@example.com").await;
    let token = change(&app, &cookie, "fifth@example.com", "sixth@example.com").await;
    app.clock
        .advance(latchkey::flows::REVERT_WINDOW + Duration::from_secs(1));
    let late = revert(&app, &token).await;
    assert_eq!(late.status(), 410);
    assert_eq!(json_body(late).await["error"]["code"], "token_expired");
    let id = id_of(&app, "sixth@example.com").await;
    assert!(app.store.user_by_id(id).await.unwrap().is_some());
}

async fn the_page_behind_the_undo_link_asks_then_undoes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("page-owner@example.com").await;
    let token = change(
        &app,
        &cookie,
        "page-owner@example.com",
        "page-other@example.com",
    )
    .await;
    let (mut browser, html) = Visitor::open(&app, &format!("/email/revert?token={token}")).await;
    assert!(html.contains("action=\"/email/revert\""), "{html}");
    let forged = browser
        .post_exactly(&app, "/email/revert", &[("token", &token)])
        .await;
    assert_eq!(forged.status(), 403);
    let done = browser
        .post(&app, "/email/revert", &[("token", &token)])
        .await;
    assert_eq!(see_other_path(&done), "/email/revert?reverted=1");
    let html = browser
        .get(&app, "/email/revert?reverted=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your old address is back"), "{html}");
    let again = browser
        .post(&app, "/email/revert", &[("token", &token)])
        .await;
    assert_eq!(again.status(), 400);
    assert_eq!(me(&app, &cookie).await, 401);
    id_of(&app, "page-owner@example.com").await;
}
