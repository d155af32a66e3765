//! The owner's view of the trail: `GET /me/activity` and the dashboard's
//! "Recent activity".

use serde_json::{Value, json};

use crate::browser::Visitor;
use crate::helpers::{Backend, TestApp, both_backends, json_body};
use crate::mfa::enrol_totp;
use crate::tokens::verified_person;

both_backends!(
    the_owner_pages_back_through_every_entry_once,
    the_owner_sees_sign_ins_failures_and_changes_newest_first,
    the_dashboard_shows_the_recent_activity_and_folds_the_older,
);

async fn activity(app: &TestApp, auth: (&str, &str)) -> reqwest::Response {
    activity_before(app, auth, None).await
}

async fn activity_before(
    app: &TestApp,
    auth: (&str, &str),
    before: Option<&str>,
) -> reqwest::Response {
    let path = match before {
        Some(before) => format!("/me/activity?before={before}"),
        None => "/me/activity".to_owned(),
    };
    app.client
        .get(app.url(&path))
        .header(auth.0, auth.1)
        .send()
        .await
        .unwrap()
}

fn names(events: &Value) -> Vec<&str> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event"].as_str().unwrap())
        .collect()
}

async fn the_owner_sees_sign_ins_failures_and_changes_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "ada@example.com").await;
    let bob = verified_person(&app, "bob@example.com").await;

    // Someone else tries Ada's address with a wrong password, and Bob's.
    for email in ["ada@example.com", "bob@example.com"] {
        let refused = app
            .client
            .post(app.url("/login"))
            .header("user-agent", "Mallory/1.0")
            .json(&json!({"email": email, "password": "not the password at all"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
    let renamed = app
        .client
        .patch(app.url("/me"))
        .header("cookie", &ada.cookie)
        .json(&json!({"name": "Ada King"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    enrol_totp(&app, &ada.cookie).await;

    let answer = activity(&app, ("cookie", &ada.cookie)).await;
    assert_eq!(answer.status(), 200);
    let body = json_body(answer).await;
    let events = &body["events"];
    // Newest first; the password step, emails and the like are the
    // operators' (no `email.queued`, no `login.succeeded`).
    assert_eq!(
        names(events),
        [
            "mfa.recovery_codes_issued",
            "mfa.factor_added",
            "user.renamed",
            "login.failed",
            "session.started",
            "verification.succeeded",
            "user.registered",
        ],
        "{body}"
    );
    assert_eq!(
        events[1]["description"],
        "Two-step verification method added"
    );
    assert_eq!(events[1]["method"], "totp");
    assert_eq!(events[2]["description"], "Name changed");
    assert_eq!(events[2]["outcome"], "success");
    assert!(events[2].get("method").is_none(), "{body}");
    let failed = &events[3];
    assert_eq!(failed["description"], "Failed sign-in");
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["user_agent"], "Mallory/1.0");
    assert_eq!(failed["ip"], "127.0.0.1");
    // The operators' free text is not passed on.
    for event in events.as_array().unwrap() {
        assert!(event.get("detail").is_none(), "{event}");
        assert!(event["at"].as_str().is_some(), "{event}");
    }

    // Bob's trail is his own: his failed sign-in, not Ada's changes.
    let bobs = json_body(activity(&app, ("cookie", &bob.cookie)).await).await;
    assert_eq!(
        names(&bobs["events"]),
        [
            "login.failed",
            "session.started",
            "verification.succeeded",
            "user.registered"
        ]
    );

    // An access token reads it too; without either, 401.
    let token = json_body(app.post_as(&ada.cookie, "/token", &json!({})).await).await;
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let by_token = activity(&app, ("authorization", &bearer)).await;
    assert_eq!(by_token.status(), 200);
    assert_eq!(json_body(by_token).await, body);
    let anonymous = app
        .client
        .get(app.url("/me/activity"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn the_dashboard_shows_the_recent_activity_and_folds_the_older(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let person = verified_person(&app, "page-activity@example.com").await;
    let (browser, _) = Visitor::open(&app, "/login").await;
    let mut browser = browser.with(&person.cookie);

    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    assert!(html.contains("Recent activity"), "{html}");
    assert!(html.contains("Email address confirmed"), "{html}");
    assert!(!html.contains("Older activity"), "{html}");

    for round in 0..10 {
        let renamed = app
            .client
            .patch(app.url("/me"))
            .header("cookie", &person.cookie)
            .json(&json!({"name": format!("Name {round}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(renamed.status(), 200);
    }
    let html = browser.get(&app, "/dashboard").await.text().await.unwrap();
    let (recent, older) = html
        .split_once("Older activity")
        .expect("the older entries folded");
    assert_eq!(
        recent
            .matches("<td data-label=\"What\">Name changed")
            .count(),
        10
    );
    assert!(!recent.contains("Account created"), "{recent}");
    assert!(older.contains("Signed in"), "{older}");
    assert!(older.contains("Account created"), "{older}");
}

/// 50 entries a page, `next` leading to the older ones: every entry comes
/// once, in order, entries of one instant included; a cursor is good for
/// its own account only.
async fn the_owner_pages_back_through_every_entry_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = verified_person(&app, "ada@example.com").await;
    let bob = verified_person(&app, "bob@example.com").await;
    let ada_auth = ("cookie", ada.cookie.as_str());
    let before = json_body(activity(&app, ada_auth).await).await;
    let already = before["events"].as_array().unwrap().len();
    assert!(before["next"].is_null(), "{before}");

    // 60 failed sign-ins, two to an instant, all older than the sign-up.
    for i in 0..60 {
        let age = chrono::TimeDelta::days(1) + chrono::TimeDelta::seconds(i / 2);
        app.backdated_event("ada@example.com", age, "wrong password")
            .await;
    }

    let mut seen: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = json_body(activity_before(&app, ada_auth, cursor.as_deref()).await).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 50, "{} on one page", events.len());
        seen.extend(events.iter().cloned());
        pages += 1;
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(events.len(), 50, "only a full page has a next");
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), already + 60);
    let failures = seen
        .iter()
        .filter(|event| event["event"] == "login.failed")
        .count();
    assert_eq!(failures, 60, "every entry once");
    let times: Vec<&str> = seen.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first across the pages");

    // Bob cannot page through Ada's activity with her cursor.
    let bob_auth = ("cookie", bob.cookie.as_str());
    let first = json_body(activity(&app, ada_auth).await).await;
    let ada_next = first["next"].as_str().unwrap();
    let borrowed = json_body(activity_before(&app, bob_auth, Some(ada_next)).await).await;
    assert_eq!(borrowed["events"], json!([]), "{borrowed}");
    assert!(borrowed["next"].is_null());

    for bad in ["abc", "0", "-1", "1%3B%20DROP"] {
        let refused = activity_before(&app, ada_auth, Some(bad)).await;
        assert_eq!(refused.status(), 400, "{bad}");
        assert_eq!(json_body(refused).await["error"]["code"], "bad_request");
    }
}
