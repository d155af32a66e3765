//! The retention policy: what ended is deleted a week later, a pending
//! message never, audit entries after `LATCHKEY_AUDIT_RETENTION`, accounts
//! never verified after `LATCHKEY_UNVERIFIED_ACCOUNT_RETENTION` (if set).

use std::time::Duration;

use latchkey::Config;
use latchkey::retention::{KeepFor, Report};
use latchkey::store::Pruned;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body, token_of};
use crate::tokens::verified_person;

both_backends!(
    what_ended_is_deleted_a_week_later,
    a_pending_message_is_kept_however_old,
    audit_entries_go_after_the_retention_and_never_with_forever,
    accounts_never_verified_go_only_when_configured,
    a_pending_account_waits_while_its_link_works,
);

const DAY: u64 = 86_400;

async fn code_of(response: reqwest::Response) -> String {
    json_body(response).await["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn prune(app: &TestApp) -> Report {
    app.housekeeping.run_once().await.unwrap()
}

async fn what_ended_is_deleted_a_week_later(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |_| {}).await;
    let email = "kept@example.com";
    let link = app.register_and_get_link(email).await;
    let token = token_of(&link);
    let verified = app.get_json(&format!("/verify?token={token}")).await;
    assert_eq!(verified.status(), 200);
    let user = app
        .store
        .user_by_email(&latchkey::domain::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    // A second session, ended at once by its logout.
    let laptop = app.login(email, PASSWORD).await;
    assert_eq!(laptop.status(), 200);
    let laptop = format!(
        "latchkey_session={}",
        crate::helpers::set_cookie(&laptop, "latchkey_session").unwrap()
    );
    let sessions: Vec<_> = app
        .store
        .sessions_of(user.id)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(sessions.len(), 2);
    assert_eq!(
        app.post_as(&laptop, "/logout", &json!({})).await.status(),
        204
    );
    app.outbox_settled().await;
    let messages = app.store.messages(100).await.unwrap().len();
    assert!(
        messages >= 2,
        "the link's email and the welcome: {messages}"
    );

    // A key retired now: its tokens live 15 minutes.
    latchkey::tokens::rotate(&*app.store, &app.state.sealer, &*app.clock)
        .await
        .unwrap();
    let keys = || {
        app.store
            .signing_keys(latchkey::tokens::ALGORITHM, chrono::DateTime::UNIX_EPOCH)
    };
    assert_eq!(keys().await.unwrap().len(), 2);

    let report = prune(&app).await;
    assert_eq!(
        report.ended,
        Pruned::default(),
        "nothing has ended a week ago"
    );

    // Two days on, the sessions and the link have ended; they are kept.
    app.clock.advance(Duration::from_secs(2 * DAY));
    assert_eq!(prune(&app).await.ended, Pruned::default());
    let expired = app.get_json(&format!("/verify?token={token}")).await;
    assert_eq!(code_of(expired).await, "token_expired");
    for id in &sessions {
        assert!(app.store.session_by_id(*id).await.unwrap().is_some());
    }

    // Nine days on, a week after they ended, they go; the account, a new
    // session and the audit trail stay.
    app.clock.advance(Duration::from_secs(7 * DAY));
    let fresh = app.login(email, PASSWORD).await;
    assert_eq!(fresh.status(), 200);
    app.outbox_settled().await;
    let new_messages = app.store.messages(100).await.unwrap().len() - messages;
    let report = prune(&app).await;
    assert_eq!(
        report.ended,
        Pruned {
            sessions: 2,
            links: 1,
            challenges: 0,
            messages: u64::try_from(messages).unwrap(),
            signing_keys: 1,
        },
        "{report}"
    );
    let current = keys().await.unwrap();
    assert_eq!(current.len(), 1);
    assert!(current[0].retired_at.is_none(), "the current key stays");
    assert_eq!(report.audit_entries, 0, "a year is kept");
    for id in &sessions {
        assert!(app.store.session_by_id(*id).await.unwrap().is_none());
    }
    let unknown = app.get_json(&format!("/verify?token={token}")).await;
    assert_eq!(code_of(unknown).await, "invalid_token");
    assert_eq!(app.store.sessions_of(user.id).await.unwrap().len(), 1);
    assert_eq!(
        app.store.messages(100).await.unwrap().len(),
        new_messages,
        "the newer messages are kept"
    );
    let trail = app.store.audit_trail(Some(user.id), 100).await.unwrap();
    assert!(
        trail.iter().any(|e| e.event == "user.registered"),
        "{trail:?}"
    );
    assert_eq!(prune(&app).await.total(), 0, "deleting again finds nothing");
}

async fn a_pending_message_is_kept_however_old(backend: Backend) {
    // No SMTP server listens there: the message waits, retried for a month.
    let app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!(
            "smtp://127.0.0.1:{}",
            crate::helpers::MailSink::unused_port()
        ));
        config.mail_retry_for = Duration::from_secs(30 * DAY);
    })
    .await;
    let registered = app.register("Ada", "waiting@example.com", PASSWORD).await;
    assert_eq!(registered.status(), 201);
    app.clock.advance(Duration::from_secs(8 * DAY));
    let report = prune(&app).await;
    assert_eq!(report.ended.messages, 0, "{report}");
    let messages = app.store.messages(100).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status, "pending");
}

async fn audit_entries_go_after_the_retention_and_never_with_forever(backend: Backend) {
    let thirty_days = |config: &mut Config| {
        config.audit_retention = KeepFor::Period(Duration::from_secs(30 * DAY));
    };
    let app = TestApp::spawn_configured(backend, thirty_days).await;
    let old = verified_person(&app, "old@example.com").await;
    app.outbox_settled().await;
    let entries = app
        .store
        .audit_trail(Some(old.id), 100)
        .await
        .unwrap()
        .len();
    assert!(entries >= 3, "{entries}");

    app.clock.advance(Duration::from_secs(29 * DAY));
    assert_eq!(prune(&app).await.audit_entries, 0, "29 days are kept");
    app.clock.advance(Duration::from_secs(2 * DAY));
    let recent = app.login("old@example.com", PASSWORD).await;
    assert_eq!(recent.status(), 200);
    app.outbox_settled().await;
    let report = prune(&app).await;
    assert!(
        report.audit_entries >= u64::try_from(entries).unwrap(),
        "{report}"
    );
    let trail = app.store.audit_trail(Some(old.id), 100).await.unwrap();
    assert!(!trail.is_empty(), "the login is kept");
    assert!(
        trail
            .iter()
            .all(|e| e.event != "user.registered" && e.event != "verification.succeeded"),
        "{trail:?}"
    );

    let forever = TestApp::spawn_configured(backend, |config| {
        config.audit_retention = KeepFor::Forever;
    })
    .await;
    let kept = verified_person(&forever, "kept@example.com").await;
    forever.outbox_settled().await;
    let entries = forever.store.audit_trail(Some(kept.id), 100).await.unwrap();
    forever.clock.advance(Duration::from_secs(10 * 365 * DAY));
    assert_eq!(prune(&forever).await.audit_entries, 0);
    assert_eq!(
        forever
            .store
            .audit_trail(Some(kept.id), 100)
            .await
            .unwrap()
            .len(),
        entries.len()
    );
}

async fn accounts_never_verified_go_only_when_configured(backend: Backend) {
    let thirty_days = |config: &mut Config| {
        config.unverified_account_retention = KeepFor::Period(Duration::from_secs(30 * DAY));
    };
    let app = TestApp::spawn_configured(backend, thirty_days).await;
    let pending = "never@example.com";
    app.register_and_get_link(pending).await;
    verified_person(&app, "kept@example.com").await;
    app.outbox_settled().await;
    let address = |email| latchkey::domain::EmailAddress::parse(email).unwrap();
    let id = app
        .store
        .user_by_email(&address(pending))
        .await
        .unwrap()
        .unwrap()
        .id;

    app.clock.advance(Duration::from_secs(29 * DAY));
    assert_eq!(prune(&app).await.unverified_accounts, 0, "29 days are kept");
    app.clock.advance(Duration::from_secs(2 * DAY));
    let report = prune(&app).await;
    assert_eq!(report.unverified_accounts, 1, "{report}");
    assert!(
        app.store
            .user_by_email(&address(pending))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.store
            .user_by_email(&address("kept@example.com"))
            .await
            .unwrap()
            .is_some(),
        "a verified account stays"
    );
    let trail = app.store.audit_trail(Some(id), 100).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.detail.as_deref()),
        (
            "user.deleted",
            Some("never verified, by the retention policy")
        )
    );
    let again = app.register("Ada", pending, PASSWORD).await;
    assert_eq!(again.status(), 201, "the address is free again");

    // Its unsent link is cancelled with it: the mail server was down.
    let down = TestApp::spawn_with(backend, |config| {
        thirty_days(config);
        config.smtp_url = Some(format!(
            "smtp://127.0.0.1:{}",
            crate::helpers::MailSink::unused_port()
        ));
        config.mail_retry_for = Duration::from_secs(60 * DAY);
    })
    .await;
    let registered = down.register("Ada", "unsent@example.com", PASSWORD).await;
    assert_eq!(registered.status(), 201);
    down.clock.advance(Duration::from_secs(31 * DAY));
    assert_eq!(prune(&down).await.unverified_accounts, 1);
    let messages = down.store.messages(100).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status, "cancelled");

    // By default, never.
    let default = TestApp::spawn_configured(backend, |_| {}).await;
    default.register_and_get_link("forever@example.com").await;
    default.clock.advance(Duration::from_secs(10 * 365 * DAY));
    assert_eq!(prune(&default).await.unverified_accounts, 0);
    assert!(
        default
            .store
            .user_by_email(&address("forever@example.com"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_pending_account_waits_while_its_link_works(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |config| {
        config.unverified_account_retention = KeepFor::Period(Duration::from_secs(2 * DAY));
        config.admin_api_key = Some(crate::admin::KEY.to_owned());
    })
    .await;
    app.register_and_get_link("plain@example.com").await;
    let invited = app
        .client
        .post(app.url("/admin/users"))
        .bearer_auth(crate::admin::KEY)
        .json(&json!({"email": "invitee@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 201);
    let exists = |email: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .user_by_email(&latchkey::domain::EmailAddress::parse(email).unwrap())
                .await
                .unwrap()
                .is_some()
        }
    };

    // Past the retention, the sign-up whose link expired goes; the
    // invitation, whose link works for 7 days, waits.
    app.clock.advance(Duration::from_secs(3 * DAY));
    assert_eq!(prune(&app).await.unverified_accounts, 1);
    assert!(!exists("plain@example.com").await);
    assert!(exists("invitee@example.com").await);

    // Once its link has expired too, it goes.
    app.clock.advance(Duration::from_secs(5 * DAY));
    assert_eq!(prune(&app).await.unverified_accounts, 1);
    assert!(!exists("invitee@example.com").await);
}
