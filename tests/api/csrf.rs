//! CSRF protection of the form posts: the double-submit token, the
//! fetch-metadata and origin checks, and the `__Host-` cookie over https.

use crate::browser::{HTML, assert_page, csrf_token_in, open, set_cookie};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends};

both_backends!(
    form_posts_without_a_matching_csrf_token_are_refused,
    over_https_the_csrf_cookie_is_secure_and_host_prefixed,
);

async fn form_posts_without_a_matching_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = open(&app, "/signup").await;
    let fields = [
        ("name", "Ada"),
        ("email", "csrf@example.com"),
        ("password", PASSWORD),
    ];
    let send = |cookie: Option<String>, token: Option<&str>, headers: &[(&str, &str)]| {
        let mut request = app.client.post(app.url("/register"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut body = fields.to_vec();
        if let Some(token) = token {
            body.push(("csrf_token", token));
        }
        request.form(&body).send()
    };
    let other = latchkey::domain::CsrfToken::generate().encode();
    let refused = [
        // No cookie, no token.
        send(None, None, &[]).await.unwrap(),
        // The token without its cookie.
        send(None, Some(&browser.token), &[]).await.unwrap(),
        // The cookie without the token.
        send(Some(browser.cookie.clone()), None, &[]).await.unwrap(),
        // Another token.
        send(Some(browser.cookie.clone()), Some(&other), &[])
            .await
            .unwrap(),
        // The right pair, from another site.
        send(
            Some(browser.cookie.clone()),
            Some(&browser.token),
            &[("origin", "https://evil.example")],
        )
        .await
        .unwrap(),
        send(
            Some(browser.cookie.clone()),
            Some(&browser.token),
            &[("sec-fetch-site", "cross-site")],
        )
        .await
        .unwrap(),
    ];
    for response in refused {
        assert_eq!(response.status(), 403);
        assert_page(&response);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
    }
    assert!(app.store.users(10).await.unwrap().is_empty());

    // A page with `Referrer-Policy: no-referrer` posts with `Origin: null`.
    let accepted = send(
        Some(browser.cookie.clone()),
        Some(&browser.token),
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
    )
    .await
    .unwrap();
    assert_eq!(accepted.status(), 303);

    for path in ["/verify/resend", "/logout"] {
        let response = app
            .client
            .post(app.url(path))
            .header("cookie", &browser.cookie)
            .form(&[("email", "csrf@example.com"), ("csrf_token", &other)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
}

async fn over_https_the_csrf_cookie_is_secure_and_host_prefixed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.public_url = url::Url::parse("https://auth.example.com/").unwrap();
    })
    .await;
    let page = app
        .client
        .get(app.url("/signup"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&page, "__Host-latchkey_csrf").expect("a __Host- cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    // A token under the plain name is not the browser's token over https.
    let html = page.text().await.unwrap();
    let token = csrf_token_in(&html);
    let token = token.as_str();
    let refused = app
        .client
        .post(app.url("/register"))
        .header("cookie", format!("latchkey_csrf={token}"))
        .form(&[("csrf_token", token), ("name", "Ada")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let accepted = app
        .client
        .post(app.url("/register"))
        .header("cookie", format!("__Host-latchkey_csrf={token}"))
        .header("origin", "https://auth.example.com")
        .form(&[("csrf_token", token), ("name", "Ada")])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 422, "past CSRF, on to validation");
}
