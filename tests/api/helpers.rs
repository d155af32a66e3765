//! Spawning the app, its database and an SMTP sink for one test.

#![allow(dead_code, reason = "each test uses a different part of the harness")]

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey::clock::ShiftedClock;
use latchkey::retention::Housekeeping;
use latchkey::state::AppState;
use latchkey::store::Store;
use latchkey::{App, Config};
use mailin_embedded::response::{OK, Response};
use mailin_embedded::{Handler, Server};
use serde_json::{Value, json};
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named async test once per storage engine.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}
pub(crate) use both_backends;

/// A strong password that passes the default policy.
pub const PASSWORD: &str = "violet submarine harvests 42 clouds";

/// One email as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a parsable email")
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .expect("a text part")
            .into_owned()
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .expect("an html part")
            .into_owned()
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().expect("a Message-ID").to_owned()
    }

    /// The verification link in the text part.
    pub fn link(&self) -> String {
        let text = self.text();
        let start = text.find("http").expect("a link in the email");
        text[start..].split_whitespace().next().unwrap().to_owned()
    }
}

#[derive(Clone, Default)]
struct SinkHandler {
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for SinkHandler {
    fn rcpt(&mut self, to: &str) -> Response {
        self.to.push(to.to_owned());
        OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail {
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        };
        self.inbox.lock().unwrap().push(mail);
        OK
    }
}

/// A real SMTP server on loopback (mailin-embedded) that keeps what it gets.
#[derive(Clone)]
pub struct MailSink {
    pub port: u16,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl MailSink {
    /// Starts listening on `port` (0: any free port).
    pub fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let handler = SinkHandler {
            inbox: inbox.clone(),
            ..SinkHandler::default()
        };
        let mut server = Server::new(handler);
        server
            .with_name("sink.test")
            .with_num_threads(64)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, inbox }
    }

    /// A loopback port with nothing listening (yet).
    pub fn unused_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().unwrap().clone()
    }

    pub fn received_for(&self, address: &str) -> Vec<ReceivedMail> {
        self.received()
            .into_iter()
            .filter(|mail| mail.to.iter().any(|to| to.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until `count` emails with `subject` reached `address` and
    /// returns those, in order of arrival; other mail (notices) is skipped,
    /// since messages queued close together may arrive in either order.
    pub async fn wait_for_subject(
        &self,
        address: &str,
        subject: &str,
        count: usize,
    ) -> Vec<ReceivedMail> {
        for _ in 0..300 {
            let mails: Vec<ReceivedMail> = self
                .received_for(address)
                .into_iter()
                .filter(|mail| mail.subject() == subject)
                .collect();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{address} did not receive {count} email(s) titled {subject:?} in 15 s");
    }

    /// Waits until `count` emails reached `address`, or fails the test.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<ReceivedMail> {
        for _ in 0..300 {
            let mails = self.received_for(address);
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{address} did not receive {count} email(s) in 15 s; got {}",
            self.received_for(address).len()
        );
    }
}

pub struct TestApp {
    pub wake: Arc<tokio::sync::Notify>,
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ShiftedClock>,
    pub store: Arc<dyn Store>,
    pub mail: Option<MailSink>,
    pub config: Config,
    pub dir: tempfile::TempDir,
    /// The running app's state, for what has no HTTP endpoint (yet): issuing
    /// access tokens, for instance.
    pub state: AppState,
    /// The retention policy, to run a round now rather than in ten minutes.
    pub housekeeping: Housekeeping,
}

/// A fresh, empty database for one test.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("latchkey.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("LATCHKEY_TEST_DATABASE_URL")
                .expect("PostgreSQL tests need LATCHKEY_TEST_DATABASE_URL (scripts/test.sh starts a throwaway server and sets it)");
            let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&name);
            url.to_string()
        }
    }
}

impl TestApp {
    /// The app with a fresh database and its own SMTP sink.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_configured(backend, |_| {}).await
    }

    /// The app with its own SMTP sink and a configuration of the test's.
    pub async fn spawn_configured(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let sink = MailSink::start(0);
        let port = sink.port;
        let mut app = Self::spawn_with(backend, |config| {
            config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            configure(config);
        })
        .await;
        app.mail = Some(sink);
        app
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database(backend, dir.path()).await;
        Self::spawn_in(dir, database_url, configure).await
    }

    /// Another instance on the database of `self`, sharing its secret key
    /// (as every instance of one deployment must).
    pub async fn another_instance(&self, configure: impl FnOnce(&mut Config)) -> Self {
        let secret_key = self.config.secret_key.clone();
        let database_url = self.config.database_url.clone();
        Self::spawn_in(tempfile::tempdir().unwrap(), database_url, |config| {
            config.secret_key = secret_key;
            configure(config);
        })
        .await
    }

    async fn spawn_in(
        dir: tempfile::TempDir,
        database_url: String,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url,
            mail_dir: Some(dir.path().join("mail")),
            secret_key: Some(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                rand::random::<[u8; 32]>(),
            )),
            ..Config::default()
        };
        configure(&mut config);
        let clock = Arc::new(ShiftedClock::default());
        let app = App::build_with_clock(&config, clock.clone())
            .await
            .expect("the app builds");
        let addr = app.local_addr().unwrap();
        let store = app.state().store.clone();
        let wake = app.state().mail_wake.clone();
        let state = app.state().clone();
        let housekeeping = app.housekeeping().clone();
        tokio::spawn(app.run_until(std::future::pending()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            wake,
            addr,
            base: format!("http://{addr}"),
            client,
            clock,
            store,
            mail: None,
            config,
            dir,
            state,
            housekeeping,
        }
    }

    /// Waits until every queued message has been sent (and its `email.sent`
    /// recorded) or cancelled, so no audit event arrives later than the test
    /// expects.
    pub async fn outbox_settled(&self) {
        for _ in 0..300 {
            let messages = self.store.messages(1000).await.unwrap();
            if messages
                .iter()
                .all(|m| matches!(m.status.as_str(), "sent" | "cancelled"))
            {
                return;
            }
            self.wake.notify_one();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the outbox did not empty in 15 s");
    }

    /// Records a failed login of the account of `email`, `age` ago, with
    /// `detail`; the clock only moves forward, so it is written straight into
    /// the trail (and is the newest entry recorded). Returns the account's id.
    pub async fn backdated_event(
        &self,
        email: &str,
        age: chrono::TimeDelta,
        detail: &str,
    ) -> latchkey::domain::UserId {
        use latchkey::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
        use latchkey::clock::Clock;
        let user = self
            .store
            .user_by_email(&latchkey::domain::EmailAddress::parse(email).unwrap())
            .await
            .unwrap()
            .unwrap();
        let event = AuditEvent::new(
            self.clock.now() - age,
            AuditKind::LoginFailed,
            Outcome::Failure,
            Some(user.id),
            &RequestMeta::internal(),
        )
        .with_detail(detail);
        self.store.audit(&event).await.unwrap();
        user.id
    }

    /// Rings this instance's outbox worker.
    pub fn state_wake(&self) {
        self.wake.notify_one();
    }

    pub fn sink(&self) -> &MailSink {
        self.mail.as_ref().expect("this app has an SMTP sink")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, name: &str, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/register",
            &json!({ "name": name, "email": email, "password": password }),
        )
        .await
    }

    /// Registers and returns the verification link from the delivered email
    /// (the inbox's next one titled so: it may hold earlier mail).
    pub async fn register_and_get_link(&self, email: &str) -> String {
        const SUBJECT: &str = "Confirm your email address";
        let earlier = self
            .sink()
            .received_for(email)
            .iter()
            .filter(|mail| mail.subject() == SUBJECT)
            .count();
        let response = self.register("Ada Lovelace", email, PASSWORD).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let mails = self
            .sink()
            .wait_for_subject(email, SUBJECT, earlier + 1)
            .await;
        mails[earlier].link()
    }

    /// Opens a link (or a path) as an API client would.
    pub async fn get_json(&self, url_or_path: &str) -> reqwest::Response {
        let url = if url_or_path.starts_with("http") {
            url_or_path.to_owned()
        } else {
            self.url(url_or_path)
        };
        self.client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
    }
}

/// Reads a JSON body, checking the content type on the way.
pub async fn json_body(response: reqwest::Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "every answer is JSON"
    );
    response.json().await.unwrap()
}

/// The token part of a verification link.
pub fn token_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned()
}

/// The value of cookie `name` set by `response`, if it sets one (empty when cleared).
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|value| {
            let pair = value.to_str().unwrap().split(';').next().unwrap().trim();
            pair.strip_prefix(&format!("{name}=")).map(str::to_owned)
        })
}

/// A Twilio-style SMS provider on loopback that keeps what it is sent.
#[derive(Clone)]
pub struct FakeSms {
    pub url: String,
    inbox: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeSms {
    pub async fn start() -> Self {
        use axum::extract::{Form, State};
        use axum::http::{HeaderMap, StatusCode};
        type Inbox = Arc<Mutex<Vec<(String, String)>>>;
        async fn messages(
            State(inbox): State<Inbox>,
            headers: HeaderMap,
            Form(form): Form<std::collections::HashMap<String, String>>,
        ) -> StatusCode {
            let authorized = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Basic "));
            if !authorized {
                return StatusCode::UNAUTHORIZED;
            }
            inbox
                .lock()
                .unwrap()
                .push((form["To"].clone(), form["Body"].clone()));
            StatusCode::CREATED
        }
        let inbox: Inbox = Arc::default();
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                axum::routing::post(messages),
            )
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inbox }
    }

    /// Waits for the `count`th SMS to `to` and returns the 6-digit code in it.
    pub async fn code(&self, to: &str, count: usize) -> String {
        for _ in 0..300 {
            let got: Vec<String> = self
                .inbox
                .lock()
                .unwrap()
                .iter()
                .filter(|(t, _)| t == to)
                .map(|(_, body)| body.clone())
                .collect();
            if got.len() >= count {
                return six_digits(&got[count - 1]);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no SMS number {count} to {to}");
    }
}

/// The first run of six digits in `text`.
pub fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

impl TestApp {
    /// Registers, verifies, and returns the session cookie (`name=value`).
    pub async fn signed_up(&self, email: &str) -> String {
        let token = token_of(&self.register_and_get_link(email).await);
        let response = self.get_json(&format!("/verify?token={token}")).await;
        assert_eq!(response.status(), 200);
        format!(
            "latchkey_session={}",
            set_cookie(&response, "latchkey_session").unwrap()
        )
    }

    /// Registers and opens the link; returns the answer (which carries no
    /// session under `LATCHKEY_MFA=required`).
    pub async fn verified(&self, email: &str) -> reqwest::Response {
        let token = token_of(&self.register_and_get_link(email).await);
        let response = self.get_json(&format!("/verify?token={token}")).await;
        assert_eq!(response.status(), 200);
        response
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/login", &json!({ "email": email, "password": password }))
            .await
    }

    /// GET, asking for JSON, with a cookie.
    pub async fn get_as(&self, cookie: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("cookie", cookie)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
    }

    /// POST with a JSON body and a cookie.
    pub async fn post_as(&self, cookie: &str, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("cookie", cookie)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}
