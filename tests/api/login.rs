use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie};

both_backends!(
    login_starts_a_fresh_session,
    wrong_password_and_unknown_email_look_the_same,
    a_pending_account_learns_it_only_with_the_right_password,
    sessions_can_be_listed_and_revoked,
);

async fn login_starts_a_fresh_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_up("login@example.com").await;
    let response = app.login("LOGIN@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let session = set_cookie(&response, "latchkey_session").expect("a session cookie");
    let body = json_body(response).await;
    assert_eq!(body["status"], "authenticated");
    assert_eq!(body["user"]["email"], "login@example.com");
    let cookie = format!("latchkey_session={session}");
    assert_ne!(cookie, first, "a new session id at every login");
    let me = app
        .client
        .get(app.url("/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // The proof, then the session it opened, both the account's, in the
    // order they happened (PostgreSQL writes them in one statement).
    let trail = app.store.audit_trail(None, 100).await.unwrap();
    let events: Vec<&str> = trail.iter().map(|r| r.event.as_str()).collect();
    let proof = events
        .iter()
        .rposition(|event| *event == "login.succeeded")
        .unwrap_or_else(|| panic!("no login.succeeded in {events:?}"));
    let started = &trail[proof + 1];
    assert_eq!(started.event, "session.started", "{events:?}");
    assert_eq!(started.user_id, trail[proof].user_id);
    assert!(started.user_id.is_some());
    assert_eq!(started.ip.as_deref(), Some("127.0.0.1"));
}

async fn wrong_password_and_unknown_email_look_the_same(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("known@example.com").await;
    let wrong = app
        .login("known@example.com", "not the password at all")
        .await;
    let unknown = app.login("unknown@example.com", PASSWORD).await;
    let garbage = app
        .post_json("/login", &json!({ "email": "not an email" }))
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(garbage.status(), 401);
    let wrong = json_body(wrong).await;
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
    assert_eq!(wrong, json_body(unknown).await);
    assert_eq!(wrong, json_body(garbage).await);
    let trail = app.store.audit_trail(None, 100).await.unwrap();
    assert_eq!(
        trail.iter().filter(|r| r.event == "login.failed").count(),
        3
    );
}

async fn a_pending_account_learns_it_only_with_the_right_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.register("Ada", "pending@example.com", PASSWORD)
            .await
            .status(),
        201
    );
    let wrong = app
        .login("pending@example.com", "not the password at all")
        .await;
    assert_eq!(wrong.status(), 401);
    let right = app.login("pending@example.com", PASSWORD).await;
    assert_eq!(right.status(), 403);
    assert_eq!(
        json_body(right).await["error"]["code"],
        "email_not_verified"
    );
}

async fn sessions_can_be_listed_and_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let phone = app.signed_up("many@example.com").await;
    let laptop = app.login("many@example.com", PASSWORD).await;
    let laptop = format!(
        "latchkey_session={}",
        set_cookie(&laptop, "latchkey_session").unwrap()
    );
    let listed = app
        .client
        .get(app.url("/sessions"))
        .header("cookie", &laptop)
        .send()
        .await
        .unwrap();
    let listed = json_body(listed).await;
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1"));
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = app
        .client
        .delete(app.url(&format!("/sessions/{other}")))
        .header("cookie", &laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    assert_eq!(
        app.client
            .get(app.url("/me"))
            .header("cookie", &phone)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let again = app
        .client
        .delete(app.url(&format!("/sessions/{other}")))
        .header("cookie", &laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    // Someone else's session id cannot be revoked either.
    let stranger = app.signed_up("stranger@example.com").await;
    let mine = json_body(
        app.client
            .get(app.url("/sessions"))
            .header("cookie", &laptop)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let my_id = mine["sessions"][0]["id"].as_str().unwrap().to_owned();
    let attempt = app
        .client
        .delete(app.url(&format!("/sessions/{my_id}")))
        .header("cookie", &stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(attempt.status(), 404);
    assert_eq!(
        app.client
            .get(app.url("/me"))
            .header("cookie", &laptop)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
