//! Web hardening: slow clients are cut off, bodies are bounded, and no
//! cache keeps an answer that carries a secret.

use std::time::{Duration, Instant};

use reqwest::Response;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::browser::{HTML, assert_security_headers, open};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie, token_of};
use crate::mfa::enrol_totp;

both_backends!(
    a_request_head_that_never_ends_is_cut_off,
    a_body_that_never_ends_gets_408,
    oversized_bodies_get_413_in_our_format,
    no_answer_with_a_secret_is_cached_and_every_page_has_its_headers,
);

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut received)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&received).into_owned())
}

async fn a_request_head_that_never_ends_is_cut_off(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    // Half a request line, then a byte now and then (slowloris).
    let started = Instant::now();
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    let trickle = async {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow.write_all(b"T").await.is_err() {
                break;
            }
        }
    };
    let ((), closed_idle) = tokio::join!(trickle, until_closed(&mut idle, Duration::from_secs(5)));
    let closed_slow = until_closed(&mut slow, Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    assert!(closed_slow.is_some(), "the slow connection is closed");
    assert!(
        closed_idle.is_some(),
        "a connection that sends nothing is closed"
    );
    assert!(
        !closed_slow.unwrap().contains("200 OK"),
        "no answer to a head that came too late"
    );
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );

    // A kept-alive connection waiting for its next request ends the same way,
    // and the server still answers everyone else.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut kept, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert_eq!(app.get_json("/healthz").await.status(), 200);
}

async fn a_body_that_never_ends_gets_408(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.request_timeout = Duration::from_secs(1);
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let answer = until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("an answer, then the connection closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

async fn oversized_bodies_get_413_in_our_format(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = open(&app, "/signup").await;
    let big = "x".repeat(70 * 1024);
    // A form post (the sign-up page without JavaScript): the error page.
    let form = app
        .client
        .post(app.url("/register"))
        .header("cookie", &browser.cookie)
        .header("accept", HTML)
        .form(&[
            ("name", big.as_str()),
            ("csrf_token", browser.token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 413);
    assert_eq!(form.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(form.headers()["cache-control"], "no-store");
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("The form is larger than 64 KiB.")
    );
    // JSON without a length (chunked): the error body, before reading it all.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "y".repeat(16 * 1024));
    for _ in 0..5 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let answer = until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"code\":\"payload_too_large\""),
        "{answer}"
    );
    assert!(app.store.users(10).await.unwrap().is_empty());
}

/// `no-store`, and the security headers (every answer has them).
fn assert_no_store(response: &Response, what: &str) {
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what}"
    );
    assert_security_headers(response);
}

async fn no_answer_with_a_secret_is_cached_and_every_page_has_its_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let get = |path: &str, accept: &'static str, cookie: Option<String>| {
        let mut request = app.client.get(app.url(path)).header("accept", accept);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };

    // Every page, signed out.
    for path in [
        "/",
        "/signup",
        "/check-inbox?email=someone%40example.com",
        "/resend",
        "/resend?email=someone%40example.com",
        "/login",
        "/verify?token=nonsense",
        "/mfa",
        "/mfa/setup?method=totp",
        "/dashboard",
        "/no/such/page",
    ] {
        let response = get(path, HTML, None).await.unwrap();
        assert_no_store(&response, path);
    }

    // The API's answers with secrets: the access token, the user, the
    // sessions, a TOTP key, recovery codes, the mfa_token.
    let registered = app.register("Ada", "cache@example.com", PASSWORD).await;
    assert_no_store(&registered, "POST /register");
    let link = app.sink().wait_for("cache@example.com", 1).await[0].link();
    let verified = app
        .get_json(&format!("/verify?token={}", token_of(&link)))
        .await;
    assert_no_store(&verified, "GET /verify (JSON)");
    let cookie = format!(
        "latchkey_session={}",
        set_cookie(&verified, "latchkey_session").unwrap()
    );
    let login = app.login("cache@example.com", PASSWORD).await;
    assert_no_store(&login, "POST /login");
    let bearer = json_body(login).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = app
        .client
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .unwrap();
    assert_no_store(&me, "GET /me");
    for path in ["/sessions", "/mfa", "/me"] {
        let response = get(path, "application/json", Some(cookie.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_no_store(&response, path);
    }
    let enrolment = app.post_as(&cookie, "/mfa/totp/enroll", &json!({})).await;
    assert_no_store(&enrolment, "POST /mfa/totp/enroll");
    // The pages of a signed-in person: the dashboard, a set-up page with a TOTP key.
    for path in [
        "/dashboard",
        "/mfa/setup?method=totp",
        "/mfa/setup?method=email",
    ] {
        let response = get(path, HTML, Some(cookie.clone())).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_no_store(&response, path);
    }
    let (_, codes, _) = enrol_totp(&app, &cookie).await;
    assert_eq!(codes.len(), 10);
    let renewed = app
        .post_as(&cookie, "/mfa/recovery-codes", &json!({}))
        .await;
    assert_eq!(renewed.status(), 200);
    assert_no_store(&renewed, "POST /mfa/recovery-codes");
    let challenge = app.login("cache@example.com", PASSWORD).await;
    assert_no_store(&challenge, "POST /login (mfa_required)");
    let mfa_cookie = format!(
        "latchkey_mfa={}",
        set_cookie(&challenge, "latchkey_mfa").unwrap()
    );
    let second_step = get("/mfa", HTML, Some(mfa_cookie)).await.unwrap();
    assert_eq!(second_step.status(), 200);
    assert_no_store(&second_step, "GET /mfa (the second step)");
    // Errors too.
    let wrong = app.login("cache@example.com", "not it at all 123").await;
    assert_no_store(&wrong, "401");
    assert_no_store(&app.get_json("/no/such/thing").await, "404");
    assert_no_store(&app.get_json("/healthz").await, "/healthz");

    // What a cache may keep says so itself.
    for (path, expected) in [
        ("/static/app.css", "public, max-age=3600"),
        ("/static/app.js", "public, max-age=3600"),
        ("/static/passkeys.js", "public, max-age=3600"),
        ("/.well-known/jwks.json", "public, max-age=60"),
    ] {
        let response = get(path, "*/*", None).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], expected, "{path}");
        assert_security_headers(&response);
    }
}
