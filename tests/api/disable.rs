//! An operator disables an account and gives it back: through the admin
//! API and the command line. Disabled, nothing the account held works and
//! nothing lets it back in; enabled, its owner signs in again.

use std::process::Command;

use latchkey::domain::{EmailAddress, UserId};
use serde_json::{Value, json};

use crate::admin::{KEY, with_key};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};

both_backends!(
    a_disabled_account_loses_everything_it_held_until_enabled,
    a_disabled_account_gets_no_way_back_in,
    disabling_needs_the_key_and_a_known_account,
    the_cli_disables_and_enables_an_account,
);

async fn admin_post(app: &TestApp, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = app.client.post(app.url(path));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.send().await.unwrap()
}

async fn set(app: &TestApp, id: UserId, action: &str) -> Value {
    let response = admin_post(app, &format!("/admin/users/{id}/{action}"), Some(KEY)).await;
    assert_eq!(response.status(), 200, "{action}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    json_body(response).await
}

async fn id_of(app: &TestApp, email: &str) -> UserId {
    let email = EmailAddress::parse(email).unwrap();
    app.store.user_by_email(&email).await.unwrap().unwrap().id
}

async fn me_with(app: &TestApp, header: (&str, &str)) -> u16 {
    let response = app
        .client
        .get(app.url("/me"))
        .header(header.0, header.1)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

async fn events(app: &TestApp, id: UserId) -> Vec<(String, Option<String>)> {
    let trail = app.store.audit_trail(Some(id), 500).await.unwrap();
    trail
        .into_iter()
        .map(|record| (record.event, record.detail))
        .collect()
}

async fn a_disabled_account_loses_everything_it_held_until_enabled(backend: Backend) {
    let app = with_key(backend).await;
    let email = "held@example.com";
    let cookie = app.signed_up(email).await;
    let other = app.signed_up("other@example.com").await;
    let login = json_body(app.login(email, PASSWORD).await).await;
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    assert_eq!(me_with(&app, ("cookie", &cookie)).await, 200);
    assert_eq!(me_with(&app, ("authorization", &bearer)).await, 200);
    let id = id_of(&app, email).await;

    let disabled = set(&app, id, "disable").await;
    assert_eq!(disabled["user"]["status"], "disabled");
    assert_eq!(disabled["user"]["email"], email);
    assert_eq!(me_with(&app, ("cookie", &cookie)).await, 401);
    assert_eq!(me_with(&app, ("authorization", &bearer)).await, 401);
    assert_eq!(
        me_with(&app, ("cookie", &other)).await,
        200,
        "others keep theirs"
    );

    // Only the right password learns why.
    let refused = app.login(email, PASSWORD).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        json_body(refused).await["error"]["code"],
        "account_disabled"
    );
    let wrong = app.login(email, "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        json_body(wrong).await["error"]["code"],
        "invalid_credentials"
    );

    // Listed as disabled; twice changes nothing more.
    let listed = json_body(
        app.client
            .get(app.url("/admin/users?status=disabled"))
            .header("authorization", format!("Bearer {KEY}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let listed: Vec<&Value> = listed["users"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["email"], email);
    assert_eq!(set(&app, id, "disable").await["user"]["status"], "disabled");

    let enabled = set(&app, id, "enable").await;
    assert_eq!(enabled["user"]["status"], "active");
    assert_eq!(
        me_with(&app, ("cookie", &cookie)).await,
        401,
        "what ended stays ended"
    );
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);
    let trail = events(&app, id).await;
    let kinds: Vec<&str> = trail.iter().map(|(event, _)| event.as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "user.disabled")
            .count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"user.enabled"), "{kinds:?}");
    assert!(
        trail.contains(&(
            "login.failed".to_owned(),
            Some("account disabled".to_owned())
        )),
        "{trail:?}"
    );
}

async fn a_disabled_account_gets_no_way_back_in(backend: Backend) {
    let app = with_key(backend).await;
    // Active, with a reset link and a change of address under way.
    let email = "locked-out@example.com";
    let cookie = app.signed_up(email).await;
    let reset = app
        .post_json("/password/reset", &json!({ "email": email }))
        .await;
    assert_eq!(reset.status(), 202);
    let reset_link = app
        .sink()
        .wait_for_subject(email, "Reset your password", 1)
        .await[0]
        .link();
    let change = app
        .post_as(
            &cookie,
            "/email/change",
            &json!({ "email": "elsewhere@example.com", "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(change.status(), 202);
    let change_link = app
        .sink()
        .wait_for_subject("elsewhere@example.com", "Confirm your new email address", 1)
        .await[0]
        .link();
    // Pending, with its verification link unused.
    let pending = "never-verified@example.com";
    let verify_link = app.register_and_get_link(pending).await;

    let id = id_of(&app, email).await;
    set(&app, id, "disable").await;
    let pending_id = id_of(&app, pending).await;
    assert_eq!(
        set(&app, pending_id, "disable").await["user"]["status"],
        "disabled"
    );

    const NEW_PASSWORD: &str = "quartz lanterns drift over 17 harbours";
    let used = app
        .post_json(
            "/password/reset/confirm",
            &json!({ "token": token_of(&reset_link), "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(used.status(), 400, "the reset link died with the access");
    let moved = app
        .post_json(
            "/email/confirm",
            &json!({ "token": token_of(&change_link) }),
        )
        .await;
    assert_eq!(moved.status(), 400, "so did the change of address");
    let verified = app
        .get_json(&format!("/verify?token={}", token_of(&verify_link)))
        .await;
    assert_eq!(verified.status(), 400, "and the verification link");

    // A new reset sends nothing (and answers as for any address).
    let again = app
        .post_json("/password/reset", &json!({ "email": email }))
        .await;
    assert_eq!(again.status(), 202);
    // The work runs just after the answer: wait for its trail entry.
    let refused = (
        "password.reset_requested".to_owned(),
        Some("account disabled".to_owned()),
    );
    for _ in 0..100 {
        if events(&app, id).await.contains(&refused) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(events(&app, id).await.contains(&refused));
    app.outbox_settled().await;
    let resets = app
        .sink()
        .received_for(email)
        .into_iter()
        .filter(|mail| mail.subject() == "Reset your password")
        .count();
    assert_eq!(resets, 1, "only the one sent before");

    // Given back, the pending account can be verified with a new link.
    assert_eq!(
        set(&app, pending_id, "enable").await["user"]["status"],
        "pending"
    );
    let resend = app
        .post_json("/verify/resend", &json!({ "email": pending }))
        .await;
    assert_eq!(resend.status(), 202);
    let fresh = app
        .sink()
        .wait_for_subject(pending, "Confirm your email address", 2)
        .await[1]
        .link();
    let verified = app
        .get_json(&format!("/verify?token={}", token_of(&fresh)))
        .await;
    assert_eq!(verified.status(), 200);
}

async fn disabling_needs_the_key_and_a_known_account(backend: Backend) {
    let app = with_key(backend).await;
    let cookie = app.signed_up("kept@example.com").await;
    let id = id_of(&app, "kept@example.com").await;
    for action in ["disable", "enable"] {
        let path = format!("/admin/users/{id}/{action}");
        assert_eq!(admin_post(&app, &path, None).await.status(), 401);
        assert_eq!(admin_post(&app, &path, Some("x")).await.status(), 401);
        let nobody = format!("/admin/users/{}/{action}", uuid::Uuid::now_v7());
        assert_eq!(admin_post(&app, &nobody, Some(KEY)).await.status(), 404);
        let junk = format!("/admin/users/not-an-id/{action}");
        assert_eq!(admin_post(&app, &junk, Some(KEY)).await.status(), 404);
    }
    assert_eq!(
        me_with(&app, ("cookie", &cookie)).await,
        200,
        "nothing changed"
    );

    // Without a configured key the paths do not exist.
    let keyless = TestApp::spawn(backend).await;
    let path = format!("/admin/users/{id}/disable");
    assert_eq!(admin_post(&keyless, &path, Some(KEY)).await.status(), 404);
}

async fn the_cli_disables_and_enables_an_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "cli-held@example.com";
    let cookie = app.signed_up(email).await;
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
            .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"))
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap() + &String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (ok, said) = run(&["users", "disable", "CLI-Held@example.com"]);
    assert!(ok, "{said}");
    assert!(said.contains("is disabled"), "{said}");
    assert_eq!(me_with(&app, ("cookie", &cookie)).await, 401);
    assert_eq!(app.login(email, PASSWORD).await.status(), 403);

    let (ok, said) = run(&["users", "enable", email]);
    assert!(ok, "{said}");
    assert!(said.contains("is active"), "{said}");
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);

    let (ok, said) = run(&["users", "disable", "nobody@example.com"]);
    assert!(!ok);
    assert!(said.contains("no account has this email address"), "{said}");
}
