//! `LATCHKEY_REGISTRATION_DOMAINS`: only addresses at the listed domains
//! sign up, or move an account to them; an operator's invitation is not
//! held to it.

use serde_json::json;

use crate::admin::KEY;
use crate::helpers::{Backend, PASSWORD, TestApp, fresh_database, json_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_listed_domains_sign_up_or_take_an_account() {
    let app = TestApp::spawn_configured(Backend::Sqlite, |config| {
        config.registration_domains = "example.com, example.org".to_owned();
        config.admin_api_key = Some(KEY.to_owned());
    })
    .await;
    for outside in ["ada@example.net", "ada@mail.example.com"] {
        let response = app.register("Ada Lovelace", outside, PASSWORD).await;
        assert_eq!(response.status(), 422, "{outside}");
        let body = json_body(response).await;
        let error = &body["error"]["fields"]["email"][0];
        assert_eq!(error["code"], "domain_not_allowed", "{body}");
        assert_eq!(
            error["message"],
            "Sign-up is open to addresses at example.com, example.org only."
        );
    }
    assert!(app.store.users(10).await.unwrap().is_empty());

    // Inside, as usual; and the account cannot move outside.
    let cookie = app.signed_up("ada@EXAMPLE.org").await;
    let change = |email: &'static str| {
        let (app, cookie) = (&app, &cookie);
        async move {
            app.post_as(
                cookie,
                "/email/change",
                &json!({ "email": email, "current_password": PASSWORD }),
            )
            .await
        }
    };
    let refused = change("ada@gmail.test").await;
    assert_eq!(refused.status(), 422);
    assert_eq!(
        json_body(refused).await["error"]["fields"]["email"][0]["code"],
        "domain_not_allowed"
    );
    assert_eq!(change("lovelace@example.com").await.status(), 202);

    // An operator vouches for whom they invite.
    let invited = app
        .client
        .post(app.url("/admin/users"))
        .header("authorization", format!("Bearer {KEY}"))
        .json(&json!({ "email": "contractor@partner.test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_domain_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = latchkey::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: fresh_database(Backend::Sqlite, dir.path()).await,
        mail_dir: Some(dir.path().join("mail")),
        registration_domains: "example.com, not a domain".to_owned(),
        ..latchkey::Config::default()
    };
    let error = format!("{:#}", latchkey::App::build(&config).await.unwrap_err());
    assert!(
        error.contains("LATCHKEY_REGISTRATION_DOMAINS") && error.contains("not a domain"),
        "{error}"
    );
}
