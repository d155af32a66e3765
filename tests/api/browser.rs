//! A browser's side of the pages, over plain HTTP: its CSRF cookie and
//! token, form posts as our own pages send them, and the headers every page
//! carries.

use reqwest::Response;

use crate::helpers::{TestApp, token_of};

pub const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A browser's view: its CSRF cookie, and the token in the page's forms.
pub struct Browser {
    pub cookie: String,
    pub token: String,
}

pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(&format!("{name}=")))
}

pub async fn open(app: &TestApp, path: &str) -> (Browser, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let cookie = set_cookie(&response, "latchkey_csrf").expect("a CSRF cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = response.text().await.unwrap();
    let token = csrf_token_in(&html);
    assert_eq!(cookie, format!("latchkey_csrf={token}"));
    (Browser { cookie, token }, html)
}

/// A form post as a browser on our own page sends it.
pub async fn post_form(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    extra_cookie: Option<&str>,
) -> Response {
    let mut fields = fields.to_vec();
    fields.push(("csrf_token", &browser.token));
    let cookie = match extra_cookie {
        Some(extra) => format!("{}; {extra}", browser.cookie),
        None => browser.cookie.clone(),
    };
    app.client
        .post(app.url(path))
        .header("cookie", cookie)
        .header(
            "origin",
            app.config.public_url.origin().ascii_serialization(),
        )
        .header("sec-fetch-site", "same-origin")
        .header("accept", HTML)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// The emailed link points at the configured public URL; tests reach the
/// app on its own port.
pub fn verify_path(link: &str) -> String {
    format!("/verify?token={}", token_of(link))
}

pub fn assert_page(response: &Response) {
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_security_headers(response);
}

pub fn assert_security_headers(response: &Response) {
    let headers = response.headers();
    assert_eq!(headers["content-security-policy"], CSP);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
}

/// The CSRF token in a page's form.
pub fn csrf_token_in(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}

/// A browser that keeps its cookies (CSRF, session, the second step's)
/// from one request to the next, and posts forms as our pages do.
pub struct Visitor {
    cookies: std::collections::BTreeMap<String, String>,
    pub token: String,
}

impl Visitor {
    /// Opens `path` (a page with a form) in a fresh browser.
    pub async fn open(app: &TestApp, path: &str) -> (Self, String) {
        let (browser, html) = open(app, path).await;
        let (name, value) = browser.cookie.split_once('=').unwrap();
        let mut cookies = std::collections::BTreeMap::new();
        cookies.insert(name.to_owned(), value.to_owned());
        (
            Self {
                cookies,
                token: browser.token,
            },
            html,
        )
    }

    /// A browser that holds `cookie` (`name=value`) too.
    pub fn with(mut self, cookie: &str) -> Self {
        let (name, value) = cookie.split_once('=').unwrap();
        self.cookies.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn forget(&mut self, name: &str) {
        self.cookies.remove(name);
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps what the answer sets; forgets what it clears.
    fn absorb(&mut self, response: &Response) {
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, content) = pair.split_once('=').unwrap();
            if value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), content.to_owned());
            }
        }
    }

    /// GET a page as a browser asks for it.
    pub async fn get(&mut self, app: &TestApp, path: &str) -> Response {
        let response = app
            .client
            .get(app.url(path))
            .header("accept", HTML)
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        self.absorb(&response);
        response
    }

    /// POST a form with this browser's CSRF token, from our own page.
    pub async fn post(&mut self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.token.clone();
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.post_exactly(app, path, &fields).await
    }

    /// POST exactly these fields (no CSRF token added).
    pub async fn post_exactly(
        &mut self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let response = app
            .client
            .post(app.url(path))
            .header("cookie", self.header())
            .header(
                "origin",
                app.config.public_url.origin().ascii_serialization(),
            )
            .header("sec-fetch-site", "same-origin")
            .header("accept", HTML)
            .form(fields)
            .send()
            .await
            .unwrap();
        self.absorb(&response);
        response
    }
}

/// Where a 303 leads, below the public URL (`/dashboard`, `/mfa`, ...).
pub fn see_other_path(response: &Response) -> String {
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}
