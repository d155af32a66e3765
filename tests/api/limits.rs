//! Abuse limits: quotas per IP and per target, the recipient cap, and the
//! switch that turns them off (the failed-login throttle: `login_throttle.rs`).

use std::time::Duration;

use latchkey::Config;
use latchkey::limits::{QuotaSetting, Switch};
use serde_json::{Value, json};

use crate::email_change::{confirm, email_of_session, link_token};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, set_cookie};
use crate::login_throttle::throttled;

both_backends!(
    every_limited_endpoint_answers_429_with_retry_after,
    a_spent_quota_refills_with_time,
    unknown_and_known_addresses_are_limited_alike,
    a_recipient_gets_only_a_few_messages_an_hour,
    reset_requests_held_back_leave_the_owners_link_working,
    a_change_of_address_held_back_leaves_the_waiting_one_working,
    strangers_cannot_silence_the_owners_notices,
    sign_ups_with_a_taken_address_spend_its_allowance,
    the_switch_turns_every_limit_off,
    forwarded_for_is_believed_only_from_a_trusted_proxy,
    a_client_over_its_quota_spends_none_of_its_targets,
    pruning_forgets_spent_quotas_and_stale_devices,
    a_device_seen_within_the_year_is_kept,
);

fn quota(text: &str) -> QuotaSetting {
    QuotaSetting::try_from(text.to_owned()).unwrap()
}

async fn assert_limited(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 429, "{what}");
    let wait: u64 = response
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{what}: Retry-After {wait}");
    assert_eq!(
        json_body(response).await["error"]["code"],
        "rate_limited",
        "{what}"
    );
}

/// One request of each limited endpoint (per IP), first allowed, then 429.
async fn every_limited_endpoint_answers_429_with_retry_after(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        let one = quota("1/1h");
        let limits = &mut config.limits;
        limits.limit_register_per_ip = one;
        limits.limit_login_per_ip = one;
        limits.limit_verify_per_ip = one;
        limits.limit_resend_per_ip = one;
        limits.limit_mfa_challenge_per_ip = one;
        limits.limit_mfa_verify_per_ip = one;
    })
    .await;
    let bogus = "A".repeat(43);
    let calls: [(&str, Value); 5] = [
        (
            "/register",
            json!({ "name": "Ann", "email": "ann@example.com", "password": PASSWORD }),
        ),
        (
            "/login",
            json!({ "email": "ann@example.com", "password": "not it at all" }),
        ),
        ("/verify/resend", json!({ "email": "ann@example.com" })),
        (
            "/mfa/challenge",
            json!({ "mfa_token": bogus, "method": "email" }),
        ),
        (
            "/mfa/verify",
            json!({ "mfa_token": bogus, "code": "123456" }),
        ),
    ];
    for (path, body) in calls {
        let first = app.post_json(path, &body).await;
        assert_ne!(first.status(), 429, "{path}: the first is allowed");
        assert_limited(app.post_json(path, &body).await, path).await;
    }
    let link = format!("/verify?token={bogus}");
    assert_eq!(
        app.get_json(&link).await.status(),
        400,
        "a bad link, counted"
    );
    assert_limited(app.get_json(&link).await, "/verify").await;
}

async fn a_spent_quota_refills_with_time(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits.limit_resend_per_address = quota("2/1h");
    })
    .await;
    let body = json!({ "email": "wait@example.com" });
    let resend = || app.post_json("/verify/resend", &body);
    assert_eq!(resend().await.status(), 202);
    assert_eq!(resend().await.status(), 202);
    let refused = resend().await;
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1790..=1800).contains(&wait),
        "one every 30 minutes: {wait}"
    );
    assert_limited(refused, "third within the hour").await;
    app.clock.advance(Duration::from_secs(wait));
    assert_eq!(resend().await.status(), 202, "one more after the wait");
    assert_limited(resend().await, "and only one").await;
}

/// Whether an address has an account changes nothing about its limits.
async fn unknown_and_known_addresses_are_limited_alike(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_login_per_account = quota("3/1m");
        config.limits.limit_resend_per_address = quota("2/1h");
    })
    .await;
    app.signed_up("known@example.com").await;
    for email in ["known@example.com", "nobody@example.com"] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let login = app.login(email, "wrong password here").await;
            statuses.push(login.status().as_u16());
        }
        for _ in 0..3 {
            let resend = app
                .post_json("/verify/resend", &json!({ "email": email }))
                .await;
            statuses.push(resend.status().as_u16());
        }
        assert_eq!(statuses, [401, 401, 401, 429, 202, 202, 429], "{email}");
    }
}

async fn a_recipient_gets_only_a_few_messages_an_hour(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_messages_per_recipient = quota("3/1h");
    })
    .await;
    let registered = app
        .register("Flood Target", "target@example.com", PASSWORD)
        .await;
    assert_eq!(registered.status(), 201);
    for _ in 0..4 {
        let resend = app
            .post_json("/verify/resend", &json!({ "email": "target@example.com" }))
            .await;
        assert_eq!(resend.status(), 202, "the answer never changes");
    }
    // Resends do their work after answering: wait for all five messages.
    let held = suppressed_after(&app, 5).await;
    assert_eq!(held.len(), 2, "{held:?}");
    // Every message has gone out or been cancelled (a resend cancels the
    // unsent links before it, so fewer may arrive).
    app.outbox_settled().await;
    let received = app.sink().received_for("target@example.com");
    assert!((1..=3).contains(&received.len()), "{}", received.len());
    // The resends held back revoked nothing: the last link that arrived
    // works (a flood of resends must not leave the owner without one).
    let last = crate::helpers::token_of(&received.last().unwrap().link());
    let verified = app.get_json(&format!("/verify?token={last}")).await;
    assert_eq!(verified.status(), 200);
}

/// The same for reset links: requests over the recipient's quota send
/// nothing and revoke nothing, so a stranger's flood cannot kill the link
/// the owner already has.
async fn reset_requests_held_back_leave_the_owners_link_working(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_messages_per_recipient = quota("3/1h");
    })
    .await;
    // Its verification link is the first of the three; "your account is
    // active" is the account's own mail, counted apart.
    app.signed_up("owner@example.com").await;
    for _ in 0..5 {
        let reset = app
            .post_json("/password/reset", &json!({ "email": "owner@example.com" }))
            .await;
        assert_eq!(reset.status(), 202);
    }
    let held = suppressed_after(&app, 7).await;
    assert_eq!(held.len(), 3, "{held:?}");
    assert!(
        held.iter()
            .all(|detail| detail.starts_with("password_reset ")),
        "{held:?}"
    );
    app.outbox_settled().await;
    let resets = app
        .sink()
        .wait_for_subject("owner@example.com", "Reset your password", 1)
        .await;
    let token = crate::helpers::token_of(&resets.last().unwrap().link());
    let done = app
        .post_json(
            "/password/reset/confirm",
            &json!({ "token": token, "password": "quartz lanterns drift over 17 harbours" }),
        )
        .await;
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
}

/// A change of address whose link the new address's cap holds back is not
/// stored: the change already waiting, whose link went out, still works.
async fn a_change_of_address_held_back_leaves_the_waiting_one_working(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_messages_per_recipient = quota("1/1h");
    })
    .await;
    let cookie = app.signed_up("mover@example.com").await;
    let ask = json!({ "email": "new@example.com", "current_password": PASSWORD });
    assert_eq!(
        app.post_as(&cookie, "/email/change", &ask).await.status(),
        202
    );
    let sent = link_token(&app, "new@example.com", 1).await;
    // The same request again: new@example.com has had its one message.
    assert_eq!(
        app.post_as(&cookie, "/email/change", &ask).await.status(),
        202
    );
    let held = suppressed_after(&app, 5).await;
    assert!(
        held.iter()
            .any(|detail| detail.starts_with("email_change ")),
        "{held:?}"
    );

    assert_eq!(
        confirm(&app, &sent).await.status(),
        200,
        "the link sent works"
    );
    assert_eq!(email_of_session(&app, &cookie).await, "new@example.com");
}

async fn suppressed_after(app: &TestApp, count: usize) -> Vec<String> {
    for _ in 0..100 {
        let audit = app.store.audit_trail(None, 200).await.unwrap();
        let messages = audit
            .iter()
            .filter(|event| event.event == "email.queued" || event.event == "email.suppressed")
            .count();
        if messages >= count {
            return audit
                .into_iter()
                .filter(|event| event.event == "email.suppressed")
                .filter_map(|event| event.detail)
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{count} messages were never queued");
}

/// Anyone can ask for resets to an address until it may receive no more;
/// the owner's own codes and notices keep an allowance of their own (capped
/// as well), or a stranger could silence the email that says someone else
/// signed in.
async fn strangers_cannot_silence_the_owners_notices(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_messages_per_recipient = quota("3/1h");
    })
    .await;
    // The link (the address's first message) and "your account is active".
    app.signed_up("owner@example.com").await;
    for _ in 0..3 {
        let reset = app
            .post_json("/password/reset", &json!({ "email": "owner@example.com" }))
            .await;
        assert_eq!(reset.status(), 202, "the answer never changes");
    }
    let held = suppressed_after(&app, 5).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(held[0].starts_with("password_reset "), "{held:?}");

    // Two sign-ins from new devices: both announced (with the activation,
    // the account's allowance of three is spent)...
    for _ in 0..2 {
        assert_eq!(app.login("owner@example.com", PASSWORD).await.status(), 200);
    }
    app.sink()
        .wait_for_subject("owner@example.com", "New sign-in to your account", 2)
        .await;
    // ...and a third is held back like anything else over the cap.
    assert_eq!(app.login("owner@example.com", PASSWORD).await.status(), 200);
    let held = suppressed_after(&app, 8).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.iter().any(|detail| detail.starts_with("new_device ")),
        "{held:?}"
    );
}

/// Under enumeration protection a sign-up with a taken address emails its
/// owner: as counted against the address as any other message anyone can
/// cause, and held back the same way once it is spent, with the same answer.
async fn sign_ups_with_a_taken_address_spend_its_allowance(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.enumeration_protection = true;
        config.limits.limit_messages_per_recipient = quota("3/1h");
        config.limits.limit_register_per_address = quota("10/1h");
    })
    .await;
    // The link: the address's first message (the account active notice is
    // the owner's own, counted apart).
    app.signed_up("owner@example.com").await;
    for _ in 0..4 {
        let again = app.register("Other", "Owner@Example.com", PASSWORD).await;
        assert_eq!(again.status(), 201, "the answer never changes");
    }
    let held = suppressed_after(&app, 5).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.iter()
            .all(|detail| detail.starts_with("signup_attempt ")),
        "{held:?}"
    );
    let audit = app.store.audit_trail(None, 200).await.unwrap();
    let address = latchkey::domain::EmailAddress::parse("owner@example.com").unwrap();
    let owner = app.store.user_by_email(&address).await.unwrap().unwrap();
    assert!(
        audit
            .iter()
            .filter(|event| event.event == "email.suppressed")
            .all(|event| event.user_id == Some(owner.id.as_uuid())),
        "held back for the owner: {audit:?}"
    );
    app.sink()
        .wait_for_subject(
            "owner@example.com",
            "Someone tried to sign up with your email address",
            2,
        )
        .await;
}

async fn the_switch_turns_every_limit_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        let one = quota("1/1h");
        config.limits.limit_login_per_ip = one;
        config.limits.limit_login_per_account = one;
        config.limits.limit_resend_per_ip = one;
        config.limits.limit_messages_per_recipient = one;
        throttled(config);
        config.limits.rate_limit = Switch(false);
    })
    .await;
    for _ in 0..10 {
        let login = app
            .login("someone@example.com", "wrong password here")
            .await;
        assert_eq!(login.status(), 401);
        let resend = app
            .post_json("/verify/resend", &json!({ "email": "someone@example.com" }))
            .await;
        assert_eq!(resend.status(), 202);
    }
}

async fn forwarded_for_is_believed_only_from_a_trusted_proxy(backend: Backend) {
    let resend_from = |app: &TestApp, client_ip: &str| {
        app.client
            .post(app.url("/verify/resend"))
            .header("x-forwarded-for", client_ip.to_owned())
            .json(&json!({ "email": "xff@example.com" }))
            .send()
    };
    // No trusted proxy: a forged header does not buy a fresh quota.
    let direct = TestApp::spawn_with(backend, |config| {
        config.limits.limit_resend_per_ip = quota("1/1h");
    })
    .await;
    assert_eq!(
        resend_from(&direct, "203.0.113.1").await.unwrap().status(),
        202
    );
    assert_limited(resend_from(&direct, "203.0.113.2").await.unwrap(), "forged").await;
    // Behind a trusted proxy (the test client's loopback), each client counts alone.
    let proxied = TestApp::spawn_with(backend, |config| {
        config.limits.limit_resend_per_ip = quota("1/1h");
        config.trusted_proxies = "127.0.0.1/32, ::1".to_owned();
    })
    .await;
    assert_eq!(
        resend_from(&proxied, "203.0.113.1").await.unwrap().status(),
        202
    );
    assert_eq!(
        resend_from(&proxied, "203.0.113.2").await.unwrap().status(),
        202
    );
    assert_limited(
        resend_from(&proxied, "203.0.113.1").await.unwrap(),
        "same client",
    )
    .await;
}

/// The client's quota and its target's are taken in one write, in order:
/// a request its client's quota refuses is not counted against the address,
/// and one the address refuses has still used its client's.
async fn a_client_over_its_quota_spends_none_of_its_targets(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits.limit_resend_per_ip = quota("1/1h");
        config.limits.limit_resend_per_address = quota("2/1h");
        config.trusted_proxies = "127.0.0.1/32, ::1".to_owned();
    })
    .await;
    let resend = |client_ip: &str, email: &str| {
        app.client
            .post(app.url("/verify/resend"))
            .header("x-forwarded-for", client_ip.to_owned())
            .json(&json!({ "email": email }))
            .send()
    };
    let target = "target@example.com";
    assert_eq!(resend("203.0.113.1", target).await.unwrap().status(), 202);
    for _ in 0..3 {
        assert_limited(resend("203.0.113.1", target).await.unwrap(), "client spent").await;
    }
    assert_eq!(
        resend("203.0.113.2", target).await.unwrap().status(),
        202,
        "the refused requests left the address its second"
    );
    assert_limited(
        resend("203.0.113.3", target).await.unwrap(),
        "address spent",
    )
    .await;
    assert_limited(
        resend("203.0.113.3", "other@example.com").await.unwrap(),
        "the address's refusal used its client's one",
    )
    .await;
}

/// Settings that would break NIST SP 800-63B (or leave an audit trail that
/// forgets within hours) stop the start, said plainly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_settings_stop_the_start() {
    type Setting = fn(&mut Config);
    let cases: [(Setting, &str); 6] = [
        (
            |c| c.limits.login_lockout_failures = 101,
            "between 1 and 100",
        ),
        (
            |c| c.limits.login_free_failures = 100,
            "below login_lockout_failures",
        ),
        (|c| c.password_min_length = 6, "at least 8"),
        (|c| c.password_max_length = 32, "at least 64"),
        (
            |c| {
                c.audit_retention = latchkey::retention::KeepFor::Period(Duration::from_secs(3600));
            },
            "AUDIT_RETENTION must be at least 1 day",
        ),
        (
            |c| {
                c.unverified_account_retention =
                    latchkey::retention::KeepFor::Period(Duration::from_secs(12 * 3600));
            },
            "at least LATCHKEY_VERIFY_TTL",
        ),
    ];
    for (unsafe_setting, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: crate::helpers::fresh_database(Backend::Sqlite, dir.path()).await,
            mail_dir: Some(dir.path().join("mail")),
            ..Config::default()
        };
        unsafe_setting(&mut config);
        let error = format!("{:#}", latchkey::App::build(&config).await.unwrap_err());
        assert!(error.contains(message), "{error}");
    }
}

/// The tables stay small: a spent quota, a device unseen for a year and an
/// expired unlock link are deleted; a live quota is kept.
async fn pruning_forgets_spent_quotas_and_stale_devices(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.limits.limit_resend_per_address = quota("1/1h");
    })
    .await;
    app.signed_up("prune@example.com").await;
    let login = app.login("prune@example.com", PASSWORD).await;
    let device = set_cookie(&login, "latchkey_device").expect("a device cookie");
    let resend = json!({ "email": "prune@example.com" });
    app.post_json("/verify/resend", &resend).await;
    assert_limited(app.post_json("/verify/resend", &resend).await, "spent").await;
    assert_eq!(
        app.state.limits.prune().await.unwrap(),
        0,
        "nothing is stale yet"
    );
    assert_limited(
        app.post_json("/verify/resend", &resend).await,
        "still spent",
    )
    .await;

    app.clock.advance(Duration::from_secs(366 * 86_400));
    let pruned = app.state.limits.prune().await.unwrap();
    assert!(pruned >= 2, "the quota and the devices: {pruned}");
    let digest = latchkey::domain::DeviceToken::parse(&device)
        .unwrap()
        .digest();
    assert_eq!(app.store.device_owner(&digest).await.unwrap(), None);
}

/// A sign-in from a known device renews it, so the prune forgets only a
/// device unseen for a year, not one first seen more than a year ago.
async fn a_device_seen_within_the_year_is_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("kept@example.com").await;
    let first = app.login("kept@example.com", PASSWORD).await;
    let device = set_cookie(&first, "latchkey_device").expect("a device cookie");
    let digest = latchkey::domain::DeviceToken::parse(&device)
        .unwrap()
        .digest();
    let sign_in_from_the_device = || {
        app.client
            .post(app.url("/login"))
            .header("cookie", format!("latchkey_device={device}"))
            .json(&json!({ "email": "kept@example.com", "password": PASSWORD }))
            .send()
    };
    // Twice the same day: the second leaves the row alone and still works.
    assert_eq!(sign_in_from_the_device().await.unwrap().status(), 200);

    app.clock.advance(Duration::from_secs(200 * 86_400));
    let again = sign_in_from_the_device().await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(
        set_cookie(&again, "latchkey_device").is_none(),
        "still known"
    );

    app.clock.advance(Duration::from_secs(200 * 86_400));
    app.state.limits.prune().await.unwrap();
    assert!(
        app.store.device_owner(&digest).await.unwrap().is_some(),
        "seen 200 days ago, first seen 400 days ago: kept"
    );
    app.clock.advance(Duration::from_secs(166 * 86_400));
    app.state.limits.prune().await.unwrap();
    assert_eq!(app.store.device_owner(&digest).await.unwrap(), None);
}
