//! The command-line contract: `migrate`, `users list`, `users show`,
//! `outbox list`, `audit`, `prune`, `users delete`, `users change-email`.

use std::process::Command;

use chrono::TimeDelta;
use latchkey::clock::Clock;

use crate::email_change::{confirm, email_of_session, link_token};
use crate::helpers::{Backend, TestApp, both_backends};

both_backends!(
    the_cli_lists_users_and_outbox,
    the_cli_prints_the_audit_trail_by_user_and_time,
    the_cli_prunes_what_the_retention_policy_no_longer_keeps,
    the_cli_deletes_an_account_when_told_yes,
    the_cli_starts_a_change_of_address_that_only_its_link_completes,
);

fn latchkey(app: &TestApp, args: &[&str]) -> String {
    let output = command(app).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "latchkey {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn the_cli_lists_users_and_outbox(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_and_get_link("cli@example.com").await;
    // The sink has the mail a moment before the worker records `email.sent`.
    app.outbox_settled().await;
    assert!(latchkey(&app, &["migrate"]).contains("migrations applied"));
    let users = latchkey(&app, &["users", "list"]);
    assert!(
        users.contains("cli@example.com") && users.contains("pending"),
        "{users}"
    );
    let shown = latchkey(&app, &["users", "show", "CLI@example.com"]);
    assert!(
        shown.contains("user.registered") && shown.contains("email.sent"),
        "{shown}"
    );
    let outbox = latchkey(&app, &["outbox", "list"]);
    assert!(
        outbox.contains("verify_email") && outbox.contains("sent"),
        "{outbox}"
    );
}

async fn the_cli_prunes_what_the_retention_policy_no_longer_keeps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("old@example.com").await;
    app.outbox_settled().await;
    let id = app
        .backdated_event("old@example.com", TimeDelta::days(400), "a year ago")
        .await;
    let trail = app.store.audit_trail(Some(id), 100).await.unwrap();

    let output = latchkey(&app, &["prune"]);
    assert!(
        output.contains("0 sessions") && output.contains("1 audit entries"),
        "{output}"
    );
    let left = app.store.audit_trail(Some(id), 100).await.unwrap();
    assert_eq!(left.len(), trail.len() - 1);
    assert!(
        left.iter()
            .all(|e| e.detail.as_deref() != Some("a year ago"))
    );
}

async fn the_cli_deletes_an_account_when_told_yes(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |_| {}).await;
    let email = "gone@example.com";
    app.signed_up(email).await;
    let address = latchkey::domain::EmailAddress::parse(email).unwrap();
    let user = app.store.user_by_email(&address).await.unwrap().unwrap();

    let refused = latchkey_fails(&app, &["users", "delete", email]);
    assert!(refused.contains("--yes"), "{refused}");
    assert!(app.store.user_by_email(&address).await.unwrap().is_some());

    let deleted = latchkey(&app, &["users", "delete", "Gone@Example.com", "--yes"]);
    assert!(deleted.contains(&user.id.to_string()), "{deleted}");
    assert!(app.store.user_by_email(&address).await.unwrap().is_none());
    assert!(app.store.sessions_of(user.id).await.unwrap().is_empty());
    let trail = app.store.audit_trail(Some(user.id), 100).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.detail.as_deref()),
        ("user.deleted", Some("by an administrator"))
    );
    // The running instance's worker finds the notice in the outbox.
    app.sink()
        .wait_for_subject(email, "Your account was deleted", 1)
        .await;

    let unknown = latchkey_fails(&app, &["users", "delete", email, "--yes"]);
    assert!(
        unknown.contains("no account has this email address"),
        "{unknown}"
    );
}

async fn the_cli_starts_a_change_of_address_that_only_its_link_completes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = app.signed_up("lost@example.com").await;
    app.signed_up("taken@example.com").await;

    let started = latchkey(
        &app,
        &[
            "users",
            "change-email",
            "Lost@Example.com",
            "found@example.com",
        ],
    );
    assert!(started.contains("found@example.com"), "{started}");
    // Nothing moves before the link is used; the running instance sends it
    // and tells the current address.
    assert_eq!(email_of_session(&app, &cookie).await, "lost@example.com");
    app.sink()
        .wait_for_subject(
            "lost@example.com",
            "A change of your email address was requested",
            1,
        )
        .await;
    let token = link_token(&app, "found@example.com", 1).await;
    assert!(
        !started.contains(&token),
        "the operator is not given the link"
    );
    assert_eq!(confirm(&app, &token).await.status(), 200);
    assert_eq!(email_of_session(&app, &cookie).await, "found@example.com");

    // Refused: a taken address, a malformed one, an unknown account.
    for (current, new, says) in [
        (
            "found@example.com",
            "taken@example.com",
            "already registered",
        ),
        (
            "found@example.com",
            "not an address",
            "like name@example.com",
        ),
        ("nobody@example.com", "x@example.com", "no account"),
    ] {
        let refused = latchkey_fails(&app, &["users", "change-email", current, new]);
        assert!(refused.contains(says), "{new}: {refused}");
    }
}

fn command(app: &TestApp) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
        .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"));
    command
}

/// Runs a command that must fail; returns what it said on stderr.
fn latchkey_fails(app: &TestApp, args: &[&str]) -> String {
    let output = command(app).args(args).output().unwrap();
    assert!(!output.status.success(), "latchkey {args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

/// The lines of `audit` output after the header.
fn rows(output: &str) -> Vec<&str> {
    let mut lines = output.lines();
    assert!(lines.next().unwrap().starts_with("TIME"), "{output}");
    lines.collect()
}

async fn the_cli_prints_the_audit_trail_by_user_and_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("alice@example.com").await;
    app.register_and_get_link("bob@example.com").await;
    app.outbox_settled().await;
    let now = Clock::now(&*app.clock);
    app.backdated_event("alice@example.com", TimeDelta::days(3), "an old attempt")
        .await;

    let all_of_alice = latchkey(&app, &["audit", "--user", "Alice@Example.com"]);
    let lines = rows(&all_of_alice);
    let position = |event: &str| {
        lines
            .iter()
            .position(|line| line.contains(event))
            .unwrap_or_else(|| panic!("{event} missing from\n{all_of_alice}"))
    };
    assert!(position("user.registered") < position("verification.succeeded"));
    assert!(position("verification.succeeded") < position("an old attempt"));
    position("session.started");
    position("email.queued");
    assert!(
        lines.iter().all(|line| line.contains("alice@example.com")),
        "{all_of_alice}"
    );
    assert!(
        lines[position("user.registered")].contains("127.0.0.1"),
        "{all_of_alice}"
    );
    assert!(!all_of_alice.contains("bob@"), "{all_of_alice}");

    let recent = latchkey(
        &app,
        &["audit", "--user", "alice@example.com", "--since", "24h"],
    );
    assert!(
        recent.contains("verification.succeeded") && !recent.contains("an old attempt"),
        "{recent}"
    );
    let day_ago = (now - TimeDelta::days(1)).to_rfc3339();
    let everyone = latchkey(&app, &["audit", "--since", &day_ago]);
    assert!(
        everyone.contains("alice@example.com")
            && everyone.contains("bob@example.com")
            && !everyone.contains("an old attempt"),
        "{everyone}"
    );
    let newest = latchkey(
        &app,
        &["audit", "--user", "alice@example.com", "--limit", "1"],
    );
    let newest = rows(&newest);
    assert_eq!(newest.len(), 1, "{newest:?}");
    assert!(newest[0].contains("an old attempt"), "the newest is kept");

    // JSON lines, and the database named on the command line.
    let json = command(&app)
        .env(
            "LATCHKEY_DATABASE_URL",
            "sqlite:///nonexistent/elsewhere.db",
        )
        .args(["audit", "--json", "--user", "bob@example.com"])
        .arg("--database-url")
        .arg(&app.config.database_url)
        .output()
        .unwrap();
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["event"] == "user.registered"));
    assert!(events.iter().all(|e| e["email"] == "bob@example.com"));

    assert!(latchkey_fails(&app, &["audit", "--since", "soon"]).contains("RFC 3339"));
    assert!(
        latchkey_fails(&app, &["audit", "--user", "nobody@example.com"])
            .contains("No account has this email address")
    );
    assert!(latchkey_fails(&app, &["audit", "--limit", "0"]).contains("limit"));
}
