//! An operator invites someone (`POST /admin/users`, `latchkey users
//! invite`): the account waits until its owner chooses a password with the
//! emailed link, which activates it; nobody signs in to it before.

use serde_json::{Value, json};

use crate::admin::{KEY, with_key};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};

both_backends!(
    an_invited_person_chooses_a_password_and_signs_in,
    an_invitation_refuses_a_taken_or_malformed_address,
    the_cli_invites_without_showing_the_link,
    closed_sign_up_leaves_invitations_the_only_way_in,
    a_sign_up_over_a_waiting_invitation_is_a_sign_up_like_any,
);

const SUBJECT: &str = "You are invited: choose your password";

async fn invite(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/admin/users"))
        .header("authorization", format!("Bearer {KEY}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The token of the `count`th invitation to `email`, once it arrived.
async fn invitation_token(app: &TestApp, email: &str, count: usize) -> String {
    let mails = app.sink().wait_for_subject(email, SUBJECT, count).await;
    let link = mails.last().unwrap().link();
    assert!(link.contains("/password/reset?token="), "{link}");
    token_of(&link)
}

async fn events_of(app: &TestApp) -> Vec<(String, Option<String>)> {
    app.store
        .audit_trail(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|record| (record.event, record.detail))
        .collect()
}

async fn an_invited_person_chooses_a_password_and_signs_in(backend: Backend) {
    let app = with_key(backend).await;
    let response = invite(
        &app,
        &json!({ "email": "grace@example.com", "name": "Grace Hopper" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body = json_body(response).await;
    assert_eq!(body["user"]["status"], "pending");
    assert_eq!(body["user"]["name"], "Grace Hopper");
    let expires_at: chrono::DateTime<chrono::Utc> = body["invitation"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let created_at: chrono::DateTime<chrono::Utc> = body["user"]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires_at - created_at, chrono::TimeDelta::days(7));

    // Before the link is used nobody signs in, whatever the password.
    for password in [PASSWORD, ""] {
        assert_eq!(app.login("grace@example.com", password).await.status(), 401);
    }

    // Asking for the verification link again sends the invitation again: a
    // verification link would activate the account without a password.
    let first = invitation_token(&app, "grace@example.com", 1).await;
    let resent = app
        .post_json("/verify/resend", &json!({ "email": "grace@example.com" }))
        .await;
    assert_eq!(resent.status(), 202);
    let token = invitation_token(&app, "grace@example.com", 2).await;
    assert_ne!(token, first);
    app.outbox_settled().await;
    assert!(
        app.sink()
            .received_for("grace@example.com")
            .iter()
            .all(|mail| mail.subject() == SUBJECT),
        "no verification link"
    );
    assert_eq!(
        app.post_json(
            "/password/reset/confirm",
            &json!({ "token": first, "password": PASSWORD }),
        )
        .await
        .status(),
        400,
        "the first link stopped working"
    );
    let page = app
        .client
        .get(app.url(&format!("/password/reset?token={token}")))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Choose your password"));
    let chosen = app
        .post_json(
            "/password/reset/confirm",
            &json!({ "token": token, "password": PASSWORD }),
        )
        .await;
    assert_eq!(chosen.status(), 200);
    let login = app.login("grace@example.com", PASSWORD).await;
    assert_eq!(login.status(), 200);
    // Taken up, the invitation's notice says the account is active.
    app.sink()
        .wait_for_subject("grace@example.com", "Your account is active", 1)
        .await;
    assert_eq!(json_body(login).await["user"]["status"], "active");

    let events = events_of(&app).await;
    let invited = events
        .iter()
        .position(|(event, detail)| {
            event == "user.invited" && detail.as_deref() == Some("by an operator")
        })
        .unwrap_or_else(|| panic!("{events:?}"));
    let verified = events
        .iter()
        .position(|(event, _)| event == "verification.succeeded")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!(invited < verified, "{events:?}");

    // Without a name, the address's local part stands in.
    let unnamed = json_body(invite(&app, &json!({ "email": "ada.l@example.com" })).await).await;
    assert_eq!(unnamed["user"]["name"], "ada.l");
}

async fn an_invitation_refuses_a_taken_or_malformed_address(backend: Backend) {
    let app = with_key(backend).await;
    app.signed_up("active@example.com").await;
    app.register("Pending Person", "pending@example.com", PASSWORD)
        .await;
    for taken in ["active@example.com", "PENDING@example.com"] {
        let response = invite(&app, &json!({ "email": taken })).await;
        assert_eq!(response.status(), 409, "{taken}");
        assert_eq!(json_body(response).await["error"]["code"], "email_taken");
    }
    let response = invite(
        &app,
        &json!({ "email": "not an address", "name": "\u{202e}x" }),
    )
    .await;
    assert_eq!(response.status(), 422);
    let fields = &json_body(response).await["error"]["fields"];
    assert!(
        fields["email"].is_array() && fields["name"].is_array(),
        "{fields}"
    );
    // Nothing was written for the refusals, and no key is no invitation.
    assert_eq!(app.store.users(10).await.unwrap().len(), 2);
    let response = app
        .client
        .post(app.url("/admin/users"))
        .json(&json!({ "email": "sneaky@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(app.store.users(10).await.unwrap().len(), 2);
}

async fn the_cli_invites_without_showing_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
        .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"))
        .args(["users", "invite", "Linus@Example.com", "--name", "Linus"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("invited Linus@example.com"), "{printed}");

    // The running instance sends it; the command never showed the link.
    app.state_wake();
    let token = invitation_token(&app, "linus@example.com", 1).await;
    assert!(!printed.contains(&token), "{printed}");
    let chosen = app
        .post_json(
            "/password/reset/confirm",
            &json!({ "token": token, "password": PASSWORD }),
        )
        .await;
    assert_eq!(chosen.status(), 200);
    assert_eq!(app.login("linus@example.com", PASSWORD).await.status(), 200);

    let again = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
        .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"))
        .args(["users", "invite", "linus@example.com"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already has this email address"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

async fn closed_sign_up_leaves_invitations_the_only_way_in(backend: Backend) {
    let sink = crate::helpers::MailSink::start(0);
    let port = sink.port;
    let mut app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.admin_api_key = Some(KEY.to_owned());
        config.registration = latchkey::domain::RegistrationMode::Invitation;
    })
    .await;
    app.mail = Some(sink);

    let response = app
        .register("Ada Lovelace", "ada@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        json_body(response).await["error"]["code"],
        "registration_closed"
    );
    let page = app
        .client
        .get(app.url("/signup"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign-up is by invitation"), "{html}");
    assert!(!html.contains("action=\"/register\""), "no form: {html}");
    assert!(app.store.users(10).await.unwrap().is_empty());

    assert_eq!(
        invite(&app, &json!({ "email": "ada@example.com", "name": "Ada" }))
            .await
            .status(),
        201
    );
    let token = invitation_token(&app, "ada@example.com", 1).await;
    let chosen = app
        .post_json(
            "/password/reset/confirm",
            &json!({ "token": token, "password": PASSWORD }),
        )
        .await;
    assert_eq!(chosen.status(), 200);
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 200);
}

/// Where sign-up is open, a sign-up of an invited address that nobody took
/// up replaces the waiting account, as it replaces any that nobody
/// verified: from then on a resend sends its verification link.
async fn a_sign_up_over_a_waiting_invitation_is_a_sign_up_like_any(backend: Backend) {
    let app = with_key(backend).await;
    assert_eq!(
        invite(&app, &json!({ "email": "dora@example.com" }))
            .await
            .status(),
        201
    );
    invitation_token(&app, "dora@example.com", 1).await;
    let signed_up = app.register("Dora", "dora@example.com", PASSWORD).await;
    assert_eq!(signed_up.status(), 201);
    app.post_json("/verify/resend", &json!({ "email": "dora@example.com" }))
        .await;
    // The sign-up's own email may have been cancelled unsent by the
    // resend: the newest verification link is the one that works.
    app.outbox_settled().await;
    let links: Vec<_> = app
        .sink()
        .received_for("dora@example.com")
        .into_iter()
        .filter(|mail| mail.subject() == "Confirm your email address")
        .collect();
    assert!(
        !links.is_empty(),
        "a verification link, not the invitation again"
    );
    let response = app
        .get_json(&format!(
            "/verify?token={}",
            token_of(&links.last().unwrap().link())
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.login("dora@example.com", PASSWORD).await.status(), 200);
    assert_eq!(
        app.sink()
            .received_for("dora@example.com")
            .iter()
            .filter(|mail| mail.subject() == SUBJECT)
            .count(),
        1,
        "the invitation was not sent again"
    );
}
