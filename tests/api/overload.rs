//! More sign-ups than the hashing pool can take: the excess is refused at
//! once with 503 `overloaded` and `Retry-After`, nothing else breaks.

use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, json_body};

both_backends!(excess_hashing_work_is_shed_with_503);

async fn excess_hashing_work_is_shed_with_503(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.hash_workers = Some(1);
        config.hash_queue = 1;
        // A deliberately slow hash so the queue fills.
        config.argon2_memory_kib = 65_536;
        config.argon2_iterations = 4;
    })
    .await;
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
                assert_eq!(
                    response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()),
                    Some("1")
                );
                assert_eq!(json_body(response).await["error"]["code"], "overloaded");
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
