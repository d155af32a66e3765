//! Changing the display name: `PATCH /me` with the session cookie or an
//! access token, and the dashboard's form.

use latchkey::domain::UserId;
use serde_json::{Value, json};

use crate::browser::{Visitor, assert_page, see_other_path};
use crate::helpers::{Backend, TestApp, both_backends, json_body};
use crate::tokens::verified_person;

both_backends!(
    an_owner_renames_their_account_by_cookie_or_token,
    a_bad_name_changes_nothing_and_says_why,
    a_rename_needs_a_signed_in_json_request_from_this_origin,
    the_dashboard_renames_and_shows_errors_inline,
);

async fn patch_me(app: &TestApp, auth: (&str, &str), body: &Value) -> reqwest::Response {
    app.client
        .patch(app.url("/me"))
        .header(auth.0, auth.1)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn name_of(app: &TestApp, id: UserId) -> String {
    let user = app.store.user_by_id(id).await.unwrap().unwrap();
    user.name.as_str().to_owned()
}

async fn renames(app: &TestApp, id: UserId) -> usize {
    let trail = app.store.audit_trail(Some(id), 500).await.unwrap();
    trail.iter().filter(|e| e.event == "user.renamed").count()
}

async fn an_owner_renames_their_account_by_cookie_or_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "ada@example.com").await;

    let renamed = patch_me(
        &app,
        ("cookie", &ada.cookie),
        &json!({"name": "  Ada King "}),
    )
    .await;
    assert_eq!(renamed.status(), 200);
    let body = json_body(renamed).await;
    assert_eq!(body["user"]["name"], "Ada King");
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(name_of(&app, ada.id).await, "Ada King");
    assert_eq!(renames(&app, ada.id).await, 1);

    let token = json_body(app.post_as(&ada.cookie, "/token", &json!({})).await).await;
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let renamed = patch_me(
        &app,
        ("authorization", &bearer),
        &json!({"name": "Countess Lovelace"}),
    )
    .await;
    assert_eq!(renamed.status(), 200);
    let me = app
        .client
        .get(app.url("/me"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(json_body(me).await["user"]["name"], "Countess Lovelace");
    assert_eq!(renames(&app, ada.id).await, 2);

    // The same name again changes nothing and records nothing.
    let same = patch_me(
        &app,
        ("cookie", &ada.cookie),
        &json!({"name": "Countess Lovelace"}),
    )
    .await;
    assert_eq!(same.status(), 200);
    assert_eq!(renames(&app, ada.id).await, 2);
}

async fn a_bad_name_changes_nothing_and_says_why(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "bad-name@example.com").await;
    let before = name_of(&app, ada.id).await;
    for body in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "Ada\u{7}Bell"}),
        json!({}),
    ] {
        let refused = patch_me(&app, ("cookie", &ada.cookie), &body).await;
        assert_eq!(refused.status(), 422, "{body}");
        let error = json_body(refused).await;
        assert_eq!(error["error"]["code"], "validation_failed", "{body}");
        assert!(error["error"]["fields"]["name"].is_array(), "{error}");
    }
    assert_eq!(name_of(&app, ada.id).await, before);
    assert_eq!(renames(&app, ada.id).await, 0);
}

async fn a_rename_needs_a_signed_in_json_request_from_this_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "guarded@example.com").await;
    let before = name_of(&app, ada.id).await;
    let body = json!({"name": "Mallory"});

    let anonymous = app
        .client
        .patch(app.url("/me"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = app
        .client
        .patch(app.url("/me"))
        .header("cookie", &ada.cookie)
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        json_body(forged).await["error"]["code"],
        "cross_site_request"
    );
    let form = app
        .client
        .patch(app.url("/me"))
        .header("cookie", &ada.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Mallory")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    assert_eq!(name_of(&app, ada.id).await, before);
}

async fn the_dashboard_renames_and_shows_errors_inline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let person = verified_person(&app, "page-name@example.com").await;
    let (browser, _) = Visitor::open(&app, "/login").await;
    let mut browser = browser.with(&person.cookie);
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("action=\"/account/name\""), "{html}");

    let forged = browser
        .post_exactly(&app, "/account/name", &[("name", "Mallory")])
        .await;
    assert_eq!(forged.status(), 403);
    assert_page(&forged);

    let refused = browser.post(&app, "/account/name", &[("name", " ")]).await;
    assert_eq!(refused.status(), 422);
    assert_page(&refused);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"new-name-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");

    let saved = browser
        .post(&app, "/account/name", &[("name", "Grace Hopper")])
        .await;
    assert_eq!(see_other_path(&saved), "/dashboard?notice=name-changed");
    let html = browser
        .get(&app, "/dashboard?notice=name-changed")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your name was changed."), "{html}");
    assert!(html.contains("<strong>Grace Hopper</strong>"), "{html}");
    assert_eq!(name_of(&app, person.id).await, "Grace Hopper");
}
