use std::time::Duration;

use crate::helpers::{Backend, TestApp, both_backends, json_body, token_of};
use crate::tokens::{part, status_with_bearer, user_id};

both_backends!(
    a_link_opened_twice_reports_already_verified,
    the_link_that_signs_in_carries_an_access_token,
    an_expired_link_is_410_and_activates_nothing,
    unknown_and_malformed_tokens_are_400,
    simultaneous_clicks_activate_once,
    the_account_active_notice_arrives_once,
    healthz_answers_when_ready,
);

async fn a_link_opened_twice_reports_already_verified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = token_of(&app.register_and_get_link("scan@example.com").await);
    let path = format!("/verify?token={token}");
    let first = json_body(app.get_json(&path).await).await;
    assert_eq!(first["already_verified"], false);
    // A mail scanner got there first; the person clicking later is not told it failed.
    let second = app.get_json(&path).await;
    assert_eq!(second.status(), 200);
    let second = json_body(second).await;
    assert_eq!(second["already_verified"], true);
    assert_eq!(second["user"]["status"], "active");
}

async fn the_link_that_signs_in_carries_an_access_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = token_of(&app.register_and_get_link("jwt-link@example.com").await);
    let path = format!("/verify?token={token}");
    let first = json_body(app.get_json(&path).await).await;
    assert_eq!(first["token_type"], "Bearer", "{first}");
    assert_eq!(first["expires_in"], 900);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(status_with_bearer(&app, access).await, 200);
    let user = user_id(&first["user"]["id"]);
    let session = app.store.sessions_of(user).await.unwrap()[0].id;
    assert_eq!(part(access, 1)["sid"], session.to_string());

    // A second use signs nobody in, so it hands out no token either.
    let second = json_body(app.get_json(&path).await).await;
    assert_eq!(second["already_verified"], true);
    for field in ["access_token", "token_type", "expires_in"] {
        assert!(second.get(field).is_none(), "{second}");
    }

    // Nor does a first use that must be followed by setting up a factor.
    let app = TestApp::spawn_configured(backend, |config| {
        config.mfa = latchkey::domain::MfaPolicy::Required;
    })
    .await;
    let token = token_of(&app.register_and_get_link("jwt-mfa@example.com").await);
    let first = json_body(app.get_json(&format!("/verify?token={token}")).await).await;
    assert_eq!(first["already_verified"], false);
    assert!(first.get("access_token").is_none(), "{first}");
}

async fn an_expired_link_is_410_and_activates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = token_of(&app.register_and_get_link("late@example.com").await);
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    let response = app.get_json(&format!("/verify?token={token}")).await;
    assert_eq!(response.status(), 410);
    assert_eq!(json_body(response).await["error"]["code"], "token_expired");
    let user = app.store.users(1).await.unwrap().remove(0);
    assert_eq!(user.status, latchkey::domain::UserStatus::Pending);
}

async fn unknown_and_malformed_tokens_are_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unknown = latchkey::domain::VerificationToken::generate().encode();
    for path in [
        format!("/verify?token={unknown}"),
        "/verify?token=short".to_owned(),
        "/verify".to_owned(),
        "/verify?token=".to_owned(),
        "/verify?token=%ZZ%".to_owned(),
        format!("/verify?token={}", "%F0%9F%92%A9".repeat(20)),
    ] {
        let response = app.get_json(&path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(
            json_body(response).await["error"]["code"],
            "invalid_token",
            "{path}"
        );
    }
}

async fn simultaneous_clicks_activate_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = token_of(&app.register_and_get_link("double@example.com").await);
    let clicks: Vec<_> = (0..8)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url(&format!("/verify?token={token}"));
            tokio::spawn(async move {
                client
                    .get(url)
                    .header("accept", "application/json")
                    .send()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut fresh = 0;
    for click in clicks {
        let body = click.await.unwrap();
        assert_eq!(body["user"]["status"], "active");
        if body["already_verified"] == false {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    let trail = app.store.audit_trail(None, 100).await.unwrap();
    assert_eq!(
        trail
            .iter()
            .filter(|r| r.event == "verification.succeeded")
            .count(),
        1
    );
    assert_eq!(
        trail
            .iter()
            .filter(|r| r.event == "session.started")
            .count(),
        1,
        "only the click that activated signs in"
    );
    app.sink()
        .wait_for_subject("double@example.com", "Your account is active", 1)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.sink().received_for("double@example.com").len(),
        2,
        "the link and one notice, however many clicks"
    );
}

async fn the_account_active_notice_arrives_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = app.register_and_get_link("notice@example.com").await;
    let token = token_of(&link);
    let path = format!("/verify?token={token}");
    assert_eq!(
        json_body(app.get_json(&path).await).await["already_verified"],
        false
    );
    let notices = app
        .sink()
        .wait_for_subject("notice@example.com", "Your account is active", 1)
        .await;
    let notice = &notices[0];
    assert!(
        notice.text().contains("Hello Ada Lovelace"),
        "{}",
        notice.text()
    );
    assert!(
        notice.text().contains(&format!(
            "{}/login",
            app.config.public_url.as_str().trim_end_matches('/')
        )),
        "{}",
        notice.text()
    );
    assert!(notice.html().contains("Your account is active"));
    assert!(
        !notice.text().contains(&token) && !notice.html().contains(&token),
        "the notice carries no live link"
    );

    // The link opened again (a second click, a mail scanner): no second notice.
    assert_eq!(
        json_body(app.get_json(&path).await).await["already_verified"],
        true
    );
    app.state_wake();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = app.sink().received_for("notice@example.com");
    let subjects: Vec<String> = mails.iter().map(|mail| mail.subject()).collect();
    assert_eq!(
        subjects,
        ["Confirm your email address", "Your account is active"],
        "exactly one notice"
    );
    let queued = app.store.messages(10).await.unwrap();
    assert_eq!(
        queued.iter().filter(|m| m.kind == "account_active").count(),
        1
    );
    let trail = app.store.audit_trail(None, 100).await.unwrap();
    assert!(
        trail.iter().any(|r| r.event == "email.queued"
            && r.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("account_active "))),
        "{trail:?}"
    );
}

async fn healthz_answers_when_ready(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get_json("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["status"], "ok");
}
