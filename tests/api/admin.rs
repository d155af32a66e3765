//! The admin API: absent without a key, 401 without the right one, and the
//! audit trail and the accounts for the right one.

use chrono::TimeDelta;
use latchkey::clock::Clock;
use serde_json::{Value, json};

use crate::email_change::{confirm, email_of_session, link_token};
use crate::helpers::{Backend, PASSWORD, TestApp, both_backends, fresh_database, json_body};

both_backends!(
    admin_paths_are_absent_without_a_key,
    the_admin_api_needs_its_key,
    the_audit_trail_by_user_time_and_count,
    users_are_listed_by_status_a_page_at_a_time,
    unknown_query_values_are_400,
    the_admin_can_end_sessions,
    an_operator_sends_the_link_for_an_owner_who_lost_the_mailbox,
);

pub(crate) const KEY: &str = "test-admin-key-0123456789-abcdefghijklmnop";

pub(crate) async fn with_key(backend: Backend) -> TestApp {
    let sink = crate::helpers::MailSink::start(0);
    let port = sink.port;
    let mut app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.admin_api_key = Some(KEY.to_owned());
    })
    .await;
    app.mail = Some(sink);
    app
}

async fn admin_get(app: &TestApp, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.send().await.unwrap()
}

/// The body of a 200 from the admin API, checking it may not be cached.
async fn ok(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    json_body(response).await
}

async fn admin_paths_are_absent_without_a_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let absent = json_body(admin_get(&app, "/admin/nothing-here", None).await).await;
    for path in ["/admin/audit", "/admin/users?limit=5"] {
        for key in [None, Some(KEY), Some("")] {
            let response = admin_get(&app, path, key).await;
            assert_eq!(response.status(), 404, "{path}");
            assert_eq!(json_body(response).await, absent, "{path}: as if absent");
        }
    }
    let post = app
        .client
        .post(app.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 404);
}

async fn the_admin_api_needs_its_key(backend: Backend) {
    let app = with_key(backend).await;
    let mut wrong_last = KEY.to_owned();
    wrong_last.pop();
    wrong_last.push('q');
    let refusals = [
        None,
        Some(wrong_last.as_str()),
        Some(&KEY[..KEY.len() - 1]),
        Some("x"),
    ];
    for path in ["/admin/audit", "/admin/users"] {
        for key in refusals {
            let response = admin_get(&app, path, key).await;
            assert_eq!(response.status(), 401, "{path} {key:?}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert!(
                response.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer")
            );
            let body = json_body(response).await;
            assert_eq!(body["error"]["code"], "invalid_admin_key");
            assert!(!body.to_string().contains(KEY));
        }
        // Another scheme, or the key where a Bearer token is expected twice.
        let basic = app
            .client
            .get(app.url(path))
            .header("authorization", format!("Basic {KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401);
        let twice = app
            .client
            .get(app.url(path))
            .header("authorization", format!("Bearer {KEY}"))
            .header("authorization", format!("Bearer {KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(twice.status(), 401);
        ok(admin_get(&app, path, Some(KEY)).await).await;
    }
    // Nothing about the API shows without the key, not even its methods.
    let put = app
        .client
        .put(app.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 401);
    let put = app
        .client
        .put(app.url("/admin/users"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
}

async fn the_audit_trail_by_user_time_and_count(backend: Backend) {
    let app = with_key(backend).await;
    app.signed_up("alice@example.com").await;
    app.register("Bob", "bob@example.com", PASSWORD).await;
    app.outbox_settled().await;
    let now = Clock::now(&*app.clock);
    let alice = app
        .backdated_event("alice@example.com", TimeDelta::days(3), "an old attempt")
        .await;

    let body = ok(admin_get(&app, "/admin/audit?user=Alice%40Example.com", Some(KEY)).await).await;
    let events = body["events"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(
        position("user.registered") < position("verification.succeeded"),
        "{names:?}"
    );
    assert!(names.contains(&"session.started") && names.contains(&"email.queued"));
    assert_eq!(names.last(), Some(&"login.failed"), "newest last");
    assert!(
        events
            .iter()
            .all(|e| e["email"] == "alice@example.com" && e["user_id"] == json!(alice))
    );
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let registered = &events[position("user.registered")];
    assert_eq!(registered["ip"], "127.0.0.1");
    assert_eq!(registered["outcome"], "success");
    assert!(registered["at"].as_str().is_some() && registered.get("user_agent").is_some());

    let recent = ok(admin_get(
        &app,
        "/admin/audit?user=alice%40example.com&since=24h",
        Some(KEY),
    )
    .await)
    .await;
    let recent = recent["events"].as_array().unwrap();
    assert!(!recent.is_empty());
    assert!(recent.iter().all(|e| e["detail"] != "an old attempt"));
    assert_eq!(recent.len() + 1, events.len());

    let since = (now - TimeDelta::days(1)).to_rfc3339();
    let everyone = ok(admin_get(
        &app,
        &format!("/admin/audit?since={}", urlencode(&since)),
        Some(KEY),
    )
    .await)
    .await;
    let emails: Vec<&str> = everyone["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["email"].as_str())
        .collect();
    assert!(emails.contains(&"alice@example.com") && emails.contains(&"bob@example.com"));
    assert!(!everyone.to_string().contains("an old attempt"));

    let newest = ok(admin_get(
        &app,
        "/admin/audit?user=alice%40example.com&limit=2",
        Some(KEY),
    )
    .await)
    .await;
    let newest = newest["events"].as_array().unwrap();
    assert_eq!(newest.len(), 2);
    assert_eq!(newest[1]["detail"], "an old attempt");
    assert_eq!(newest[0]["id"], events[events.len() - 2]["id"]);

    // The whole trail is there without filters, and has no password in it.
    let all = ok(admin_get(&app, "/admin/audit?limit=1000", Some(KEY)).await).await;
    assert!(all["events"].as_array().unwrap().len() > events.len());
    assert!(!all.to_string().contains(PASSWORD));
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

async fn users_are_listed_by_status_a_page_at_a_time(backend: Backend) {
    let app = with_key(backend).await;
    let cookie = app.signed_up("u1@example.com").await;
    for n in 2..=4 {
        let response = app
            .register(&format!("User {n}"), &format!("u{n}@example.com"), PASSWORD)
            .await;
        assert_eq!(response.status(), 201);
    }
    app.signed_up("u5@example.com").await;
    // u1 sets up email codes.
    assert_eq!(
        app.post_as(&cookie, "/mfa/email/enroll", &json!({}))
            .await
            .status(),
        202
    );
    let mails = app
        .sink()
        .wait_for_subject("u1@example.com", "Your sign-in code", 1)
        .await;
    let code = crate::helpers::six_digits(&mails[0].text());
    assert_eq!(
        app.post_as(&cookie, "/mfa/email/confirm", &json!({ "code": code }))
            .await
            .status(),
        200
    );

    let mut seen = Vec::new();
    let mut path = "/admin/users?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = ok(admin_get(&app, &path, Some(KEY)).await).await;
        pages += 1;
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= 2);
        seen.extend(users.iter().cloned());
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(users.len(), 2);
                assert_eq!(next, users[1]["id"].as_str().unwrap());
                path = format!("/admin/users?limit=2&after={next}");
            }
            None => break,
        }
        assert!(pages < 5, "the cursor moves on");
    }
    assert_eq!(pages, 3);
    let emails: Vec<&str> = seen.iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(
        emails,
        [
            "u5@example.com",
            "u4@example.com",
            "u3@example.com",
            "u2@example.com",
            "u1@example.com"
        ],
        "newest first, each once"
    );
    let u1 = &seen[4];
    assert_eq!(u1["status"], "active");
    assert_eq!(u1["factors"], json!(["email"]));
    assert_eq!(u1["name"], "Ada Lovelace");
    assert!(u1["verified_at"].is_string() && u1["created_at"].is_string());
    let u2 = &seen[3];
    assert_eq!(u2["status"], "pending");
    assert_eq!(u2["verified_at"], Value::Null);
    assert_eq!(u2["factors"], json!([]));
    assert_eq!(u2["name"], "User 2");

    let active = ok(admin_get(&app, "/admin/users?status=active", Some(KEY)).await).await;
    let active: Vec<&str> = active["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(active, ["u5@example.com", "u1@example.com"]);
    let pending = ok(admin_get(&app, "/admin/users?status=pending&limit=1", Some(KEY)).await).await;
    assert_eq!(pending["users"][0]["email"], "u4@example.com");
    let next = pending["next"].as_str().unwrap();
    let rest = ok(admin_get(
        &app,
        &format!("/admin/users?status=pending&after={next}"),
        Some(KEY),
    )
    .await)
    .await;
    let rest: Vec<&str> = rest["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["u3@example.com", "u2@example.com"]);

    // By address, in any letter case: how an operator finds an id.
    let one = ok(admin_get(&app, "/admin/users?email=U3%40Example.com", Some(KEY)).await).await;
    assert_eq!(one["users"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["users"][0]["email"], "u3@example.com");
    assert_eq!(one["next"], Value::Null);
    let none =
        ok(admin_get(&app, "/admin/users?email=nobody%40example.com", Some(KEY)).await).await;
    assert_eq!(none["users"], json!([]));
}

async fn unknown_query_values_are_400(backend: Backend) {
    let app = with_key(backend).await;
    app.register_and_get_link("known@example.com").await;
    for (path, field) in [
        ("/admin/users?status=banned", Some("status")),
        ("/admin/users?limit=0", Some("limit")),
        ("/admin/users?limit=1001", Some("limit")),
        ("/admin/users?limit=ten", Some("limit")),
        ("/admin/users?limit=-1", Some("limit")),
        ("/admin/users?after=not-a-cursor", Some("after")),
        ("/admin/users?email=not-an-email", Some("email")),
        ("/admin/users?sort=name", None),
        ("/admin/users?limit=1&limit=2", None),
        ("/admin/audit?since=soon", Some("since")),
        ("/admin/audit?since=2026-13-01T00:00:00Z", Some("since")),
        ("/admin/audit?since=100000000000y", Some("since")),
        ("/admin/audit?user=not-an-email", Some("user")),
        ("/admin/audit?user=nobody%40example.com", Some("user")),
        ("/admin/audit?limit=99999999999999999999", Some("limit")),
        ("/admin/audit?usr=known%40example.com", None),
        ("/admin/audit?since=%ZZ", None),
    ] {
        let response = admin_get(&app, path, Some(KEY)).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], "invalid_query", "{path}: {body}");
        assert!(body["error"]["message"].is_string());
        if let Some(field) = field {
            assert!(
                body["error"]["fields"][field][0]["message"].is_string(),
                "{path}: {body}"
            );
        }
    }
    // Empty values are no filter at all.
    let body = ok(admin_get(&app, "/admin/users?status=&after=&limit=", Some(KEY)).await).await;
    assert_eq!(body["users"][0]["email"], "known@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_admin_key_stops_the_start() {
    for (key, message) in [
        ("too-short-0123456789", "at least 32 characters"),
        ("", "at least 32 characters"),
        ("with a space 0123456789abcdefghijklmnop", "printable ASCII"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = latchkey::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: fresh_database(Backend::Sqlite, dir.path()).await,
            mail_dir: Some(dir.path().join("mail")),
            admin_api_key: Some(key.to_owned()),
            ..latchkey::Config::default()
        };
        let error = latchkey::App::build(&config).await.unwrap_err();
        let error = format!("{error:#}");
        assert!(
            error.contains("LATCHKEY_ADMIN_API_KEY") && error.contains(message),
            "{error}"
        );
        assert!(
            !error.contains(key) || key.is_empty(),
            "the key is not repeated"
        );
    }
}

pub(crate) async fn admin_delete(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.delete(app.url(path));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.send().await.unwrap()
}

/// OWASP ASVS 5.0 7.4.5: an administrator ends one person's sessions, or
/// everyone's; their cookies and access tokens stop working at once.
async fn the_admin_can_end_sessions(backend: Backend) {
    let app = with_key(backend).await;
    let ann = app.signed_up("ann@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let login = app.login("ann@example.com", PASSWORD).await;
    let token = json_body(login).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let status_of = |cookie: Option<&str>, bearer: Option<&str>| {
        let mut request = app.client.get(app.url("/me"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie.to_owned());
        }
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status_of(Some(&ann), None).await, 200);
    assert_eq!(status_of(None, Some(&token)).await, 200);

    let ann_id = app
        .store
        .user_by_email(&latchkey::domain::EmailAddress::parse("ann@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let path = format!("/admin/users/{ann_id}/sessions");
    assert_eq!(admin_delete(&app, &path, None).await.status(), 401);
    assert_eq!(
        admin_delete(&app, &path, Some("wrong-key-0123456789-abcdefghijklmnop"))
            .await
            .status(),
        401
    );
    assert_eq!(
        status_of(Some(&ann), None).await,
        200,
        "nothing ended without the key"
    );
    let ended = ok(admin_delete(&app, &path, Some(KEY)).await).await;
    assert_eq!(ended["revoked"], 2, "the sign-up's session and the login's");
    assert_eq!(status_of(Some(&ann), None).await, 401);
    assert_eq!(
        status_of(None, Some(&token)).await,
        401,
        "its access token too"
    );
    assert_eq!(status_of(Some(&bob), None).await, 200, "others keep theirs");

    let nobody = format!("/admin/users/{}/sessions", uuid::Uuid::now_v7());
    assert_eq!(admin_delete(&app, &nobody, Some(KEY)).await.status(), 404);
    assert_eq!(
        admin_delete(&app, "/admin/users/not-an-id/sessions", Some(KEY))
            .await
            .status(),
        404
    );

    let everyone = ok(admin_delete(&app, "/admin/sessions", Some(KEY)).await).await;
    assert_eq!(everyone["revoked"], 1);
    assert_eq!(status_of(Some(&bob), None).await, 401);
    let audit = app.store.audit_trail(None, 500).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|event| event.event == "session.revoked_by_admin")
            .count(),
        2
    );
}

/// An owner who lost the old mailbox, through support: the operator sends
/// the link to the new address (no password), and the account moves only
/// when it is used there.
async fn an_operator_sends_the_link_for_an_owner_who_lost_the_mailbox(backend: Backend) {
    let app = with_key(backend).await;
    let cookie = app.signed_up("lost@example.com").await;
    app.signed_up("other@example.com").await;
    app.register_and_get_link("waiting@example.com").await;
    let id_of = async |email: &str| {
        let address = latchkey::domain::EmailAddress::parse(email).unwrap();
        app.store.user_by_email(&address).await.unwrap().unwrap().id
    };
    let (lost, waiting) = (
        id_of("lost@example.com").await,
        id_of("waiting@example.com").await,
    );
    let give = async |id: String, body: Value, key: &str| {
        app.client
            .post(app.url(&format!("/admin/users/{id}/email")))
            .header("authorization", format!("Bearer {key}"))
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let to = |email: &str| json!({ "email": email });

    let no_key = give(lost.to_string(), to("found@example.com"), "wrong").await;
    assert_eq!(no_key.status(), 401);
    let refusals = [
        (
            uuid::Uuid::now_v7().to_string(),
            to("found@example.com"),
            404,
            "not_found",
        ),
        (
            "not-an-id".to_owned(),
            to("found@example.com"),
            404,
            "not_found",
        ),
        (
            lost.to_string(),
            to("not an address"),
            422,
            "validation_failed",
        ),
        (
            lost.to_string(),
            to("lost@example.com"),
            422,
            "validation_failed",
        ),
        (
            lost.to_string(),
            to("Other@example.com"),
            409,
            "email_taken",
        ),
        (
            waiting.to_string(),
            to("found@example.com"),
            403,
            "email_not_verified",
        ),
    ];
    for (id, body, status, code) in refusals {
        let response = give(id, body.clone(), KEY).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(json_body(response).await["error"]["code"], code, "{body}");
    }

    let asked = give(lost.to_string(), to("found@example.com"), KEY).await;
    assert_eq!(asked.status(), 202);
    assert_eq!(asked.headers()["cache-control"], "no-store");
    let pending = json_body(asked).await["pending"].clone();
    assert_eq!(pending["email"], "found@example.com");
    assert!(pending["expires_at"].is_string(), "{pending}");
    app.sink()
        .wait_for_subject(
            "lost@example.com",
            "A change of your email address was requested",
            1,
        )
        .await;
    assert_eq!(email_of_session(&app, &cookie).await, "lost@example.com");
    let token = link_token(&app, "found@example.com", 1).await;
    assert_eq!(confirm(&app, &token).await.status(), 200);
    assert_eq!(email_of_session(&app, &cookie).await, "found@example.com");
    assert_eq!(app.login("found@example.com", PASSWORD).await.status(), 200);
    let trail = app.store.audit_trail(Some(lost), 100).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.event == "user.email_change_requested"
                && e.detail.as_deref() == Some("to found@example.com, asked for by an operator")),
        "{trail:?}"
    );
}
