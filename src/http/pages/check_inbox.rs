//! `GET /check-inbox?email=...`: after sign-up (or a resend), says where the
//! link went and offers to send another.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::fields::Field;
use super::{csrf, render};
use crate::domain::EmailAddress;
use crate::mail::describe_duration;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/check_inbox.html")]
struct CheckInboxPage {
    root: String,
    csrf: String,
    email: Option<String>,
    resent: bool,
    ttl: String,
    resend: Field,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CheckInboxQuery {
    /// Shown only when it is a valid address.
    email: Option<String>,
    /// Present after a resend.
    resent: Option<String>,
}

/// The address comes from the redirect's query string; it is only shown
/// back to whoever holds that URL, and only when it is a valid address.
#[utoipa::path(get, path = "/check-inbox", tag = "pages",
    description = "After sign-up: where the link went, and a Resend form.",
    params(CheckInboxQuery), responses((status = 200, description = "The page", body = String, content_type = "text/html")), security(()))]
pub(super) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<CheckInboxQuery>, QueryRejection>,
) -> Response {
    let query = query.map_or(
        CheckInboxQuery {
            email: None,
            resent: None,
        },
        |Query(query)| query,
    );
    let email = query
        .email
        .as_deref()
        .and_then(|raw| EmailAddress::parse(raw).ok())
        .map(|email| email.as_str().to_owned());
    let (jar, csrf) = csrf::ensure(&state, jar);
    let page = CheckInboxPage {
        root: super::root(&state),
        csrf,
        resend: Field::filled(email.as_deref()),
        email,
        resent: query.resent.is_some(),
        ttl: describe_duration(state.verify_ttl),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}
