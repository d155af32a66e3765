use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};

const OTHER_PASSWORD: &str = "another quite long passphrase 99";
use latchkey::limits::QuotaSetting;

both_backends!(
    registration_creates_a_pending_account_and_mails_a_link,
    a_taken_address_is_409_whatever_its_case,
    an_unverified_sign_up_is_replaced_by_the_next_one,
    a_replaced_sign_up_s_unsent_link_is_never_sent,
    concurrent_sign_ups_of_one_address_leave_one_account_and_one_working_link,
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
    app.signed_up("ada@example.com").await;
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
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 200);
}

/// Account pre-hijacking (OWASP ASVS 5.0 6.3, the "classic-federated merge"
/// family): whoever signs up first with somebody else's address must not
/// keep it, nor have the owner's click activate a password they chose. A
/// sign-up of an address whose account was never verified takes that
/// account over; the earlier link stops working.
async fn an_unverified_sign_up_is_replaced_by_the_next_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.register("Mallory", "owner@example.com", PASSWORD).await;
    assert_eq!(first.status(), 201);
    let first_id = json_body(first).await["user"]["id"].clone();
    let stale = token_of(&app.sink().wait_for("owner@example.com", 1).await[0].link());

    let again = app
        .register("Owner", "Owner@Example.com", OTHER_PASSWORD)
        .await;
    assert_eq!(again.status(), 201);
    let user = json_body(again).await["user"].clone();
    assert_eq!(user["id"], first_id, "the same account, made over");
    assert_eq!(user["name"], "Owner");
    assert_eq!(app.store.users(10).await.unwrap().len(), 1);
    let mails = app.sink().wait_for("owner@example.com", 2).await;
    assert!(
        mails[1].text().starts_with("Hello Owner,"),
        "{}",
        mails[1].text()
    );
    let fresh = token_of(&mails[1].link());

    let refused = app.get_json(&format!("/verify?token={stale}")).await;
    assert_eq!(refused.status(), 400, "the first sign-up's link is dead");
    assert_eq!(json_body(refused).await["error"]["code"], "invalid_token");
    let verified = app.get_json(&format!("/verify?token={fresh}")).await;
    assert_eq!(verified.status(), 200);
    assert_eq!(
        json_body(verified).await["user"]["email"],
        "Owner@example.com"
    );
    assert_eq!(app.login("owner@example.com", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("owner@example.com", OTHER_PASSWORD)
            .await
            .status(),
        200
    );

    let owner = &app.store.users(1).await.unwrap()[0];
    let trail = app.store.audit_trail(Some(owner.id), 100).await.unwrap();
    let registered: Vec<_> = trail
        .iter()
        .filter(|e| e.event == "user.registered")
        .map(|e| e.detail.as_deref())
        .collect();
    assert_eq!(registered.len(), 2, "{trail:?}");
    assert!(
        registered.contains(&Some(latchkey::store::REPLACED_SIGN_UP)),
        "{trail:?}"
    );
}

/// The replaced sign-up's email, still waiting for a mail server that is
/// down, is cancelled (its body erased) with its link: only the new one is
/// ever delivered.
async fn a_replaced_sign_up_s_unsent_link_is_never_sent(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        let port = crate::helpers::MailSink::unused_port();
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    for (name, password) in [("Mallory", PASSWORD), ("Owner", OTHER_PASSWORD)] {
        let response = app.register(name, "owner@example.com", password).await;
        assert_eq!(response.status(), 201);
    }
    let mut statuses: Vec<String> = app
        .store
        .messages(10)
        .await
        .unwrap()
        .into_iter()
        .map(|message| message.status)
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["cancelled", "pending"]);
}

/// Every racer is answered 201 and the address keeps one account, that of
/// whichever sign-up the database ordered last: its name, its password, and
/// its link alone. On PostgreSQL a racer that committed after another's
/// snapshot is not seen by that one's revocation; the account's date is
/// what stops its link.
async fn concurrent_sign_ups_of_one_address_leave_one_account_and_one_working_link(
    backend: Backend,
) {
    // The database decides the race, not the quotas (5 an hour per address).
    let app = TestApp::spawn_configured(backend, |config| {
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
    let users = app.store.users(100).await.unwrap();
    assert_eq!(users.len(), 1);
    let last = users[0].name.as_str().to_owned();

    app.outbox_settled().await;
    let mails = app.sink().received_for("race@example.com");
    let (winner, losers): (Vec<_>, Vec<_>) = mails
        .iter()
        .partition(|mail| mail.text().starts_with(&format!("Hello {last},")));
    assert_eq!(
        winner.len(),
        1,
        "the last sign-up's email is never cancelled"
    );
    for mail in &losers {
        let response = app
            .get_json(&format!("/verify?token={}", token_of(&mail.link())))
            .await;
        assert_eq!(response.status(), 400, "{last} won, yet {}", mail.text());
    }
    let response = app
        .get_json(&format!("/verify?token={}", token_of(&winner[0].link())))
        .await;
    assert_eq!(response.status(), 200);
    let number = last.trim_start_matches("Racer ");
    assert_eq!(
        app.login("race@example.com", &format!("{PASSWORD} {number}"))
            .await
            .status(),
        200
    );
}

/// Under enumeration protection every sign-up of an active account's
/// address is answered like a new one, and each one's notice is written.
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
    app.signed_up("race@example.com").await;
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
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("signup_attempt"), 20, "{kinds:?}");
    assert_eq!(count("verify_email"), 1, "the first sign-up's: {kinds:?}");
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
                    .json(&json!({ "name": format!("Racer {i}"), "email": "race@example.com", "password": format!("{PASSWORD} {i}") }))
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
