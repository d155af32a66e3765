//! The failed-login throttle: waits that grow with each failure, a lock at
//! the last one with the owner's way out, and a known device that a stranger
//! cannot lock.

use std::time::Duration;

use latchkey::Config;
use latchkey::limits::QuotaSetting;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie};

both_backends!(
    failed_logins_slow_down_then_lock_and_the_owner_can_unlock,
    a_known_device_is_not_locked_out_by_someone_else,
);

/// A fast schedule, and no per-account quota to blur it.
pub(crate) fn throttled(config: &mut Config) {
    config.limits.limit_login_per_account = QuotaSetting(None);
    config.limits.login_free_failures = 2;
    config.limits.login_max_delay = Duration::from_secs(4);
    config.limits.login_lockout_failures = 6;
}

/// Tries a wrong password once the wait is over; returns the status.
async fn fail_once(app: &TestApp, email: &str) -> u16 {
    let first = app.login(email, "wrong password here").await;
    if first.status() != 429 {
        return first.status().as_u16();
    }
    let wait = first.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    app.clock.advance(Duration::from_secs(wait));
    app.login(email, "wrong password here")
        .await
        .status()
        .as_u16()
}

async fn failed_logins_slow_down_then_lock_and_the_owner_can_unlock(backend: Backend) {
    let app = TestApp::spawn_configured(backend, throttled).await;
    app.signed_up("owner@example.com").await;
    let mut waits = Vec::new();
    for email in ["owner@example.com", "ghost@example.com"] {
        let mut seen = Vec::new();
        for _ in 0..6 {
            let attempt = app.login(email, "wrong password here").await;
            let status = attempt.status().as_u16();
            let wait: u64 = attempt
                .headers()
                .get("retry-after")
                .map_or(0, |value| value.to_str().unwrap().parse().unwrap());
            seen.push((status, wait));
            if status == 429 {
                app.clock.advance(Duration::from_secs(wait));
                assert_eq!(
                    fail_once(&app, email).await,
                    401,
                    "{email}: allowed after the wait"
                );
            }
        }
        waits.push(seen);
    }
    // 2 free failures, then waits of 1 and 2 s, capped at 4 s.
    assert_eq!(
        waits[0],
        [(401, 0), (401, 0), (429, 1), (429, 2), (429, 4), (429, 4)]
    );
    assert_eq!(waits[0], waits[1], "unknown addresses are throttled alike");
    // The owner (only) is sent an unlock link when the lock engages; taken
    // now, before a later reminder can race it through the outbox.
    let subject = "Sign-in to your account was locked";
    let first = app
        .sink()
        .wait_for_subject("owner@example.com", subject, 1)
        .await;

    // The sixth consecutive failure locked the address: even the right
    // password is refused, from a new device.
    app.clock.advance(Duration::from_secs(10));
    let locked = app.login("owner@example.com", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert_eq!(json_body(locked).await["error"]["code"], "login_locked");
    app.clock.advance(Duration::from_secs(86_400));
    assert_eq!(
        app.login("owner@example.com", PASSWORD).await.status(),
        429,
        "a lockout does not end by itself"
    );
    let ghost = app.login("ghost@example.com", PASSWORD).await;
    assert_eq!(json_body(ghost).await["error"]["code"], "login_locked");

    // The first unlock link expired in the day that passed, and the next
    // attempt sends a fresh one.
    let unlock_link = |mail: &crate::helpers::ReceivedMail| {
        let link = mail.link();
        link[link.find("/login/unlock?token=").expect("an unlock link")..].to_owned()
    };
    assert_eq!(
        app.get_json(&unlock_link(&first[0])).await.status(),
        400,
        "expired"
    );
    assert_eq!(app.login("owner@example.com", PASSWORD).await.status(), 429);
    let locks = app
        .sink()
        .wait_for_subject("owner@example.com", subject, 2)
        .await;
    let link = &unlock_link(&locks[1]);
    assert!(app.sink().received_for("ghost@example.com").is_empty());
    let unlocked = app.get_json(link).await;
    assert_eq!(unlocked.status(), 200);
    assert_eq!(json_body(unlocked).await["status"], "unlocked");
    let login = app.login("owner@example.com", PASSWORD).await;
    assert_eq!(login.status(), 200, "unlocked");
    assert_eq!(
        app.get_json(link).await.status(),
        400,
        "an unlock link works once"
    );

    // After a success the count starts again from zero.
    assert_eq!(fail_once(&app, "owner@example.com").await, 401);
    assert_eq!(fail_once(&app, "owner@example.com").await, 401);
    let audit = app.store.audit_trail(None, 500).await.unwrap();
    assert!(audit.iter().any(|event| event.event == "login.locked"));
    assert!(audit.iter().any(|event| event.event == "login.unlocked"));
}

async fn a_known_device_is_not_locked_out_by_someone_else(backend: Backend) {
    let app = TestApp::spawn_configured(backend, throttled).await;
    app.signed_up("mine@example.com").await;
    // The owner signs in once from a browser: it becomes a known device.
    let first = app.login("mine@example.com", PASSWORD).await;
    assert_eq!(first.status(), 200);
    let device = set_cookie(&first, "latchkey_device").expect("a device cookie");
    app.sink()
        .wait_for_subject("mine@example.com", "New sign-in to your account", 1)
        .await;
    // Someone else locks the address out.
    for _ in 0..6 {
        fail_once(&app, "mine@example.com").await;
    }
    let elsewhere = app.login("mine@example.com", PASSWORD).await;
    assert_eq!(json_body(elsewhere).await["error"]["code"], "login_locked");
    // The owner's browser still gets in, and no new-device email follows.
    let before = app.sink().received_for("mine@example.com").len();
    let owner = app
        .client
        .post(app.url("/login"))
        .header("cookie", format!("latchkey_device={device}"))
        .json(&json!({ "email": "mine@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(owner.status(), 200, "the known device is not locked");
    assert!(
        set_cookie(&owner, "latchkey_device").is_none(),
        "the device keeps its cookie"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let news: Vec<_> = app.sink().received_for("mine@example.com")[before..]
        .iter()
        .map(|mail| mail.parsed().subject().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !news
            .iter()
            .any(|subject| subject == "New sign-in to your account"),
        "{news:?}"
    );
}
