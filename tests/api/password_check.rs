//! `POST /password/check`, the sign-up page's verdict, agrees with
//! `POST /register` on every password of the shared list.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both_backends, json_body};

both_backends!(password_check_agrees_with_register);

/// Passwords on both sides of each rule, shared with the browser suite
/// (e2e/agreement.test.mjs feeds the same list to the page). The page's
/// verdict comes from /password/check, so it must say what /register says.
const PASSWORDS: &str = include_str!("../../e2e/passwords.json");

async fn password_check_agrees_with_register(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let passwords: Vec<String> = serde_json::from_str(PASSWORDS).unwrap();
    for (i, password) in passwords.iter().enumerate() {
        let email = format!("ada{i}@example.com");
        let check = app
            .post_json(
                "/password/check",
                &json!({ "password": password, "name": "Ada Lovelace", "email": email }),
            )
            .await;
        assert_eq!(check.status(), 200);
        let verdict = json_body(check).await;
        let score = verdict["score"].as_u64().unwrap();
        assert!(score <= 4);
        let register = app.register("Ada Lovelace", &email, password).await;
        let status = register.status().as_u16();
        let body = json_body(register).await;
        if verdict["ok"] == true {
            assert_eq!(status, 201, "{password:?}: {body}");
            assert!(verdict["errors"].as_array().unwrap().is_empty());
        } else {
            assert_eq!(status, 422, "{password:?}: {verdict}");
            let codes = |errors: &Value| -> Vec<String> {
                errors
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["code"].as_str().unwrap().to_owned())
                    .collect()
            };
            assert_eq!(
                codes(&verdict["errors"]),
                codes(&body["error"]["fields"]["password"]),
                "{password:?}"
            );
        }
    }
    // Too long is refused without scoring.
    let long = "a".repeat(300);
    let verdict = json_body(
        app.post_json("/password/check", &json!({ "password": long }))
            .await,
    )
    .await;
    assert_eq!(verdict["ok"], false);
    assert_eq!(verdict["score"], 0);
    assert_eq!(verdict["errors"][0]["code"], "too_long");
    // Bodies over 64 KiB are refused unread.
    let huge = "a".repeat(70 * 1024);
    let refused = app
        .post_json("/password/check", &json!({ "password": huge }))
        .await;
    assert_eq!(refused.status(), 413);
    assert_eq!(
        json_body(refused).await["error"]["code"],
        "payload_too_large"
    );
}
