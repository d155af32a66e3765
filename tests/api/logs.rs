//! No secret in the logs, even at TRACE: the real binary runs as a child
//! process with `RUST_LOG=trace` (a subscriber is global to a process, and
//! the app logs from many threads, so capturing its stderr is the only
//! complete view), goes through a whole flow, and its log is searched for
//! every secret that went by.

use std::fs::File;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    Backend, MailSink, PASSWORD, both_backends, fresh_database, set_cookie, six_digits, token_of,
};
use crate::mfa::code_at;

both_backends!(a_whole_flow_logs_no_secret_at_trace_level);

/// The binary, killed when dropped.
struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn post(&self, path: &str, cookie: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    async fn json(&self, path: &str, cookie: Option<&str>, body: &Value) -> Value {
        let response = self.post(path, cookie, body).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }
}

/// The code of the `n`th sign-in code email to `address` (deliveries run
/// concurrently: other emails may overtake it).
async fn code_mail(sink: &MailSink, address: &str, n: usize) -> String {
    for _ in 0..300 {
        let codes: Vec<String> = sink
            .received_for(address)
            .iter()
            .filter(|mail| mail.parsed().subject() == Some("Your sign-in code"))
            .map(|mail| six_digits(&mail.text()))
            .collect();
        if codes.len() >= n {
            return codes[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no sign-in code email number {n}");
}

fn session_of(response: &reqwest::Response) -> String {
    format!(
        "latchkey_session={}",
        set_cookie(response, "latchkey_session").expect("a session cookie")
    )
}

/// A whole login: password, then `code` (or a code sent by email when
/// `None`). Returns the secrets it handed out: mfa_token, access token,
/// session cookie, and the emailed code if any.
async fn log_in(
    server: &Server,
    sink: &MailSink,
    email: &str,
    code: Option<&str>,
    codes: &mut usize,
) -> Vec<String> {
    let challenge = server
        .json(
            "/login",
            None,
            &json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(challenge["status"], "mfa_required", "{challenge}");
    let token = challenge["mfa_token"].as_str().unwrap().to_owned();
    let code = match code {
        Some(code) => code.to_owned(),
        None => {
            server
                .json(
                    "/mfa/challenge",
                    None,
                    &json!({ "mfa_token": token, "method": "email" }),
                )
                .await;
            *codes += 1;
            code_mail(sink, &email.to_lowercase(), *codes).await
        }
    };
    let done = server
        .post(
            "/mfa/verify",
            None,
            &json!({ "mfa_token": token, "code": code }),
        )
        .await;
    assert_eq!(done.status(), 200);
    let session = session_of(&done);
    let body: Value = done.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let value = session.split_once('=').unwrap().1.to_owned();
    vec![token, access, session, value, code]
}

async fn a_whole_flow_logs_no_secret_at_trace_level(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(backend, dir.path()).await;
    let sink = MailSink::start(0);
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let log_path = dir.path().join("latchkey.log");
    let secret_key = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        rand::random::<[u8; 32]>(),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .env("LATCHKEY_CONFIG", dir.path().join("absent.toml"))
        .env("LATCHKEY_LISTEN", format!("127.0.0.1:{port}"))
        .env("LATCHKEY_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("LATCHKEY_DATABASE_URL", &database_url)
        .env(
            "LATCHKEY_SMTP_URL",
            format!("smtp://127.0.0.1:{}", sink.port),
        )
        .env("LATCHKEY_SECRET_KEY", &secret_key)
        .env("LATCHKEY_ENUMERATION_PROTECTION", "true")
        .stdout(Stdio::null())
        .stderr(File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let mut up = false;
    for _ in 0..200 {
        if let Ok(response) = server
            .client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            && response.status() == 200
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "{}", std::fs::read_to_string(&log_path).unwrap());

    let email = "Ada.Secret@Example.com";
    let address = "Ada.Secret@example.com";
    let mut secrets: Vec<String> = vec![PASSWORD.to_owned()];
    let mut codes = 0;

    // Sign up, and open the link.
    server
        .json(
            "/register",
            None,
            &json!({ "name": "Ada Lovelace", "email": email, "password": PASSWORD }),
        )
        .await;
    let link = sink.wait_for(address, 1).await[0].link();
    let token = token_of(&link);
    let verified = server
        .client
        .get(&link)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let session = session_of(&verified);
    let value = session.split_once('=').unwrap().1.to_owned();
    secrets.extend([token, value]);
    // The browser's click too (the link is used by then).
    let page = server
        .client
        .get(&link)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // An authenticator app, then email codes.
    let enrolment = server
        .json("/mfa/totp/enroll", Some(&session), &json!({}))
        .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let now = latchkey::clock::Clock::now(&latchkey::clock::SystemClock);
    let step = now.timestamp() as u64 / 30;
    let first = code_at(&secret, step);
    let confirmed = server
        .json(
            "/mfa/totp/confirm",
            Some(&session),
            &json!({ "code": first }),
        )
        .await;
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    server
        .json("/mfa/email/enroll", Some(&session), &json!({}))
        .await;
    codes += 1;
    let enrol_code = code_mail(&sink, &address.to_lowercase(), codes).await;
    server
        .json(
            "/mfa/email/confirm",
            Some(&session),
            &json!({ "code": enrol_code }),
        )
        .await;
    secrets.extend([secret.clone(), first, enrol_code]);
    secrets.extend(recovery.iter().cloned());

    // Failures: a sign-up with the taken address, a wrong password, an
    // unknown address, a resend.
    server
        .json(
            "/register",
            None,
            &json!({ "name": "Eve", "email": email, "password": "another passphrase 77 times" }),
        )
        .await;
    secrets.push("another passphrase 77 times".to_owned());
    for (who, password) in [
        (email, "not the password at all"),
        ("nobody@example.com", PASSWORD),
    ] {
        let refused = server
            .post(
                "/login",
                None,
                &json!({ "email": who, "password": password }),
            )
            .await;
        assert_eq!(refused.status(), 401);
    }
    secrets.push("not the password at all".to_owned());
    server
        .post("/verify/resend", None, &json!({ "email": email }))
        .await;

    // Log in three ways: an emailed code, a recovery code, the app's code.
    secrets.extend(log_in(&server, &sink, email, None, &mut codes).await);
    secrets.extend(log_in(&server, &sink, email, Some(&recovery[0]), &mut codes).await);
    let next = code_at(&secret, step + 1);
    let last = log_in(&server, &sink, email, Some(&next), &mut codes).await;
    secrets.extend(last.iter().cloned());
    let (access, session) = (&last[1], &last[2]);

    // The access token, the session, its next token, and out.
    let me = server
        .client
        .get(format!("{}/me", server.base))
        .header("authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let renewed = server.json("/token", Some(session), &json!({})).await;
    secrets.push(renewed["access_token"].as_str().unwrap().to_owned());
    let out = server.post("/logout", Some(session), &json!({})).await;
    assert_eq!(out.status(), 204);
    // Let the outbox finish its deliveries (their logs too): the link, two
    // factors added, two codes, the sign-up attempt.
    sink.wait_for(address, 6).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains(" DEBUG ") && log.contains("email delivered"),
        // (Nothing the flow does logs at TRACE; the filter let it through.)
        "the log was captured at DEBUG level and below: {}",
        log.lines().take(40).collect::<Vec<_>>().join("\n")
    );
    assert!(
        log.contains("passkeys are not offered"),
        "an IP public URL's missing passkeys are explained at start"
    );
    let mut leaks = Vec::new();
    for secret in &secrets {
        if appears(&log, secret) {
            leaks.push(secret.clone());
        }
    }
    for address in [email.to_owned(), email.to_lowercase(), address.to_owned()] {
        if log.to_lowercase().contains(&address.to_lowercase()) {
            leaks.push(address);
        }
    }
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| leaks.iter().any(|leak| appears(line, leak)))
        .take(10)
        .collect();
    assert!(
        leaks.is_empty(),
        "secrets in the log: {leaks:?}\n{}",
        lines.join("\n")
    );
}

/// `secret` in `text`; a 6-digit code only as a whole word (timestamps and
/// ids are full of digits).
fn appears(text: &str, secret: &str) -> bool {
    if secret.len() > 6 {
        return text.contains(secret);
    }
    text.match_indices(secret).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}
