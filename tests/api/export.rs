//! `GET /me/export`: everything held about the account, for its owner, from
//! a recent sign-in, and never a secret.

use serde_json::json;

use crate::browser::Visitor;
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};
use crate::mfa::enrol_totp;
use crate::tokens::verified_person;

both_backends!(
    the_owner_downloads_everything_held_without_a_secret,
    the_download_needs_a_recent_sign_in_by_cookie,
);

async fn export(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.client
        .get(app.url("/me/export"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn the_owner_downloads_everything_held_without_a_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "export@example.com").await;
    let (secret, recovery, _) = enrol_totp(&app, &ada.cookie).await;
    assert_eq!(
        app.login("export@example.com", "not the password at all")
            .await
            .status(),
        401
    );

    let answer = export(&app, &ada.cookie).await;
    assert_eq!(answer.status(), 200);
    let disposition = answer.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"latchkey-data-"),
        "{disposition}"
    );
    let raw = answer.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(body["account"]["email"], "export@example.com");
    assert_eq!(body["account"]["status"], "active");
    assert!(body["account"]["verified_at"].is_string(), "{body}");
    assert_eq!(body["second_factors"][0]["method"], "totp");
    assert_eq!(body["recovery_codes_left"], 10);
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1);
    let trail: Vec<&str> = body["audit_trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["event"].as_str().unwrap())
        .collect();
    assert_eq!(trail.first(), Some(&"user.registered"), "{trail:?}");
    assert_eq!(trail.last(), Some(&"user.data_exported"), "{trail:?}");
    assert!(trail.contains(&"login.failed"), "{trail:?}");
    assert!(trail.contains(&"mfa.factor_added"), "{trail:?}");

    // No secret rides along: the TOTP key, a recovery code, the password,
    // the session cookie's secret.
    let session_secret = ada.cookie.split_once('=').unwrap().1;
    for secret in [
        secret.as_str(),
        recovery[0].as_str(),
        PASSWORD,
        session_secret,
    ] {
        assert!(!raw.contains(secret), "{secret} in {raw}");
    }
    assert!(!raw.contains("password_hash"), "{raw}");

    // Someone else's download is their own.
    let bob = verified_person(&app, "other@example.com").await;
    let bobs = json_body(export(&app, &bob.cookie).await).await;
    assert_eq!(bobs["account"]["email"], "other@example.com");
    assert_eq!(bobs["second_factors"], json!([]));
    assert!(!bobs.to_string().contains("export@example.com"));
}

async fn the_download_needs_a_recent_sign_in_by_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let person = verified_person(&app, "stale-export@example.com").await;
    let token = json_body(app.post_as(&person.cookie, "/token", &json!({})).await).await;
    // An access token is not enough: a leaked one must not carry the trail away.
    let by_token = app
        .client
        .get(app.url("/me/export"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 401);

    let (browser, _) = Visitor::open(&app, "/login").await;
    let mut browser = browser.with(&person.cookie);
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("href=\"/me/export\""), "{html}");

    app.clock.advance(std::time::Duration::from_secs(11 * 60));
    let stale = export(&app, &person.cookie).await;
    assert_eq!(stale.status(), 403);
    assert_eq!(
        json_body(stale).await["error"]["code"],
        "reauthentication_required"
    );
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(!html.contains("href=\"/me/export\""), "{html}");
    assert!(html.contains("To download your data"), "{html}");
}
