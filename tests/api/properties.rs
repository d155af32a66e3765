//! Property tests: arbitrary bytes through every request body and query
//! parser of the real router (`tower::ServiceExt::oneshot` with the state of
//! a running test app, so no sockets per case). Never a panic, never a 5xx;
//! on the API a 4xx is always our error body, on the pages HTML or a 303.

use axum::body::Body;
use axum::http::{Method, Request, header};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::{Backend, PASSWORD, TestApp, set_cookie};

/// The JSON endpoints and the fields each reads.
const JSON_BODIES: &[(&str, &[&str])] = &[
    ("/register", &["name", "email", "password"]),
    ("/verify/resend", &["email"]),
    ("/password/check", &["password", "name", "email"]),
    ("/login", &["email", "password"]),
    ("/logout", &[]),
    ("/token", &[]),
    ("/mfa/challenge", &["mfa_token", "method"]),
    ("/mfa/verify", &["mfa_token", "code"]),
    ("/mfa/totp/enroll", &["mfa_token"]),
    (
        "/mfa/totp/confirm",
        &["mfa_token", "code", "revoke_other_sessions"],
    ),
    ("/mfa/sms/enroll", &["mfa_token", "phone"]),
    ("/mfa/email/enroll", &["mfa_token"]),
    (
        "/mfa/sms/confirm",
        &["mfa_token", "code", "revoke_other_sessions"],
    ),
    (
        "/mfa/email/confirm",
        &["mfa_token", "code", "revoke_other_sessions"],
    ),
    ("/mfa/recovery-codes", &[]),
    ("/password/reset", &["email"]),
    ("/password/reset/confirm", &["token", "password"]),
    ("/password/change", &["current_password", "new_password"]),
    ("/email/change", &["email", "current_password"]),
    ("/email/confirm", &["token"]),
    ("/email/revert", &["token"]),
];

/// The pages' form posts and the fields each reads (`csrf_token` always).
const FORMS: &[(&str, &[&str])] = &[
    ("/register", &["name", "email", "password"]),
    ("/verify/resend", &["email"]),
    ("/login", &["email", "password"]),
    ("/logout", &[]),
    ("/mfa/challenge", &["method"]),
    ("/mfa/verify", &["code", "field", "method"]),
    ("/mfa/totp/enroll", &[]),
    ("/mfa/totp/confirm", &["code", "revoke_other_sessions"]),
    ("/mfa/sms/enroll", &["phone"]),
    ("/mfa/email/enroll", &[]),
    ("/mfa/sms/confirm", &["code", "revoke_other_sessions"]),
    ("/mfa/email/confirm", &["code", "revoke_other_sessions"]),
    ("/mfa/recovery-codes", &[]),
    ("/mfa/totp/remove", &[]),
    ("/sessions/0190a0a0-0000-7000-8000-000000000000/revoke", &[]),
    ("/sessions/revoke-others", &[]),
    ("/password/reset", &["email"]),
    (
        "/password/reset/confirm",
        &["token", "password", "password_confirm"],
    ),
    ("/password/change", &["current_password", "new_password"]),
    ("/account/name", &["name"]),
    ("/email/change", &["email", "current_password"]),
    ("/email/confirm", &["token"]),
    ("/email/revert", &["token"]),
    ("/email/change/cancel", &[]),
];

/// GETs (and the one DELETE) that read a query string, with the keys they
/// know; `true` for API answers (JSON), `false` for pages.
const QUERIES: &[(&str, &str, &[&str])] = &[
    ("GET", "/verify", &["token"]),
    ("GET", "/check-inbox", &["email", "resent"]),
    ("GET", "/resend", &["email"]),
    ("GET", "/login", &["email"]),
    ("GET", "/dashboard", &["notice"]),
    ("GET", "/mfa/setup", &["method"]),
    ("GET", "/mfa", &[]),
    ("DELETE", "/mfa/sms", &["revoke_other_sessions"]),
    ("GET", "/login/unlock", &["token"]),
    ("GET", "/password/forgot", &["email", "sent"]),
    ("GET", "/password/reset", &["token"]),
    ("GET", "/email/confirm", &["token", "changed"]),
    ("GET", "/email/revert", &["token", "reverted"]),
];

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: TestApp,
    /// `latchkey_session=...` of a verified account, signed in just now.
    session: String,
    /// A valid CSRF token, also sent as the `latchkey_csrf` cookie.
    csrf: String,
}

impl Fixture {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (app, session, csrf) = runtime.block_on(async {
            let app = TestApp::spawn(Backend::Sqlite).await;
            let session = app.signed_up("prop@example.com").await;
            let page = app.client.get(app.url("/signup")).send().await.unwrap();
            let csrf = set_cookie(&page, "latchkey_csrf").unwrap();
            (app, session, csrf)
        });
        Self {
            runtime,
            app,
            session,
            csrf,
        }
    }

    /// One request through the router, in process.
    fn send(&self, request: Request<Body>) -> Answer {
        self.runtime.block_on(async {
            let router =
                latchkey::http::router(self.app.state.clone(), self.app.config.request_timeout);
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|value| value.to_str().unwrap().to_owned());
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            Answer {
                status,
                content_type,
                body: body.to_vec(),
            }
        })
    }

    fn cookies(&self, signed_in: bool) -> String {
        let csrf = format!("latchkey_csrf={}", self.csrf);
        if signed_in {
            format!("{csrf}; {}", self.session)
        } else {
            csrf
        }
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    /// Below 500, and a 4xx is exactly `{"error": {"code", "message", "fields"?}}`.
    fn is_api_answer(&self, what: &str) -> Result<(), TestCaseError> {
        prop_assert!(self.status < 500, "{what}: {self:?}");
        if self.status >= 400 {
            prop_assert_eq!(
                self.content_type.as_deref(),
                Some("application/json"),
                "{}",
                what
            );
            let body: Value = serde_json::from_slice(&self.body)
                .map_err(|error| TestCaseError::fail(format!("{what}: {error}")))?;
            let outer = body.as_object().unwrap();
            prop_assert!(
                outer.len() == 1 && outer.contains_key("error"),
                "{what}: {body}"
            );
            let error = body["error"].as_object().unwrap();
            let code = error["code"].as_str().unwrap_or_default();
            prop_assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{what}: {body}"
            );
            prop_assert!(error["message"].is_string(), "{what}: {body}");
            prop_assert!(
                error
                    .keys()
                    .all(|key| ["code", "message", "fields"].contains(&key.as_str())),
                "{what}: {body}"
            );
        }
        Ok(())
    }

    /// Below 500, and a page or a redirect.
    fn is_page_answer(&self, what: &str) -> Result<(), TestCaseError> {
        prop_assert!(self.status < 500, "{what}: {self:?}");
        if self.status != 303 {
            prop_assert_eq!(
                self.content_type.as_deref(),
                Some("text/html; charset=utf-8"),
                "{}: {:?}",
                what,
                self
            );
        }
        Ok(())
    }
}

fn config() -> Config {
    Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    }
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(error) = TestRunner::new(config()).run(&strategy, test) {
        panic!("{error}");
    }
}

/// Strings a field may meet: valid ones, near misses, and anything.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(PASSWORD.to_owned()),
        Just("ada@example.com".to_owned()),
        Just("prop@example.com".to_owned()),
        Just("123456".to_owned()),
        Just("ABCD-EFGH-JKLM-NPQR".to_owned()),
        Just("+14155550123".to_owned()),
        Just("totp".to_owned()),
        Just("sms".to_owned()),
        Just("email".to_owned()),
        Just("recovery".to_owned()),
        Just("true".to_owned()),
        "[0-9]{0,8}",
        ".{0,40}",
        any::<String>(),
    ]
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        field_value().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A body for an endpoint reading `fields`: its fields with any values,
/// any JSON at all, or any bytes.
fn json_body(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let fields_or_not = if fields.is_empty() {
        Just(b"{}".to_vec()).boxed()
    } else {
        prop::collection::vec(
            (
                prop::sample::select(fields.to_vec()).prop_map(str::to_owned),
                prop_oneof![3 => field_value().prop_map(Value::String), 1 => json_value()],
            ),
            0..6,
        )
        .prop_map(|pairs| {
            serde_json::to_vec(&pairs.into_iter().collect::<serde_json::Map<_, _>>()).unwrap()
        })
        .boxed()
    };
    prop_oneof![
        4 => fields_or_not,
        2 => json_value().prop_map(|value| serde_json::to_vec(&value).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn json_content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("application/problem+json")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("multipart/form-data; boundary=x")),
        1 => Just(None),
    ]
}

#[test]
fn any_json_body_gets_an_api_answer() {
    let fixture = Fixture::new();
    let case = (0..JSON_BODIES.len())
        .prop_flat_map(|index| (Just(index), json_body(JSON_BODIES[index].1)))
        .prop_flat_map(|(index, body)| {
            (Just(index), Just(body), json_content_type(), any::<bool>())
        });
    run(case, |(index, body, content_type, signed_in)| {
        let path = JSON_BODIES[index].0;
        // A logout would end the session the other cases run on.
        let signed_in = signed_in && path != "/logout";
        let mut request = Request::post(path).header(header::COOKIE, fixture.cookies(signed_in));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let answer = fixture.send(request.body(Body::from(body.clone())).unwrap());
        answer.is_api_answer(&format!("POST {path} {:?}", String::from_utf8_lossy(&body)))
    });
}

/// A form body: the fields with any values, a CSRF token that is right,
/// wrong or missing, or any bytes.
fn form_body(fields: &'static [&'static str], csrf: String) -> impl Strategy<Value = Vec<u8>> {
    let mut names = fields.to_vec();
    names.push("csrf_token");
    let pairs = prop::collection::vec((prop::sample::select(names), field_value()), 0..6);
    let with_token = (
        pairs,
        prop_oneof![Just(Some(csrf)), Just(None), any::<String>().prop_map(Some)],
    )
        .prop_map(|(pairs, token)| {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in pairs {
                form.append_pair(name, &value);
            }
            if let Some(token) = token {
                form.append_pair("csrf_token", &token);
            }
            form.finish().into_bytes()
        });
    prop_oneof![4 => with_token, 1 => prop::collection::vec(any::<u8>(), 0..256)]
}

#[test]
fn any_form_body_gets_a_page() {
    let fixture = Fixture::new();
    let csrf = fixture.csrf.clone();
    let case = (0..FORMS.len())
        .prop_flat_map(move |index| (Just(index), form_body(FORMS[index].1, csrf.clone())))
        .prop_flat_map(|(index, body)| (Just(index), Just(body), any::<bool>()));
    run(case, |(index, body, signed_in)| {
        let path = FORMS[index].0;
        // A logout, or a login with the right password, would end the session.
        let signed_in = signed_in && !["/logout", "/login"].contains(&path);
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, fixture.cookies(signed_in))
            .body(Body::from(body.clone()))
            .unwrap();
        let answer = fixture.send(request);
        answer.is_page_answer(&format!("POST {path} {:?}", String::from_utf8_lossy(&body)))
    });
}

/// A query string: known keys, separators, and any percent-encoded byte.
fn query(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let mut known: Vec<String> = keys.iter().map(|key| format!("{key}=")).collect();
    known.push("revoke_other_sessions=".to_owned());
    let piece = prop_oneof![
        3 => prop::sample::select(known),
        3 => "[A-Za-z0-9._~-]{1,8}",
        2 => any::<u8>().prop_map(|byte| format!("%{byte:02X}")),
        1 => prop_oneof![Just("&"), Just("="), Just("+"), Just(";"), Just("%"), Just("%%")]
            .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

fn accept() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json")),
        Just(Some("text/html")),
        Just(Some("*/*")),
    ]
}

#[test]
fn any_query_string_gets_an_answer() {
    let fixture = Fixture::new();
    let case = (0..QUERIES.len())
        .prop_flat_map(|index| (Just(index), query(QUERIES[index].2)))
        .prop_flat_map(|(index, query)| (Just(index), Just(query), accept(), any::<bool>()));
    run(case, |(index, query, accept, signed_in)| {
        let (method, path, _) = QUERIES[index];
        let uri = format!("{path}?{query}");
        let Ok(uri) = uri.parse::<axum::http::Uri>() else {
            return Err(TestCaseError::reject("not a URI"));
        };
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(uri)
            .header(header::COOKIE, fixture.cookies(signed_in));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let answer = fixture.send(request.body(Body::empty()).unwrap());
        let what = format!("{method} {path}?{query} (accept {accept:?})");
        let html = match accept {
            Some("text/html") => true,
            Some("application/json") => false,
            // `/verify` and `/login/unlock` (emailed links) prefer the page
            // unless JSON is asked for; `/mfa`
            // only when HTML is; the rest are pages or the API alone.
            _ => ["/verify", "/login/unlock"].contains(&path),
        };
        match (method, path) {
            ("DELETE", _) => answer.is_api_answer(&what),
            (_, "/verify" | "/mfa" | "/login/unlock") if !html => answer.is_api_answer(&what),
            _ => answer.is_page_answer(&what),
        }
    });
}

/// Any path segment, percent-encoded.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("totp".to_owned()),
        Just("sms".to_owned()),
        Just("email".to_owned()),
        Just("0190a0a0-0000-7000-8000-000000000000".to_owned()),
        prop::collection::vec(any::<u8>(), 1..24)
            .prop_map(|bytes| { bytes.iter().map(|byte| format!("%{byte:02X}")).collect() }),
        "[A-Za-z0-9._~-]{1,12}",
    ]
}

#[test]
fn any_path_parameter_gets_an_answer() {
    let fixture = Fixture::new();
    // (method, path, whether the API answers it; else a page's form)
    let templates = [
        ("POST", "/mfa/{}/enroll", true),
        ("POST", "/mfa/{}/confirm", true),
        ("DELETE", "/mfa/{}", true),
        ("DELETE", "/sessions/{}", true),
        ("POST", "/mfa/{}/remove", false),
        ("POST", "/sessions/{}/revoke", false),
    ];
    let case = (
        prop::sample::select(templates.to_vec()),
        segment(),
        any::<bool>(),
    );
    run(case, |((method, template, api), segment, signed_in)| {
        let path = template.replace("{}", &segment);
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&path)
            .header(header::COOKIE, fixture.cookies(signed_in));
        let request = if api {
            request
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/json")
                .body(Body::from("{}"))
        } else {
            request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf_token={}", fixture.csrf)))
        };
        let answer = fixture.send(request.unwrap());
        let what = format!("{method} {path}");
        if api {
            answer.is_api_answer(&what)
        } else {
            answer.is_page_answer(&what)
        }
    });
}
