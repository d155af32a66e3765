//! An operator voids a password that leaked (`POST
//! /admin/users/{id}/password/reset`, `latchkey users reset-password`): it
//! stops working at once, so do the sessions and the links that rested on
//! it, and only the link emailed to the account sets a new one.

use serde_json::json;

use crate::admin::{KEY, with_key};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};

both_backends!(
    an_operator_voids_a_password_and_only_the_emailed_link_sets_a_new_one,
    the_cli_voids_a_password_without_showing_the_link,
);

const SUBJECT: &str = "Your password was reset by an administrator";
const NEW_PASSWORD: &str = "amber kestrel outpaces 7 glaciers";

async fn force(app: &TestApp, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/admin/users/{id}/password/reset")))
        .header("authorization", format!("Bearer {KEY}"))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, header: (&str, String)) -> u16 {
    app.client
        .get(app.url("/me"))
        .header(header.0, header.1)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> u16 {
    app.post_json(
        "/password/reset/confirm",
        &json!({ "token": token, "password": password }),
    )
    .await
    .status()
    .as_u16()
}

async fn id_of(app: &TestApp, email: &str) -> String {
    app.store
        .user_by_email(&latchkey::domain::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

async fn an_operator_voids_a_password_and_only_the_emailed_link_sets_a_new_one(backend: Backend) {
    let app = with_key(backend).await;
    let cookie = app.signed_up("ann@example.com").await;
    let login = json_body(app.login("ann@example.com", PASSWORD).await).await;
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    // A reset link the owner (or whoever has the password) asked for before.
    app.post_json("/password/reset", &json!({ "email": "ann@example.com" }))
        .await;
    let earlier = app
        .sink()
        .wait_for_subject("ann@example.com", "Reset your password", 1)
        .await;
    let earlier = token_of(&earlier[0].link());

    let id = id_of(&app, "ann@example.com").await;
    let response = force(&app, &id).await;
    assert_eq!(response.status(), 202);
    let body = json_body(response).await;
    assert_eq!(body["revoked"], 2, "{body}");
    assert!(body["expires_at"].is_string(), "{body}");

    // The old password, the sessions, their tokens and the earlier link: all dead.
    assert_eq!(me(&app, ("cookie", cookie)).await, 401);
    assert_eq!(me(&app, ("authorization", bearer)).await, 401);
    assert_eq!(app.login("ann@example.com", PASSWORD).await.status(), 401);
    assert_eq!(confirm(&app, &earlier, NEW_PASSWORD).await, 400);

    let mails = app
        .sink()
        .wait_for_subject("ann@example.com", SUBJECT, 1)
        .await;
    let token = token_of(&mails[0].link());
    assert_eq!(confirm(&app, &token, NEW_PASSWORD).await, 200);
    assert_eq!(
        app.login("ann@example.com", NEW_PASSWORD).await.status(),
        200
    );

    let trail = app.store.audit_trail(None, 1000).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|record| record.event == "password.reset_forced"
                && record.detail.as_deref() == Some("by an operator; 2 sessions ended")),
        "{:?}",
        trail.iter().map(|r| &r.event).collect::<Vec<_>>()
    );

    // Unknown and disabled accounts are refused, and change nothing.
    assert_eq!(
        force(&app, &uuid::Uuid::now_v7().to_string())
            .await
            .status(),
        404
    );
    app.client
        .post(app.url(&format!("/admin/users/{id}/disable")))
        .header("authorization", format!("Bearer {KEY}"))
        .send()
        .await
        .unwrap();
    let refused = force(&app, &id).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        json_body(refused).await["error"]["code"],
        "account_disabled"
    );
}

async fn the_cli_voids_a_password_without_showing_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("bob@example.com").await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
        .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"))
        .args(["users", "reset-password", "bob@example.com"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("1 sessions ended"), "{printed}");
    assert_eq!(me(&app, ("cookie", cookie)).await, 401);
    assert_eq!(app.login("bob@example.com", PASSWORD).await.status(), 401);

    app.state_wake();
    let mails = app
        .sink()
        .wait_for_subject("bob@example.com", SUBJECT, 1)
        .await;
    let token = token_of(&mails[0].link());
    assert!(!printed.contains(&token), "{printed}");
    assert_eq!(confirm(&app, &token, NEW_PASSWORD).await, 200);
    assert_eq!(
        app.login("bob@example.com", NEW_PASSWORD).await.status(),
        200
    );
}
