//! Which answer a request wants: a page or JSON, a form or a JSON body.

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

use crate::state::AppState;

/// `POST` for a path the API and the pages share: an HTML form (a page
/// without JavaScript) goes to `form`, any other body to the API's `json`
/// handler, which answers exactly as it always did (415 for a body that is
/// not JSON).
pub(in crate::http) fn form_or_json<F, FT, J, JT>(form: F, json: J) -> MethodRouter<AppState>
where
    F: Handler<FT, AppState>,
    J: Handler<JT, AppState>,
    FT: 'static,
    JT: 'static,
{
    post(move |State(state): State<AppState>, request: Request| {
        let (form, json) = (form.clone(), json.clone());
        async move {
            if is_form(request.headers()) {
                form.call(request, state).await
            } else {
                json.call(request, state).await
            }
        }
    })
}

/// `GET` for a path the API and the pages share: the page for a client that
/// names `text/html` (a browser), the API's JSON for anyone else.
pub(in crate::http) fn page_or_json<P, PT, J, JT>(page: P, json: J) -> MethodRouter<AppState>
where
    P: Handler<PT, AppState>,
    J: Handler<JT, AppState>,
    PT: 'static,
    JT: 'static,
{
    get(move |State(state): State<AppState>, request: Request| {
        let (page, json) = (page.clone(), json.clone());
        async move {
            let mut response: Response = if asks_for_html(request.headers()) {
                page.call(request, state).await
            } else {
                json.call(request, state).await
            };
            response
                .headers_mut()
                .append(header::VARY, HeaderValue::from_static("accept"));
            response
        }
    })
}

/// A page unless the client prefers JSON: `Accept` naming `application/json`
/// (or any `+json` type) with a higher quality than `text/html`. Browsers
/// send `text/html` first; API clients send `application/json`; a bare
/// `curl` (no `Accept`, or `*/*`) gets the page too.
pub(in crate::http) fn wants_html(headers: &HeaderMap) -> bool {
    let (html, json) = qualities(headers);
    json <= html
}

/// A page only for a client that names `text/html` (a browser): anything
/// else keeps the API's JSON answer.
pub(in crate::http) fn asks_for_html(headers: &HeaderMap) -> bool {
    let (html, json) = qualities(headers);
    html > 0.0 && json <= html
}

/// The best quality `Accept` gives `text/html` and JSON (0 when unnamed).
fn qualities(headers: &HeaderMap) -> (f32, f32) {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    let (mut html, mut json) = (0.0_f32, 0.0_f32);
    for range in accept {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if media == "text/html" {
            html = html.max(quality);
        } else if media == "application/json" || media.ends_with("+json") {
            json = json.max(quality);
        }
    }
    (html, json)
}

/// The body is an HTML form (`application/x-www-form-urlencoded`).
pub(in crate::http) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_get_pages_and_api_clients_json() {
        let chromium =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert!(wants_html(&accept(chromium)));
        assert!(wants_html(&HeaderMap::new()));
        assert!(wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("application/problem+json")));
        assert!(!wants_html(&accept("application/json, text/html;q=0.5")));
        assert!(wants_html(&accept("application/json;q=0.5, text/html")));
        assert!(wants_html(&accept("application/json, text/html")));
        assert!(!asks_for_html(&HeaderMap::new()));
        assert!(!asks_for_html(&accept("*/*")));
        assert!(asks_for_html(&accept(chromium)));
    }

    #[test]
    fn forms_are_recognised_by_media_type() {
        let mut headers = HeaderMap::new();
        assert!(!is_form(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        );
        assert!(is_form(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_form(&headers));
    }
}
