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

#[derive(Deserialize)]
pub(super) struct CheckInboxQuery {
    email: Option<String>,
    resent: Option<String>,
}

/// The address comes from the redirect's query string; it is only shown
/// back to whoever holds that URL, and only when it is a valid address.
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
