//! `GET /openapi.json` covers every route: the route table is read out of
//! the source (axum cannot list its routes), and each `(method, path)` must
//! be in the document the live app serves, and the other way round; each
//! operation has an `operationId` of its own.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::{Backend, TestApp, json_body};

type Route = (String, String);

/// Every `.route("PATH", ...)` in `src/`, with the methods its handler
/// answers: `get(..)`, `post(..)`, `delete(..)` (and chained `.post(..)`),
/// `form_or_json(..)` (a POST) and `page_or_json(..)` (a GET).
fn route_table() -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (path, handler) in route_calls(&code) {
            let methods = methods_of(&handler);
            assert!(
                !methods.is_empty(),
                "{}: cannot tell the methods of route {path}: {handler} (teach tests/api/openapi.rs)",
                file.display()
            );
            for method in methods {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// `(path, handler expression)` of each `.route(` call in `code`.
fn route_calls(code: &str) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    let mut rest = code;
    while let Some(start) = rest.find(".route(") {
        rest = &rest[start + ".route(".len()..];
        // The arguments, up to the matching parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })
            .expect("a closed .route( call");
        let arguments = &rest[..end];
        let (path, handler) = arguments.split_once(',').expect("two arguments");
        let path = path.trim();
        assert!(
            path.starts_with('"') && path.ends_with('"'),
            "a route path that is not a literal: {path} (teach tests/api/openapi.rs)"
        );
        calls.push((path.trim_matches('"').to_owned(), handler.to_owned()));
        rest = &rest[end..];
    }
    calls
}

fn methods_of(handler: &str) -> BTreeSet<&'static str> {
    let combinators = [
        ("get(", "get"),
        ("post(", "post"),
        ("put(", "put"),
        ("patch(", "patch"),
        ("delete(", "delete"),
        ("form_or_json(", "post"),
        ("page_or_json(", "get"),
    ];
    let mut methods = BTreeSet::new();
    for (index, _) in handler.match_indices('(') {
        let before = &handler[..=index];
        // The identifier right before the parenthesis, whatever its path.
        let word_start = before[..index]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let word = &before[word_start..];
        for (combinator, method) in combinators {
            if word == combinator {
                methods.insert(method);
            }
        }
    }
    methods
}

fn documented(document: &Value) -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                routes.insert((method.clone(), path.clone()));
            }
        }
    }
    routes
}

async fn served_document(app: &TestApp) -> Value {
    let response = app.get_json("/openapi.json").await;
    assert_eq!(response.status(), 200);
    json_body(response).await
}

#[tokio::test]
async fn the_route_table_reader_sees_the_known_routes() {
    let routes = route_table();
    for (method, path) in [
        ("post", "/register"),
        ("get", "/verify"),
        ("get", "/mfa"),
        ("delete", "/mfa/{method}"),
        ("get", "/signup"),
        ("post", "/sessions/{id}/revoke"),
        ("get", "/openapi.json"),
    ] {
        assert!(
            routes.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} missing from {routes:?}"
        );
    }
    // A route added without documentation is seen too.
    let code = r#"Router::new().route("/new", axum::routing::get(new::get).post(new::post))"#;
    let calls = route_calls(code);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "/new");
    assert_eq!(
        methods_of(&calls[0].1),
        BTreeSet::from(["get", "post"]),
        "{calls:?}"
    );
}

#[tokio::test]
async fn every_route_is_in_the_served_document_and_nothing_else() {
    // With an admin key, so that the admin API is routed too.
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.admin_api_key = Some("openapi-test-admin-key-0123456789-abcdef".to_owned());
        config.metrics_token = Some("openapi-test-metrics-token-0123456789-abc".to_owned());
    })
    .await;
    let document = served_document(&app).await;
    let routes = route_table();
    let documented = documented(&document);
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    // Every operation has a name of its own, as OpenAPI requires.
    let mut names = BTreeSet::new();
    for (method, path) in &documented {
        let name = document["paths"][path][method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(names.insert(name.to_owned()), "{name} names two operations");
    }
    assert_eq!(
        document["paths"]["/mfa/{method}/enroll"]["post"]["operationId"],
        "post_mfa_method_enroll"
    );
    // And the live app answers each documented operation (not the fallback).
    for (method, path) in &documented {
        let path = path
            .replace("{method}", "sms")
            .replace("{id}", "0190a0a0-0000-7000-8000-000000000000");
        let response = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !body.contains("There is nothing at this address."),
            "{method} {path} fell through to the router's fallback"
        );
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_every_reference_resolved() {
    let app = TestApp::spawn_with(Backend::Sqlite, |_| {}).await;
    let document = served_document(&app).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut references = Vec::new();
    collect_refs(&document, &mut references);
    assert!(references.len() > 20, "{references:?}");
    for reference in references {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "{reference} resolves to nothing"
        );
    }
    // The shared answers carry their headers as required.
    for (response, header) in [
        ("RateLimited", "Retry-After"),
        ("Overloaded", "Retry-After"),
        ("BearerChallenge", "WWW-Authenticate"),
    ] {
        let path = format!("/components/responses/{response}/headers/{header}/required");
        assert_eq!(document.pointer(&path), Some(&Value::Bool(true)), "{path}");
    }
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "latchkey_session");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    // Register documents the rate limit and the overload it can answer.
    let register = &document["paths"]["/register"]["post"]["responses"];
    for status in ["201", "400", "409", "413", "415", "422", "429", "503"] {
        assert!(register.get(status).is_some(), "POST /register {status}");
    }
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => into.push(reference.clone()),
                    _ => collect_refs(value, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, into)),
        _ => {}
    }
}
