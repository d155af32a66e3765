//! CSRF protection of the JSON API: a state change authorised by the
//! session cookie or the `latchkey_mfa` cookie is refused when it comes from
//! another origin, or (a POST) without a JSON body; Bearer tokens and
//! `mfa_token`s in the body are not affected.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie};
use crate::mfa::{code_at, enrol_totp};

both_backends!(
    cookie_authenticated_json_from_another_origin_is_refused,
    the_second_steps_cookie_is_guarded_too,
);

const OURS: &str = "http://127.0.0.1:8080";
const EVIL: &str = "https://evil.example";

/// A JSON request with `cookie` and these extra headers.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("cookie", cookie)
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn assert_refused(response: Response, what: &str) {
    assert_eq!(response.status(), 403, "{what}");
    assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
    let body = json_body(response).await;
    assert_eq!(
        body["error"]["code"], "cross_site_request",
        "{what}: {body}"
    );
}

async fn cookie_authenticated_json_from_another_origin_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("csrf-json@example.com").await;
    let other = app.login("csrf-json@example.com", PASSWORD).await;
    let other_cookie = format!(
        "latchkey_session={}",
        set_cookie(&other, "latchkey_session").unwrap()
    );
    let bearer = json_body(other).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = json_body(
        app.client
            .get(app.url("/sessions"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let other_id = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let cross_site: [&[(&str, &str)]; 3] = [
        &[("origin", EVIL)],
        &[("sec-fetch-site", "cross-site")],
        // A sibling subdomain: same site, but another origin.
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://a.127.0.0.1:8080"),
        ],
    ];
    let other_session = format!("/sessions/{other_id}");
    let changes: [(Method, &str, Value); 7] = [
        (Method::POST, "/logout", json!({})),
        (Method::DELETE, &other_session, json!({})),
        (Method::POST, "/mfa/totp/enroll", json!({})),
        (
            Method::POST,
            "/mfa/totp/confirm",
            json!({ "code": "123456" }),
        ),
        (Method::POST, "/mfa/email/enroll", json!({})),
        (Method::POST, "/mfa/recovery-codes", json!({})),
        (Method::DELETE, "/mfa/totp", json!({})),
    ];
    for headers in cross_site {
        for (method, path, body) in &changes {
            let response = send(&app, method.clone(), path, &cookie, headers, body).await;
            assert_refused(response, &format!("{method} {path} {headers:?}")).await;
        }
    }
    // Nothing happened: both sessions live, no factor, nothing sent but the link.
    for session in [&cookie, &other_cookie] {
        let me = app
            .client
            .get(app.url("/me"))
            .header("cookie", session)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
    }
    assert!(
        app.store
            .factors_of(app.store.users(1).await.unwrap()[0].id)
            .await
            .unwrap()
            .is_empty()
    );

    // A POST that is not JSON is what another site can send without asking:
    // refused even with no origin header at all.
    for content_type in [
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = app
            .client
            .post(app.url("/logout"))
            .header("cookie", &cookie)
            .body("{}");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        assert_eq!(
            json_body(response).await["error"]["code"],
            "unsupported_media_type"
        );
    }

    // A Bearer token is not something a browser sends by itself: another
    // origin's request with one (and no cookie) is judged by the token.
    let me = app
        .client
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {bearer}"))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // From our own origin, as `static/app.js` and our pages send them: fine.
    let same_origin: &[(&str, &str)] = &[("origin", OURS), ("sec-fetch-site", "same-origin")];
    let enrolment = send(
        &app,
        Method::POST,
        "/mfa/totp/enroll",
        &cookie,
        same_origin,
        &json!({}),
    )
    .await;
    assert_eq!(enrolment.status(), 200);
    let revoked = send(
        &app,
        Method::DELETE,
        &other_session,
        &cookie,
        same_origin,
        &json!({}),
    )
    .await;
    assert_eq!(revoked.status(), 204);
    // `Origin: null` (a page with `Referrer-Policy: no-referrer`) proves nothing either way.
    let logout = send(
        &app,
        Method::POST,
        "/logout",
        &cookie,
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        &json!({}),
    )
    .await;
    assert_eq!(logout.status(), 204);

    // No cookie, no CSRF: a cross-origin JSON login is an ordinary login.
    let login = app
        .client
        .post(app.url("/login"))
        .header("origin", EVIL)
        .json(&json!({ "email": "csrf-json@example.com", "password": "wrong password 123" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
}

async fn the_second_steps_cookie_is_guarded_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("csrf-mfa@example.com").await;
    let (secret, _, spent) = enrol_totp(&app, &cookie).await;
    let login = app.login("csrf-mfa@example.com", PASSWORD).await;
    let mfa_cookie = format!(
        "latchkey_mfa={}",
        set_cookie(&login, "latchkey_mfa").unwrap()
    );
    let mfa_token = json_body(login).await["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = code_at(&secret, spent + 1);

    for (path, body) in [
        ("/mfa/challenge", json!({ "method": "email" })),
        ("/mfa/verify", json!({ "code": code })),
    ] {
        let response = send(
            &app,
            Method::POST,
            path,
            &mfa_cookie,
            &[("origin", EVIL)],
            &body,
        )
        .await;
        assert_refused(response, path).await;
    }

    // The `mfa_token` in the body is no ambient credential: a request that
    // carries it (and no cookie) from anywhere is judged by the token.
    let by_token = app
        .client
        .post(app.url("/mfa/verify"))
        .header("origin", EVIL)
        .json(&json!({ "mfa_token": mfa_token, "code": "000000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 401);
    assert_eq!(json_body(by_token).await["error"]["code"], "invalid_code");

    // From our own origin the cookie finishes the login, with the code the
    // refused request carried (so that request did not spend it).
    let done = send(
        &app,
        Method::POST,
        "/mfa/verify",
        &mfa_cookie,
        &[("origin", OURS), ("sec-fetch-site", "same-origin")],
        &json!({ "code": code }),
    )
    .await;
    assert_eq!(done.status(), 200);
    assert_eq!(json_body(done).await["status"], "authenticated");
}
