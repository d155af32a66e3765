//! An operator turns two-step verification off for an owner who lost every
//! factor (`DELETE /admin/users/{id}/mfa`, `latchkey users reset-mfa`): the
//! factors, recovery codes, sessions and waiting logins go, the password
//! stays, and the owner is told.

use serde_json::{Value, json};

use crate::admin::{KEY, with_key};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};
use crate::mfa::enrol_totp;

both_backends!(
    an_operator_turns_off_two_step_verification_for_an_owner_who_lost_it,
    the_cli_turns_off_two_step_verification,
);

const SUBJECT: &str = "Two-step verification was turned off on your account";

async fn reset(app: &TestApp, id: &str, key: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/admin/users/{id}/mfa")))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap()
}

async fn id_of(app: &TestApp, email: &str) -> latchkey::domain::UserId {
    app.store
        .user_by_email(&latchkey::domain::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn login(app: &TestApp, email: &str) -> Value {
    let response = app.login(email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    json_body(response).await
}

async fn me(app: &TestApp, cookie: &str) -> u16 {
    app.client
        .get(app.url("/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn an_operator_turns_off_two_step_verification_for_an_owner_who_lost_it(backend: Backend) {
    let app = with_key(backend).await;
    let email = "lost-phone@example.com";
    let cookie = app.signed_up(email).await;
    let (_secret, recovery, _) = enrol_totp(&app, &cookie).await;
    // A login waiting for its second factor, perhaps not the owner's.
    let waiting = login(&app, email).await;
    assert_eq!(waiting["status"], "mfa_required", "{waiting}");
    let id = id_of(&app, email).await;

    assert_eq!(
        reset(&app, &id.to_string(), "wrong key").await.status(),
        401
    );
    assert_eq!(app.store.factors_of(id).await.unwrap().len(), 1);

    let answer = reset(&app, &id.to_string(), KEY).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        json_body(answer).await,
        json!({"removed": ["totp"], "revoked": 1})
    );

    // Factors, codes, the session and the waiting login are gone...
    assert!(app.store.factors_of(id).await.unwrap().is_empty());
    assert_eq!(app.store.recovery_codes_left(id).await.unwrap(), 0);
    assert_eq!(me(&app, &cookie).await, 401);
    let late = app
        .post_json(
            "/mfa/verify",
            &json!({"mfa_token": waiting["mfa_token"], "code": recovery[0]}),
        )
        .await;
    assert_eq!(late.status(), 410);
    // ...the password stays, and is all a sign-in asks for now.
    let again = login(&app, email).await;
    assert_eq!(again["status"], "authenticated", "{again}");

    let mails = app.sink().wait_for_subject(email, SUBJECT, 1).await;
    assert!(mails[0].text().contains("signed out everywhere"));
    let trail = app.store.audit_trail(Some(id), 1000).await.unwrap();
    assert!(
        trail.iter().any(|record| record.event == "mfa.reset"
            && record.detail.as_deref() == Some("by an operator; removed totp; 1 sessions ended")),
        "{trail:?}"
    );
    let activity = app
        .client
        .get(app.url("/me/activity"))
        .header(
            "authorization",
            format!("Bearer {}", again["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    let activity = json_body(activity).await;
    assert_eq!(activity["events"][1]["event"], "mfa.reset", "{activity}");
    assert_eq!(
        activity["events"][1]["description"],
        "Two-step verification turned off by an administrator"
    );

    // Nothing left to remove: nothing changes, nobody is emailed again.
    let answer = reset(&app, &id.to_string(), KEY).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        json_body(answer).await,
        json!({"removed": [], "revoked": 0})
    );
    app.outbox_settled().await;
    let told = app
        .sink()
        .received_for(email)
        .iter()
        .filter(|mail| mail.subject() == SUBJECT)
        .count();
    assert_eq!(told, 1);
    let unknown = reset(&app, &uuid::Uuid::now_v7().to_string(), KEY).await;
    assert_eq!(unknown.status(), 404);
}

async fn the_cli_turns_off_two_step_verification(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "cli-lost@example.com";
    let cookie = app.signed_up(email).await;
    enrol_totp(&app, &cookie).await;
    let run = |address: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
            .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"))
            .args(["users", "reset-mfa", address])
            .output()
            .unwrap()
    };
    let output = run(email);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("removed totp"), "{printed}");
    assert!(printed.contains("1 sessions ended"), "{printed}");
    assert_eq!(me(&app, &cookie).await, 401);
    assert_eq!(login(&app, email).await["status"], "authenticated");
    app.state_wake();
    app.sink().wait_for_subject(email, SUBJECT, 1).await;

    let unknown = run("nobody@example.com");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account has this email address"));
}
