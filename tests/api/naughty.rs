//! Every string of the Big List of Naughty Strings in every field: a 4xx
//! JSON error or a success, never a 5xx.

use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, both_backends};

both_backends!(naughty_strings_never_break_the_api);

async fn expect_handled(app: &TestApp, response: reqwest::Response, what: &str) {
    let status = response.status();
    assert!(status.as_u16() < 500, "{what}: {status}");
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|_| panic!("{what}: not JSON"));
    if !status.is_success() {
        assert!(body["error"]["code"].as_str().is_some(), "{what}: {body}");
    }
    let _ = app;
}

async fn naughty_strings_never_break_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (i, naughty) in naughty_strings::BLNS.iter().enumerate() {
        let fields = [
            json!({ "name": naughty, "email": format!("name{i}@example.com"), "password": PASSWORD }),
            json!({ "name": "Ada", "email": naughty, "password": PASSWORD }),
            json!({ "name": "Ada", "email": format!("pw{i}@example.com"), "password": naughty }),
        ];
        for body in fields {
            let response = app.post_json("/register", &body).await;
            expect_handled(&app, response, &format!("register {body}")).await;
        }
        let response = app
            .post_json("/verify/resend", &json!({ "email": naughty }))
            .await;
        expect_handled(&app, response, &format!("resend {naughty:?}")).await;
        let response = app
            .client
            .get(app.url("/verify"))
            .query(&[("token", naughty)])
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        expect_handled(&app, response, &format!("verify {naughty:?}")).await;
    }
}
