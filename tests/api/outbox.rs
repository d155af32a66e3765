use std::time::{Duration, Instant};

use crate::helpers::{Backend, MailSink, PASSWORD, TestApp, both_backends, token_of};

both_backends!(
    mail_survives_an_smtp_outage_and_is_delivered_once,
    the_outbox_gives_up_after_the_retry_window,
    without_smtp_emails_are_written_to_the_mail_folder,
);

async fn mail_survives_an_smtp_outage_and_is_delivered_once(backend: Backend) {
    let port = MailSink::unused_port();
    let app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;

    let started = Instant::now();
    let response = app.register("Ada", "outage@example.com", PASSWORD).await;
    assert_eq!(response.status(), 201, "sign-up does not wait for SMTP");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered in {:?}",
        started.elapsed()
    );

    // The worker tries, fails, and records why.
    let mut failed = None;
    for _ in 0..100 {
        let messages = app.store.messages(10).await.unwrap();
        if messages[0].attempts >= 1 {
            failed = Some(messages[0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = failed.expect("a delivery attempt within 5 s");
    assert_eq!(failed.status, "pending");
    assert!(failed.last_error.is_some());
    assert!(
        failed.next_attempt_at - failed.created_at <= chrono::TimeDelta::seconds(5),
        "first retry within 5 s"
    );

    // SMTP comes back on the same port; the next retry delivers.
    let sink = MailSink::start(port);
    let mails = sink.wait_for("outage@example.com", 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sink.received_for("outage@example.com").len(),
        1,
        "delivered exactly once"
    );
    let sent = app.store.messages(10).await.unwrap().remove(0);
    assert_eq!(sent.status, "sent");
    assert!(sent.attempts >= 2);
    assert_eq!(
        sent.message_id.trim_matches(['<', '>']),
        mails[0].message_id()
    );

    let trail = app.store.audit_trail(None, 100).await.unwrap();
    let events: Vec<&str> = trail.iter().map(|r| r.event.as_str()).collect();
    assert!(
        events.contains(&"email.deferred") && events.contains(&"email.sent"),
        "{events:?}"
    );

    let token = token_of(&mails[0].link());
    assert_eq!(
        app.get_json(&format!("/verify?token={token}"))
            .await
            .status(),
        200
    );
}

async fn the_outbox_gives_up_after_the_retry_window(backend: Backend) {
    let port = MailSink::unused_port();
    let app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.mail_retry_for = Duration::from_secs(3600);
    })
    .await;
    assert_eq!(
        app.register("Ada", "never@example.com", PASSWORD)
            .await
            .status(),
        201
    );
    // Move past the retry window; the next failed attempt is the last.
    app.clock.advance(Duration::from_secs(3601));
    let mut status = String::new();
    for _ in 0..200 {
        status = app.store.messages(1).await.unwrap().remove(0).status;
        if status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "failed");
    let trail = app.store.audit_trail(None, 100).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|r| r.event == "email.failed" && r.outcome == "failure")
    );
}

async fn without_smtp_emails_are_written_to_the_mail_folder(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.smtp_url = None).await;
    assert_eq!(
        app.register("Ada", "files@example.com", PASSWORD)
            .await
            .status(),
        201
    );
    let folder = app.dir.path().join("mail");
    let mut files = Vec::new();
    for _ in 0..100 {
        files = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read(&files[0]).unwrap();
    let mail = crate::helpers::ReceivedMail { to: vec![], raw };
    let token = token_of(&mail.link());
    assert_eq!(
        app.get_json(&format!("/verify?token={token}"))
            .await
            .status(),
        200
    );
}
