//! More sign-ups than the hashing pool can take: the excess is refused at
//! once with 503 `overloaded` and `Retry-After`, nothing else breaks.

use latchkey::Config;
use latchkey::limits::QuotaSetting;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};

both_backends!(
    excess_hashing_work_is_shed_with_503,
    password_checks_take_their_turn_on_the_hashing_pool,
    logins_refused_for_overload_spend_no_quota,
    a_place_that_frees_up_soon_is_waited_for,
);

/// A 503 that says when to try again, in our error body.
async fn assert_told_to_come_back(response: reqwest::Response) {
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(json_body(response).await["error"]["code"], "overloaded");
}

/// One pool thread with room for `queue` waiting jobs, and a deliberately
/// slow hash (about a second), so the pool stays full for longer than a
/// request waits for a place in it (250 ms).
fn one_slow_hashing_thread(config: &mut Config, queue: usize) {
    config.hash_workers = Some(1);
    config.hash_queue = queue;
    config.argon2_memory_kib = 65_536;
    config.argon2_iterations = 16;
}

async fn excess_hashing_work_is_shed_with_503(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| one_slow_hashing_thread(config, 1)).await;
    let requests: Vec<_> = (0..12)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/register");
            tokio::spawn(async move {
                client.post(url).json(&json!({ "name": "Load", "email": format!("load{i}@example.com"), "password": PASSWORD })).send().await.unwrap()
            })
        })
        .collect();
    let (mut created, mut shed) = (0, 0);
    for request in requests {
        let response = request.await.unwrap();
        match response.status().as_u16() {
            201 => created += 1,
            503 => {
                assert_told_to_come_back(response).await;
                shed += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        created >= 2,
        "the running and the queued hash complete: {created}"
    );
    assert!(shed >= 1, "the rest is shed");
    // Nothing half-written for the refused ones.
    assert_eq!(app.store.users(100).await.unwrap().len(), created);
    // The service still answers.
    assert_eq!(app.get_json("/healthz").await.status(), 200);
}

/// zxcvbn's estimate is CPU work too: the strength meter's checks share the
/// pool's admission, so a flood of them cannot stall the async runtime, and
/// they are refused like a hash while the pool is full.
async fn password_checks_take_their_turn_on_the_hashing_pool(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| one_slow_hashing_thread(config, 0)).await;
    let check = || {
        let client = app.client.clone();
        let url = app.url("/password/check");
        async move {
            client
                .post(url)
                .json(&json!({ "password": PASSWORD }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(check().await.status(), 200, "an idle pool judges at once");
    // Probe while a slow sign-up hash holds the pool's one thread. A probe
    // can win the thread just before the sign-up's turn and get it shed
    // instead; then try again with another sign-up.
    let mut refused = None;
    for attempt in 0..5 {
        let client = app.client.clone();
        let url = app.url("/register");
        let sign_up = tokio::spawn(async move {
            client.post(url).json(&json!({ "name": "Load", "email": format!("busy{attempt}@example.com"), "password": PASSWORD })).send().await.unwrap()
        });
        // Its password check and quota come first; the slow hash after.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        while refused.is_none() && !sign_up.is_finished() {
            let response = check().await;
            if response.status() == 503 {
                refused = Some(response);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        sign_up.await.unwrap();
        if refused.is_some() {
            break;
        }
    }
    let refused = refused.expect("a check while the pool is full is refused");
    assert_eq!(json_body(refused).await["error"]["code"], "overloaded");
    let response = check().await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["ok"], true);
}

/// Overload is checked before anything else a login does: a login refused
/// with 503 reads nothing and spends none of the client's quotas, so a
/// client that comes back after `Retry-After`, as told, still gets in.
async fn logins_refused_for_overload_spend_no_quota(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        one_slow_hashing_thread(config, 0);
        // A hash of about three seconds: the window for three refused
        // logins, each refused after waiting 250 ms for a place.
        config.argon2_iterations = 48;
        config.limits.limit_login_per_ip = QuotaSetting::try_from("2/1h".to_owned()).unwrap();
    })
    .await;
    let login = || app.login("nobody@example.com", "not the password");
    let mut held = false;
    for attempt in 0..5 {
        let client = app.client.clone();
        let url = app.url("/register");
        let sign_up = tokio::spawn(async move {
            client.post(url).json(&json!({ "name": "Load", "email": format!("busy{attempt}@example.com"), "password": PASSWORD })).send().await.unwrap()
        });
        // The strength check spends no quota: it tells when the sign-up
        // holds the pool (or takes it first, and the sign-up is shed).
        while !held && !sign_up.is_finished() {
            let check = app
                .post_json("/password/check", &json!({ "password": PASSWORD }))
                .await;
            held = check.status() == 503;
        }
        if held {
            for _ in 0..3 {
                assert_eq!(
                    login().await.status(),
                    503,
                    "refused while the pool is full"
                );
            }
        }
        sign_up.await.unwrap();
        if held {
            break;
        }
    }
    assert!(held, "a sign-up held the pool");
    for _ in 0..2 {
        assert_eq!(login().await.status(), 401, "the quota of two is whole");
    }
}

/// A request that finds the pool full waits a moment for a place before it
/// is refused: a brief burst is served, not bounced.
async fn a_place_that_frees_up_soon_is_waited_for(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.hash_workers = Some(1);
        config.hash_queue = 0;
        // A few milliseconds a hash: well inside the wait.
        config.argon2_memory_kib = 8_192;
        config.argon2_iterations = 1;
    })
    .await;
    let logins: Vec<_> = (0..2)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/login");
            tokio::spawn(async move {
                let body = json!({ "email": "nobody@example.com", "password": "not the password" });
                client.post(url).json(&body).send().await.unwrap().status()
            })
        })
        .collect();
    for login in logins {
        assert_eq!(
            login.await.unwrap(),
            401,
            "both were hashed, one after the other"
        );
    }
}

/// Another process (a `latchkey` command, a backup) holds SQLite's write
/// lock past the busy timeout (5 s): the sign-up is told to come back (503,
/// `Retry-After`), not that the server failed, and nothing of it is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_elsewhere_answers_503_and_keeps_nothing() {
    use sqlx::Connection as _;

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut other = sqlx::SqliteConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let response = app
        .register("Locked Out", "locked@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), 503);
    assert_told_to_come_back(response).await;
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    // The address was not taken by half an account.
    let response = app
        .register("Locked Out", "locked@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), 201);
}
