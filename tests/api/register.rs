use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};
use latchkey::limits::QuotaSetting;

both_backends!(
    registration_creates_a_pending_account_and_mails_a_link,
    a_taken_address_is_409_whatever_its_case,
    concurrent_duplicate_registrations_have_one_winner,
    concurrent_protected_sign_ups_each_tell_the_owner,
    every_broken_field_is_reported_at_once,
    a_weak_password_says_why_and_creates_nothing,
    malformed_requests_get_json_errors,
);

async fn registration_creates_a_pending_account_and_mails_a_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .register("  Ada Lovelace ", " ada@Example.COM ", PASSWORD)
        .await;
    assert_eq!(response.status(), 201);
    let body = json_body(response).await;
    let user = &body["user"];
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["status"], "pending");
    assert!(
        user["id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );
    assert!(
        user["created_at"]
            .as_str()
            .is_some_and(|at| chrono::DateTime::parse_from_rfc3339(at).is_ok())
    );
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    let mails = app.sink().wait_for("ada@example.com", 1).await;
    let mail = &mails[0];
    let link = mail.link();
    assert!(
        link.starts_with("http://127.0.0.1:8080/verify?token="),
        "links come from LATCHKEY_PUBLIC_URL: {link}"
    );
    assert!(
        mail.html().contains(&link.replace('&', "&amp;")),
        "the HTML part carries the same link"
    );
    assert!(
        mail.message_id().ends_with("@127.0.0.1"),
        "{}",
        mail.message_id()
    );

    // The public URL points at the default port; follow the path on this app.
    let path = link.trim_start_matches("http://127.0.0.1:8080");
    let verified = json_body(app.get_json(path).await).await;
    assert_eq!(verified["user"]["status"], "active");
    assert_eq!(verified["already_verified"], false);
    let stored = app
        .store
        .user_by_email(&latchkey::domain::EmailAddress::parse("ada@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, latchkey::domain::UserStatus::Active);
}

async fn a_taken_address_is_409_whatever_its_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.register("Ada", "ada@example.com", PASSWORD)
            .await
            .status(),
        201
    );
    let again = app
        .register(
            "Someone Else",
            "ADA@example.com",
            "another quite long passphrase 99",
        )
        .await;
    assert_eq!(again.status(), 409);
    let body = json_body(again).await;
    assert_eq!(body["error"]["code"], "email_taken");
    assert_eq!(app.store.users(10).await.unwrap().len(), 1);
}

async fn concurrent_duplicate_registrations_have_one_winner(backend: Backend) {
    // The database decides the race, not the quotas (5 an hour per address).
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_register_per_address = QuotaSetting(None);
        config.limits.limit_register_per_ip = QuotaSetting(None);
    })
    .await;
    let mut statuses = race_to_register(&app, 20).await;
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(app.store.users(100).await.unwrap().len(), 1);
    // Exactly one verification email: the losers left nothing behind.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.sink().wait_for("race@example.com", 1).await.len(), 1);
    assert_eq!(app.store.messages(100).await.unwrap().len(), 1);
}

/// Under enumeration protection every loser of the race is answered like
/// the winner, and its owner notice is written: a sign-up that finds the
/// address taken by one committed meanwhile still finds its owner.
async fn concurrent_protected_sign_ups_each_tell_the_owner(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.enumeration_protection = true;
        // Cheap hashes, so the sign-ups reach the database together.
        config.argon2_memory_kib = 1024;
        config.argon2_iterations = 1;
        config.limits.limit_register_per_address = QuotaSetting(None);
        config.limits.limit_register_per_ip = QuotaSetting(None);
        config.limits.limit_messages_per_recipient = QuotaSetting(None);
    })
    .await;
    let statuses = race_to_register(&app, 20).await;
    assert!(statuses.iter().all(|&status| status == 201), "{statuses:?}");
    assert_eq!(app.store.users(100).await.unwrap().len(), 1);
    let kinds: Vec<String> = app
        .store
        .messages(100)
        .await
        .unwrap()
        .into_iter()
        .map(|message| message.kind)
        .collect();
    assert_eq!(kinds.len(), 20, "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|kind| *kind == "verify_email").count(),
        1,
        "{kinds:?}"
    );
}

/// `count` sign-ups of race@example.com at once; their statuses.
async fn race_to_register(app: &TestApp, count: usize) -> Vec<u16> {
    let attempts: Vec<_> = (0..count)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/register");
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({ "name": format!("Racer {i}"), "email": "race@example.com", "password": PASSWORD }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    statuses
}

async fn every_broken_field_is_reported_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .post_json(
            "/register",
            &json!({ "name": "  ", "email": "not-an-address", "password": "short" }),
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = json_body(response).await;
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields = &body["error"]["fields"];
    assert_eq!(fields["name"][0]["code"], "required");
    assert_eq!(fields["email"][0]["code"], "invalid_email");
    let password_codes: Vec<&str> = fields["password"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(password_codes.contains(&"too_short"), "{password_codes:?}");
    for errors in fields.as_object().unwrap().values() {
        assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Missing fields are reported the same way.
    let empty = json_body(app.post_json("/register", &json!({})).await).await;
    assert_eq!(empty["error"]["fields"]["name"][0]["code"], "required");
    assert_eq!(empty["error"]["fields"]["email"][0]["code"], "required");
    assert_eq!(empty["error"]["fields"]["password"][0]["code"], "required");
}

async fn a_weak_password_says_why_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (password, code) in [
        ("password1", "too_common"),
        ("ada.lovelace.rocks!", "contains_personal_info"),
        ("aaaaaaaaaaaa", "too_weak"),
    ] {
        let response = app
            .register("Ada Lovelace", "ada.lovelace@example.com", password)
            .await;
        assert_eq!(response.status(), 422, "{password}");
        let body = json_body(response).await;
        let codes: Vec<&str> = body["error"]["fields"]["password"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&code), "{password}: {codes:?}");
    }
    let long = "ж".repeat(257);
    let body = json_body(app.register("Ada", "ada@example.com", &long).await).await;
    assert_eq!(body["error"]["fields"]["password"][0]["code"], "too_long");
    assert!(
        app.store.users(10).await.unwrap().is_empty(),
        "no half-written account"
    );
    assert!(
        app.store.messages(10).await.unwrap().is_empty(),
        "no email for a refused sign-up"
    );
}

async fn malformed_requests_get_json_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = app.url("/register");
    let send = |content_type: &'static str, body: Vec<u8>| {
        let request = app
            .client
            .post(url.clone())
            .header("content-type", content_type)
            .body(body);
        async move { request.send().await.unwrap() }
    };

    let bad_json = send("application/json", b"{\"name\": ".to_vec()).await;
    assert_eq!(bad_json.status(), 400);
    assert_eq!(json_body(bad_json).await["error"]["code"], "malformed_json");

    let wrong_type = send(
        "application/json",
        br#"{"name": 5, "email": [], "password": {}}"#.to_vec(),
    )
    .await;
    assert_eq!(wrong_type.status(), 400);
    assert_eq!(
        json_body(wrong_type).await["error"]["code"],
        "malformed_json"
    );

    let text = send("text/plain", br#"{"name":"a"}"#.to_vec()).await;
    assert_eq!(text.status(), 415);
    assert_eq!(
        json_body(text).await["error"]["code"],
        "unsupported_media_type"
    );

    let huge = format!(
        r#"{{"name": "{}", "email": "a@example.com", "password": "x"}}"#,
        "a".repeat(70 * 1024)
    );
    let too_big = send("application/json", huge.into_bytes()).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(
        json_body(too_big).await["error"]["code"],
        "payload_too_large"
    );

    let not_utf8 = send(
        "application/json",
        vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
    )
    .await;
    assert_eq!(not_utf8.status(), 400);

    let wrong_method = app.client.get(url.clone()).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        json_body(wrong_method).await["error"]["code"],
        "method_not_allowed"
    );

    let nowhere = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(nowhere.status(), 404);
    assert_eq!(json_body(nowhere).await["error"]["code"], "not_found");

    assert!(app.store.users(10).await.unwrap().is_empty());
}
