//! Several instances on one PostgreSQL: any instance serves any step, and
//! outbox workers on every instance deliver each message exactly once.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use latchkey::limits::Switch;
use latchkey::store::{Channel, NewMessage};
use serde_json::json;
use sqlx::Connection as _;

use crate::helpers::{
    Backend, MailSink, PASSWORD, TestApp, both_backends, fresh_database, json_body, set_cookie,
    token_of,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_instance_serves_any_step() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let port = a.sink().port;
    let b = a
        .another_instance(|config| config.smtp_url = Some(format!("smtp://127.0.0.1:{port}")))
        .await;

    let token = token_of(&a.register_and_get_link("both@example.com").await);
    assert_eq!(
        b.get_json(&format!("/verify?token={token}")).await.status(),
        200,
        "verified on B"
    );
    let login = b.login("both@example.com", PASSWORD).await;
    assert_eq!(login.status(), 200, "logged in on B");
    let cookie = format!(
        "latchkey_session={}",
        set_cookie(&login, "latchkey_session").unwrap()
    );
    let access_token = json_body(login).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = a
        .client
        .get(a.url("/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "B's session works on A");
    assert_eq!(json_body(me).await["user"]["email"], "both@example.com");
    let bearer = format!("Bearer {access_token}");
    let me = a
        .client
        .get(a.url("/me"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "B's access token works on A");
    let logout = a
        .client
        .post(a.url("/logout"))
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let token_after = b
        .client
        .get(b.url("/me"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        token_after.status(),
        401,
        "logout on A ends B's access token too"
    );
    let after = b
        .client
        .get(b.url("/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "logout on A ends the session on B");
    // A duplicate sign-up on B is refused by the same unique index.
    let again = b
        .post_json(
            "/register",
            &json!({ "name": "Twin", "email": "BOTH@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(again.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_outbox_workers_deliver_a_thousand_messages_exactly_once() {
    const MESSAGES: usize = 1000;
    let sink = MailSink::start(0);
    let port = sink.port;
    let smtp = move |config: &mut latchkey::Config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    };
    let a = TestApp::spawn_with(Backend::Postgres, smtp).await;
    // Queue everything before B exists and while A's worker is already running.
    let now = latchkey::clock::Clock::now(&*a.clock);
    let b_handle = {
        let store = a.store.clone();
        tokio::spawn(async move {
            for i in 0..MESSAGES {
                let id = uuid::Uuid::now_v7();
                let message = NewMessage {
                    id,
                    channel: Channel::Email,
                    message_id: format!("<{id}@test>"),
                    kind: "load_test",
                    user_id: None,
                    recipient: format!("r{i}@example.com"),
                    subject: format!("message {i}"),
                    text_body: format!("body {i}"),
                    html_body: format!("<p>body {i}</p>"),
                    created_at: now,
                    recipient_limit: None,
                };
                store
                    .enqueue(&message, &latchkey::audit::RequestMeta::internal())
                    .await
                    .unwrap();
            }
        })
    };
    let b = a.another_instance(smtp).await;
    b_handle.await.unwrap();
    // Ring both workers often; polling would get there too, more slowly.
    for _ in 0..600 {
        a.state_wake();
        b.state_wake();
        if sink.received().len() >= MESSAGES {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = sink.received();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for mail in &received {
        *seen.entry(mail.message_id()).or_default() += 1;
    }
    let summaries = a.store.messages(2 * MESSAGES as i64).await.unwrap();
    let mut states: HashMap<String, usize> = HashMap::new();
    for m in &summaries {
        *states
            .entry(format!("{} {} {:?}", m.status, m.attempts, m.last_error))
            .or_default() += 1;
    }
    assert_eq!(
        seen.len(),
        MESSAGES,
        "every message delivered: {} mails received, outbox {states:?}",
        received.len()
    );
    assert!(
        seen.values().all(|&count| count == 1),
        "no message delivered twice: {} deliveries",
        received.len()
    );
    assert!(
        summaries
            .iter()
            .all(|m| m.status == "sent" && m.attempts == 1)
    );
}

/// Quotas and the login throttle live in the database: what one instance
/// counted, the other enforces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_lockouts_hold_across_instances() {
    fn configure(config: &mut latchkey::Config) {
        let limits = &mut config.limits;
        limits.limit_resend_per_address = "2/1h".to_owned().try_into().unwrap();
        limits.limit_login_per_account = latchkey::limits::QuotaSetting(None);
        limits.login_free_failures = 1;
        limits.login_max_delay = Duration::from_secs(2);
        limits.login_lockout_failures = 3;
    }
    let a = TestApp::spawn_configured(Backend::Postgres, configure).await;
    let b = a.another_instance(configure).await;
    let advance = |seconds| {
        a.clock.advance(Duration::from_secs(seconds));
        b.clock.advance(Duration::from_secs(seconds));
    };

    let resend = json!({ "email": "shared@example.com" });
    let statuses = [
        a.post_json("/verify/resend", &resend).await.status(),
        b.post_json("/verify/resend", &resend).await.status(),
        a.post_json("/verify/resend", &resend).await.status(),
        b.post_json("/verify/resend", &resend).await.status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [202, 202, 429, 429]);

    a.signed_up("locked@example.com").await;
    let wrong = "not the password at all";
    assert_eq!(a.login("locked@example.com", wrong).await.status(), 401);
    let early = b.login("locked@example.com", wrong).await;
    assert_eq!(early.status(), 429, "B waits for A's failure");
    assert_eq!(json_body(early).await["error"]["code"], "rate_limited");
    advance(1);
    assert_eq!(b.login("locked@example.com", wrong).await.status(), 401);
    advance(2);
    assert_eq!(a.login("locked@example.com", wrong).await.status(), 401);
    advance(5);
    let locked = b.login("locked@example.com", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert_eq!(
        json_body(locked).await["error"]["code"],
        "login_locked",
        "locked on B by failures on A and B"
    );
}

both_backends!(instances_starting_together_on_a_fresh_database_all_start);

/// A deployment's instances start at once on a database nobody has
/// migrated: each must find the schema made exactly once, whoever made it.
async fn instances_starting_together_on_a_fresh_database_all_start(backend: Backend) {
    // Several rounds: the race, when there is one, is lost only sometimes.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, dir.path()).await;
        let starts: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { latchkey::store::connect(&url).await.map(drop) })
            })
            .collect();
        for start in starts {
            let started = start.await.unwrap();
            assert!(
                started.is_ok(),
                "{:?}",
                started.err().map(|e| format!("{e:?}"))
            );
        }
        let store = latchkey::store::connect(&url).await.unwrap();
        assert!(store.users(10).await.unwrap().is_empty());
    }
}

/// An instance keeps at most `database_max_connections` to PostgreSQL
/// however many requests it serves at once: several instances must fit
/// under the server's own limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_keeps_to_its_connection_limit() {
    let app = TestApp::spawn_configured(Backend::Postgres, |config| {
        config.database_max_connections = NonZeroU32::new(2).unwrap();
        config.limits.rate_limit = Switch(false);
    })
    .await;
    let mut admin = sqlx::PgConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    let busy = Arc::new(AtomicBool::new(true));
    let requests = {
        let busy = busy.clone();
        let (client, url) = (app.client.clone(), app.url("/verify?token="));
        tokio::spawn(async move {
            // Each click of a malformed link is audited, a write: 64 at once, four times.
            for _ in 0..4 {
                let mut clicks = tokio::task::JoinSet::new();
                for i in 0..64 {
                    clicks.spawn(client.get(format!("{url}unknown-{i}")).send());
                }
                while let Some(response) = clicks.join_next().await {
                    let status = response.unwrap().unwrap().status();
                    assert!(status.is_client_error(), "{status}");
                }
            }
            busy.store(false, Ordering::Relaxed);
        })
    };
    let mut most = 0;
    while busy.load(Ordering::Relaxed) {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        most = most.max(open);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    requests.await.unwrap();
    assert!(most >= 1, "the instance was seen connected");
    assert!(most <= 2, "{most} connections open at once");
}
