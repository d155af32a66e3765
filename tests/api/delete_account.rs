//! Deleting an account: `DELETE /me` by its owner from a recent sign-in,
//! `DELETE /admin/users/{id}` by an operator, and the dashboard's form.

use std::time::Duration;

use latchkey::domain::UserId;
use serde_json::json;

use crate::admin::{KEY, admin_delete, with_key};
use crate::browser::{Visitor, assert_page, see_other_path};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};
use crate::tokens::{Person, status_with_bearer, user_id, verified_person};

both_backends!(
    an_owner_deletes_their_account_and_everything_on_it,
    deleting_needs_a_recent_sign_in,
    another_origin_cannot_delete_an_account,
    an_operator_deletes_an_account,
    a_deleted_account_gets_none_of_its_unsent_mail,
    the_dashboard_deletes_an_account_once_the_box_is_ticked,
    the_dashboard_form_needs_a_recent_sign_in_and_its_csrf_token,
);

const DELETED: &str = "Your account was deleted";

async fn delete_me(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.client
        .delete(app.url("/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// What is left of the account in the store: the account, its sessions.
async fn remains(app: &TestApp, id: UserId) -> (bool, usize) {
    let user = app.store.user_by_id(id).await.unwrap();
    let sessions = app.store.sessions_of(id).await.unwrap();
    (user.is_some(), sessions.len())
}

async fn last_event(app: &TestApp, id: UserId) -> (String, Option<String>) {
    let trail = app.store.audit_trail(Some(id), 500).await.unwrap();
    let last = trail.last().expect("the trail keeps the account's entries");
    (last.event.clone(), last.detail.clone())
}

async fn an_owner_deletes_their_account_and_everything_on_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "leaving@example.com";
    let ada = verified_person(&app, email).await;
    let token = json_body(app.post_as(&ada.cookie, "/token", &json!({})).await).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let laptop = app.login(email, PASSWORD).await;
    assert_eq!(laptop.status(), 200);
    assert_eq!(remains(&app, ada.id).await, (true, 2));

    let deleted = delete_me(&app, &ada.cookie).await;
    assert_eq!(deleted.status(), 204);
    let cleared = deleted.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("latchkey_session=;"), "{cleared}");

    assert_eq!(remains(&app, ada.id).await, (false, 0));
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", &ada.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert_eq!(status_with_bearer(&app, &token).await, 401);
    let login = app.login(email, PASSWORD).await;
    assert_eq!(login.status(), 401);
    assert_eq!(
        json_body(login).await["error"]["code"],
        "invalid_credentials"
    );
    assert_eq!(
        last_event(&app, ada.id).await,
        ("user.deleted".to_owned(), Some("by its owner".to_owned()))
    );
    let notice = &app.sink().wait_for_subject(email, DELETED, 1).await[0];
    assert!(notice.text().contains("from a session signed in to it"));
    assert!(
        notice.text().contains("From: 127.0.0.1"),
        "{}",
        notice.text()
    );

    // The address is free: a new account, with a new id.
    let again = app.register("Ada Again", email, PASSWORD).await;
    assert_eq!(again.status(), 201);
    assert_ne!(user_id(&json_body(again).await["user"]["id"]), ada.id);
}

async fn deleting_needs_a_recent_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "stale@example.com").await;
    app.clock.advance(Duration::from_secs(11 * 60));
    let refused = delete_me(&app, &ada.cookie).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        json_body(refused).await["error"]["code"],
        "reauthentication_required"
    );
    assert_eq!(remains(&app, ada.id).await, (true, 1));

    // Signing in again makes it recent.
    let fresh = app.login("stale@example.com", PASSWORD).await;
    let fresh = crate::helpers::set_cookie(&fresh, "latchkey_session").unwrap();
    let fresh = Person {
        id: ada.id,
        cookie: format!("latchkey_session={fresh}"),
    };
    assert_eq!(delete_me(&app, &fresh.cookie).await.status(), 204);
    assert_eq!(remains(&app, ada.id).await, (false, 0));

    let anonymous = app.client.delete(app.url("/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn another_origin_cannot_delete_an_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "target@example.com").await;
    let forged = app
        .client
        .delete(app.url("/me"))
        .header("cookie", &ada.cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        json_body(forged).await["error"]["code"],
        "cross_site_request"
    );
    assert_eq!(remains(&app, ada.id).await, (true, 1));
}

async fn an_operator_deletes_an_account(backend: Backend) {
    let app = with_key(backend).await;
    let ann = verified_person(&app, "ann@example.com").await;
    let path = format!("/admin/users/{}", ann.id);
    assert_eq!(admin_delete(&app, &path, None).await.status(), 401);
    assert!(
        remains(&app, ann.id).await.0,
        "a request without the key deletes nothing"
    );
    let deleted = admin_delete(&app, &path, Some(KEY)).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(deleted.headers()["cache-control"], "no-store");
    assert_eq!(remains(&app, ann.id).await, (false, 0));
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", &ann.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert_eq!(
        last_event(&app, ann.id).await,
        (
            "user.deleted".to_owned(),
            Some("by an administrator".to_owned())
        )
    );
    let notice = &app
        .sink()
        .wait_for_subject("ann@example.com", DELETED, 1)
        .await[0];
    assert!(notice.text().contains("by an administrator"));
    assert!(
        !notice.text().contains("From:"),
        "the operator's address is not the owner's business"
    );
    assert_eq!(admin_delete(&app, &path, Some(KEY)).await.status(), 404);
    assert_eq!(
        admin_delete(&app, "/admin/users/not-a-uuid", Some(KEY))
            .await
            .status(),
        404
    );
}

async fn a_deleted_account_gets_none_of_its_unsent_mail(backend: Backend) {
    // A mail server that is down: every message stays pending, retried.
    let app = TestApp::spawn_with(backend, |config| {
        let port = crate::helpers::MailSink::unused_port();
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.admin_api_key = Some(KEY.to_owned());
    })
    .await;
    let email = "unsent@example.com";
    let registered = app.register("Una Sent", email, PASSWORD).await;
    assert_eq!(registered.status(), 201);
    let id = user_id(&json_body(registered).await["user"]["id"]);
    let path = format!("/admin/users/{id}");
    assert_eq!(admin_delete(&app, &path, Some(KEY)).await.status(), 204);

    let messages = app.store.messages(50).await.unwrap();
    let status_of = |kind: &str| {
        messages
            .iter()
            .find(|message| message.recipient == email && message.kind == kind)
            .map(|message| message.status.clone())
    };
    // The link to an account that is gone will never be sent; the notice
    // that it is gone waits for the mail server like any message.
    assert_eq!(
        status_of("verify_email").as_deref(),
        Some("cancelled"),
        "{messages:?}"
    );
    assert_eq!(
        status_of("account_deleted").as_deref(),
        Some("pending"),
        "{messages:?}"
    );
}

/// A signed-in browser of a new, verified account, and the account's id.
async fn browser_of(app: &TestApp, email: &str) -> (Visitor, UserId) {
    let person = verified_person(app, email).await;
    let (browser, _) = Visitor::open(app, "/login").await;
    (browser.with(&person.cookie), person.id)
}

async fn the_dashboard_deletes_an_account_once_the_box_is_ticked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, id) = browser_of(&app, "page-delete@example.com").await;
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("action=\"/account/delete\""), "{html}");
    assert!(
        html.contains("I understand that this cannot be undone"),
        "{html}"
    );

    // The box unticked (a browser would not send it; a script might).
    let unticked = browser.post(&app, "/account/delete", &[]).await;
    assert_eq!(
        see_other_path(&unticked),
        "/dashboard?notice=delete-unconfirmed"
    );
    assert!(remains(&app, id).await.0);
    let html = browser
        .get(&app, "/dashboard?notice=delete-unconfirmed")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your account was not deleted"), "{html}");

    let deleted = browser
        .post(&app, "/account/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(deleted.status(), 200);
    assert_page(&deleted);
    let cleared = deleted.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("latchkey_session=;"), "{cleared}");
    let html = deleted.text().await.unwrap();
    assert!(html.contains("Account deleted"), "{html}");
    assert!(html.contains("href=\"/signup\""), "{html}");
    assert_eq!(remains(&app, id).await, (false, 0));
    app.sink()
        .wait_for_subject("page-delete@example.com", DELETED, 1)
        .await;
}

async fn the_dashboard_form_needs_a_recent_sign_in_and_its_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut browser, id) = browser_of(&app, "page-keep@example.com").await;
    let forged = browser
        .post_exactly(&app, "/account/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(forged.status(), 403);
    assert_page(&forged);
    assert!(remains(&app, id).await.0);

    app.clock.advance(Duration::from_secs(11 * 60));
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("To delete your account"), "{html}");
    assert!(!html.contains("action=\"/account/delete\""), "{html}");
    let stale = browser
        .post(&app, "/account/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(stale.status(), 403);
    let html = stale.text().await.unwrap();
    assert!(html.contains("Sign in again to continue"), "{html}");
    assert!(remains(&app, id).await.0);

    // Signed out, the form leads to the login page.
    browser.forget("latchkey_session");
    let signed_out = browser
        .post(&app, "/account/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(see_other_path(&signed_out), "/login");
    assert!(remains(&app, id).await.0);
}
