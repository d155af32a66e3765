//! `GET /metrics`: absent without `LATCHKEY_METRICS_TOKEN`, answered only to
//! that token, and counting answers by route pattern, never by the path or
//! query as sent.

use std::time::Duration;

use crate::helpers::{Backend, MailSink, PASSWORD, TestApp, both_backends};

both_backends!(
    answers_and_deliveries_are_counted_for_the_token_only,
    a_stuck_outbox_shows_in_its_backlog,
);

const TOKEN: &str = "metrics-token-0123456789-abcdefghijklmno";

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn answers_and_deliveries_are_counted_for_the_token_only(backend: Backend) {
    let without = TestApp::spawn(backend).await;
    assert_eq!(scrape(&without, Some(TOKEN)).await.status(), 404);

    let app = TestApp::spawn_with(backend, |config| {
        config.metrics_token = Some(TOKEN.to_owned());
    })
    .await;
    for token in [None, Some("metrics-token-0123456789-abcdefghijklmnX")] {
        let refused = scrape(&app, token).await;
        assert_eq!(refused.status(), 401);
        assert!(refused.headers().contains_key("www-authenticate"));
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("invalid_metrics_token")
        );
    }

    assert_eq!(
        app.register("Ada", "metrics@example.com", PASSWORD)
            .await
            .status(),
        201
    );
    assert_eq!(
        app.login("metrics@example.com", "a wrong password entirely")
            .await
            .status(),
        401
    );
    let secret = "secret-link-token-that-must-not-show";
    app.get_json(&format!("/verify?token={secret}")).await;
    app.get_json(&format!("/sessions/{secret}")).await;
    app.get_json(&format!("/no/such/{secret}")).await;
    app.outbox_settled().await;

    let answer = scrape(&app, Some(TOKEN)).await;
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let text = answer.text().await.unwrap();
    for expected in [
        r#"latchkey_http_requests_total{method="POST",route="/register",status="201"} 1"#,
        r#"latchkey_http_requests_total{method="POST",route="/login",status="401"} 1"#,
        r#"latchkey_http_requests_total{method="GET",route="/verify",status="400"} 1"#,
        r#"latchkey_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"latchkey_http_request_duration_seconds_count{method="POST",route="/register"} 1"#,
        r#"latchkey_outbox_delivered_total{channel="email"} 1"#,
        r#"latchkey_outbox_queued{channel="email"} 0"#,
        r#"latchkey_outbox_oldest_queued_age_seconds{channel="email"} 0.0"#,
        "latchkey_hashing_admitted 0",
        "latchkey_hashing_capacity ",
        "latchkey_build_info{",
        "# EOF",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(text.contains(r#"route="/sessions/{id}""#), "{text}");
    assert!(!text.contains(secret), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

/// With the mail server down, what waits shows at each scrape: how many
/// and for how long, so an operator's alert fires before links go stale.
async fn a_stuck_outbox_shows_in_its_backlog(backend: Backend) {
    let port = MailSink::unused_port();
    let app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.metrics_token = Some(TOKEN.to_owned());
    })
    .await;
    for email in ["stuck1@example.com", "stuck2@example.com"] {
        assert_eq!(app.register("Ada", email, PASSWORD).await.status(), 201);
    }
    app.clock.advance(Duration::from_secs(600));

    let text = scrape(&app, Some(TOKEN)).await.text().await.unwrap();
    assert!(
        text.contains(r#"latchkey_outbox_queued{channel="email"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"latchkey_outbox_queued{channel="sms"} 0"#),
        "{text}"
    );
    let age: f64 = text
        .lines()
        .find_map(|line| {
            line.strip_prefix(r#"latchkey_outbox_oldest_queued_age_seconds{channel="email"} "#)
        })
        .expect("the email backlog's age")
        .parse()
        .unwrap();
    assert!((600.0..660.0).contains(&age), "{age}");

    // The mail server is back: the backlog drains, and reads 0 again.
    let sink = MailSink::start(port);
    sink.wait_for("stuck2@example.com", 1).await;
    app.outbox_settled().await;
    let text = scrape(&app, Some(TOKEN)).await.text().await.unwrap();
    assert!(
        text.contains(r#"latchkey_outbox_queued{channel="email"} 0"#),
        "{text}"
    );
}
