use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, token_of};

both_backends!(the_trail_records_each_step_and_no_secret);

async fn the_trail_records_each_step_and_no_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client
        .post(app.url("/register"))
        .header("user-agent", "audit-test/1.0")
        .json(&json!({ "name": "Ada", "email": "trail@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let token = token_of(&app.sink().wait_for("trail@example.com", 1).await[0].link());
    app.get_json("/verify?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    app.get_json(&format!("/verify?token={token}")).await;

    let trail = app.store.audit_trail(None, 100).await.unwrap();
    let events: Vec<(&str, &str)> = trail
        .iter()
        .map(|r| (r.event.as_str(), r.outcome.as_str()))
        .collect();
    for expected in [
        ("user.registered", "success"),
        ("email.queued", "success"),
        ("email.sent", "success"),
        ("verification.failed", "failure"),
        ("verification.succeeded", "success"),
    ] {
        assert!(
            events.contains(&expected),
            "{expected:?} missing from {events:?}"
        );
    }
    let registered = trail.iter().find(|r| r.event == "user.registered").unwrap();
    assert_eq!(registered.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(registered.user_agent.as_deref(), Some("audit-test/1.0"));
    assert!(registered.user_id.is_some());

    let everything = serde_json::to_string(&trail).unwrap();
    assert!(
        !everything.contains(PASSWORD),
        "no password in the audit trail"
    );
    assert!(!everything.contains(&token), "no token in the audit trail");
}
