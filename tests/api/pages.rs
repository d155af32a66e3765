//! The browser's pages as seen over HTTP: content negotiation on /verify,
//! form posts without JavaScript (303, or the page again with inline
//! errors), the dashboard and its Log out form, and HTML 404s.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::{
    Browser, HTML, assert_page, assert_security_headers, csrf_token_in, open, post_form,
    set_cookie, verify_path,
};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};

both_backends!(
    verify_answers_pages_to_browsers_and_json_to_api_clients,
    an_expired_link_page_offers_resend_to_its_address,
    a_form_sign_up_redirects_to_check_your_inbox,
    form_errors_come_back_inline_on_the_page,
    a_taken_address_says_so_on_the_page,
    the_dashboard_greets_the_verified_person_and_logs_out,
    resend_forms_redirect_or_show_their_error,
    browsers_get_a_page_for_unknown_addresses,
);

async fn verify_answers_pages_to_browsers_and_json_to_api_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unknown = latchkey::domain::VerificationToken::generate().encode();
    let page = app
        .client
        .get(app.url(&format!("/verify?token={unknown}")))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert_page(&page);
    assert!(page.headers()["vary"].to_str().unwrap().contains("accept"));
    let html = page.text().await.unwrap();
    assert!(html.contains("This link does not work"), "{html}");
    assert!(html.contains("action=\"/verify/resend\""), "{html}");

    // No Accept header at all: a page too (a browser, or curl).
    let bare = app
        .client
        .get(app.url("/verify?token=short"))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 400);
    assert_eq!(bare.headers()["content-type"], "text/html; charset=utf-8");

    let api = app.get_json(&format!("/verify?token={unknown}")).await;
    assert_eq!(api.status(), 400);
    assert_security_headers(&api);
    assert_eq!(
        json_body(api).await,
        json!({"error": {"code": "invalid_token", "message": "This verification link is not valid. Ask for a new one."}})
    );

    let link = app.url(&verify_path(
        &app.register_and_get_link("page@example.com").await,
    ));
    let verified = app
        .client
        .get(&link)
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    assert_page(&verified);
    assert!(set_cookie(&verified, "latchkey_session").is_some());
    let html = verified.text().await.unwrap();
    assert!(html.contains("Account verified"), "{html}");
    assert!(html.contains("href=\"/dashboard\""), "{html}");

    let again = app.get_json(&link).await;
    assert_eq!(again.status(), 200);
    let body = json_body(again).await;
    assert_eq!(body["already_verified"], true);
    assert_eq!(body["user"]["email"], "page@example.com");
}

async fn an_expired_link_page_offers_resend_to_its_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = app.url(&verify_path(
        &app.register_and_get_link("late@example.com").await,
    ));
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    let page = app
        .client
        .get(&link)
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    assert_page(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("Link expired"), "{html}");
    assert!(html.contains("value=\"late@example.com\""), "{html}");

    // The API answer is unchanged and never names the address.
    let api = app.get_json(&link).await;
    assert_eq!(api.status(), 410);
    let text = api.text().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"error": {"code": "token_expired", "message": "This verification link has expired. Ask for a new one."}})
    );
    assert!(!text.contains("late@"));
}

async fn a_form_sign_up_redirects_to_check_your_inbox(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, html) = open(&app, "/signup").await;
    assert!(html.contains("data-min-length=\"8\""), "{html}");
    let response = post_form(
        &app,
        &browser,
        "/register",
        &[
            ("name", "Ada Lovelace"),
            ("email", " Ada@Example.com "),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        "http://127.0.0.1:8080/check-inbox?email=Ada%40example.com"
    );
    let mails = app.sink().wait_for("Ada@example.com", 1).await;
    assert!(mails[0].link().contains("/verify?token="));

    let inbox = app
        .client
        .get(app.url("/check-inbox?email=Ada%40example.com"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200);
    assert_page(&inbox);
    let html = inbox.text().await.unwrap();
    assert!(html.contains("Check your inbox"), "{html}");
    assert!(html.contains("Ada@example.com"), "{html}");
    assert!(html.contains("24 hours"), "{html}");
}

async fn form_errors_come_back_inline_on_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = open(&app, "/signup").await;
    let response = post_form(
        &app,
        &browser,
        "/register",
        &[
            ("name", "<script>alert(1)</script>"),
            ("email", "not-an-address"),
            ("password", "password"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 422);
    assert_page(&response);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Enter an email address like name@example.com."),
        "{html}"
    );
    assert!(html.contains("one of the most common passwords"), "{html}");
    assert_eq!(html.matches("aria-invalid=\"true\"").count(), 2, "{html}");
    // The name is put back, escaped; the password never is.
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    assert!(!html.contains("value=\"password\""), "{html}");
    assert!(app.store.users(10).await.unwrap().is_empty());

    // Other content types are still refused in the API's words.
    let plain = app
        .client
        .post(app.url("/register"))
        .header("content-type", "text/plain")
        .body("name=a")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
    assert_eq!(
        json_body(plain).await["error"]["code"],
        "unsupported_media_type"
    );
}

async fn a_taken_address_says_so_on_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("taken@example.com").await;
    let (browser, _) = open(&app, "/signup").await;
    let response = post_form(
        &app,
        &browser,
        "/register",
        &[
            ("name", "Ada"),
            ("email", "TAKEN@example.com"),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(html.contains("This email is already registered."), "{html}");
    assert!(html.contains("Enter your password again"), "{html}");
    assert!(html.contains("href=\"/login\""), "{html}");
    assert!(
        html.contains("href=\"/password/forgot?email=TAKEN%40example.com\""),
        "{html}"
    );
}

async fn the_dashboard_greets_the_verified_person_and_logs_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = app.url(&verify_path(
        &app.register_and_get_link("dash@example.com").await,
    ));
    let verified = app
        .client
        .get(&link)
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    let session = set_cookie(&verified, "latchkey_session").unwrap();
    let session = session.split(';').next().unwrap().to_owned();

    let signed_out = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(signed_out.status(), 200);
    assert!(
        signed_out
            .text()
            .await
            .unwrap()
            .contains("You're not signed in")
    );

    let dashboard = app
        .client
        .get(app.url("/dashboard"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_page(&dashboard);
    let csrf = set_cookie(&dashboard, "latchkey_csrf").unwrap();
    let html = dashboard.text().await.unwrap();
    assert!(
        html.contains("You're signed in as <strong>Ada Lovelace</strong> <span class=\"address\">&#60;dash@example.com&#62;</span>")
            || html.contains("You're signed in as <strong>Ada Lovelace</strong> <span class=\"address\">&lt;dash@example.com&gt;</span>"),
        "{html}"
    );
    let token = csrf_token_in(&html);
    let browser = Browser {
        cookie: csrf.split(';').next().unwrap().to_owned(),
        token,
    };
    let logout = post_form(&app, &browser, "/logout", &[], Some(&session)).await;
    assert_eq!(logout.status(), 303);
    assert_eq!(logout.headers()["location"], "http://127.0.0.1:8080/signup");
    let cleared = set_cookie(&logout, "latchkey_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
}

async fn resend_forms_redirect_or_show_their_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_and_get_link("again@example.com").await;
    let (browser, html) = open(&app, "/resend?email=again%40example.com").await;
    assert!(html.contains("value=\"again@example.com\""), "{html}");
    let response = post_form(
        &app,
        &browser,
        "/verify/resend",
        &[("email", "again@example.com")],
        None,
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "http://127.0.0.1:8080/check-inbox?email=again%40example.com&resent=1"
    );
    app.sink().wait_for("again@example.com", 2).await;

    let response = post_form(&app, &browser, "/verify/resend", &[("email", "nope")], None).await;
    assert_eq!(response.status(), 422);
    assert_page(&response);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Enter an email address like name@example.com."),
        "{html}"
    );
    // Links work from a nested path too.
    assert!(html.contains("href=\"/static/app.css\""), "{html}");
}

async fn browsers_get_a_page_for_unknown_addresses(backend: Backend) {
    let app = TestApp::spawn_with(backend, |_| {}).await;
    let page = app
        .client
        .get(app.url("/nowhere"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert_page(&page);
    assert!(page.text().await.unwrap().contains("Page not found"));
    let api = app.get_json("/nowhere").await;
    assert_eq!(api.status(), 404);
    assert_eq!(json_body(api).await["error"]["code"], "not_found");
    let root = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "signup");
}
