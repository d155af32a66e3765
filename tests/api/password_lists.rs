//! The passwords an operator bars (`LATCHKEY_PASSWORD_BLOCKLIST`, plain or
//! as Have I Been Pwned's SHA-1 lines) and the service's own name are
//! refused wherever a password is set, and the strength meter says so.

use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, fresh_database, json_body};

/// Strong by zxcvbn's measure, so only the lists can refuse them.
const LISTED_PLAIN: &str = "tangerine lighthouse whispers 1987";
const LISTED_DIGEST: &str = "marmalade orbit cascades 2041";

fn sha1_hex(password: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(password.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect()
}

fn password_codes(body: &Value) -> Vec<String> {
    body["error"]["fields"]["password"]
        .as_array()
        .or_else(|| body["error"]["fields"]["new_password"].as_array())
        .or_else(|| body["errors"].as_array())
        .unwrap_or_else(|| panic!("no password errors in {body}"))
        .iter()
        .map(|error| error["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_passwords_and_the_services_name_are_refused_everywhere() {
    let lists = tempfile::tempdir().unwrap();
    let file = lists.path().join("barred.txt");
    std::fs::write(
        &file,
        format!(
            "Tangerine Lighthouse Whispers 1987\n{}:31337\n",
            sha1_hex(LISTED_DIGEST)
        ),
    )
    .unwrap();
    let app = TestApp::spawn_configured(Backend::Sqlite, |config| {
        config.password_blocklist = Some(file.clone());
        config.mail_from = "Acme Rockets <no-reply@acme.test>".to_owned();
        config.password_context_words = "skylark, ".to_owned();
    })
    .await;

    for (password, code) in [
        (LISTED_PLAIN, "blocklisted"),
        ("TANGERINE LIGHTHOUSE WHISPERS 1987", "blocklisted"),
        (LISTED_DIGEST, "blocklisted"),
        ("violet submarine acme 42 clouds", "contains_context_word"),
        ("violet submarine harvests skylark", "contains_context_word"),
    ] {
        let verdict = json_body(
            app.post_json("/password/check", &json!({ "password": password }))
                .await,
        )
        .await;
        assert_eq!(verdict["ok"], false, "{password}: {verdict}");
        assert!(
            password_codes(&verdict).contains(&code.to_owned()),
            "{password}: {verdict}"
        );

        let response = app
            .register("Ada Lovelace", "ada@example.com", password)
            .await;
        assert_eq!(response.status(), 422, "{password}");
        let body = json_body(response).await;
        assert!(
            password_codes(&body).contains(&code.to_owned()),
            "{password}: {body}"
        );
    }
    assert!(
        app.store.users(10).await.unwrap().is_empty(),
        "no refused sign-up left an account"
    );

    // A signed-in change of password meets the same lists.
    let cookie = app.signed_up("grace@example.com").await;
    let response = app
        .post_as(
            &cookie,
            "/password/change",
            &json!({ "current_password": PASSWORD, "new_password": LISTED_DIGEST }),
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(password_codes(&json_body(response).await), ["blocklisted"]);
    assert_eq!(app.login("grace@example.com", PASSWORD).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_name_latchkey_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app
        .register(
            "Ada Lovelace",
            "ada@example.com",
            "violet latchkey harvests 42 clouds",
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        password_codes(&json_body(response).await),
        ["contains_context_word"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocklist_that_cannot_be_read_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-list.txt");
    let config = latchkey::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: fresh_database(Backend::Sqlite, dir.path()).await,
        mail_dir: Some(dir.path().join("mail")),
        password_blocklist: Some(missing.clone()),
        ..latchkey::Config::default()
    };
    let error = format!("{:#}", latchkey::App::build(&config).await.unwrap_err());
    assert!(
        error.contains("LATCHKEY_PASSWORD_BLOCKLIST")
            && error.contains(&missing.display().to_string()),
        "{error}"
    );
}
