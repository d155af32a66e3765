//! The page that shows new recovery codes, once: after the first factor is
//! confirmed, and after `POST /mfa/recovery-codes` from the dashboard's
//! form. The codes are only ever in this answer (the server keeps their
//! digests), so it is rendered in answer to the post, not behind a 303.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{ErrorPage, accept_form, render, see_other};
use crate::domain::RecoveryCode;
use crate::flows::mfa;
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    root: String,
    title: &'static str,
    codes: Vec<&'a str>,
    /// Named in the downloaded file, so it says whose codes they are.
    account: &'a str,
}

pub(super) fn page(
    state: &AppState,
    jar: CookieJar,
    title: &'static str,
    codes: &[RecoveryCode],
    account: &str,
) -> Response {
    let page = RecoveryCodesPage {
        root: super::root(state),
        title,
        codes: codes.iter().map(RecoveryCode::as_str).collect(),
        account,
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

#[derive(Deserialize)]
pub(in crate::http) struct RenewForm {
    csrf_token: Option<String>,
}

/// `POST /mfa/recovery-codes` from the dashboard: a new set replaces the
/// old one.
pub(in crate::http) async fn renew(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<RenewForm>, FormRejection>,
) -> Response {
    if let Err(refused) = accept_form(&state, &headers, &jar, form, |form: &RenewForm| {
        form.csrf_token.as_deref()
    }) {
        return *refused;
    }
    let Some(session) = session else {
        return see_other(&state, "login", &[]);
    };
    match mfa::new_recovery_codes(&state, &session, &meta).await {
        Ok(codes) => page(
            &state,
            jar,
            "New recovery codes",
            &codes,
            session.user.email.as_str(),
        ),
        Err(error) => ErrorPage::from_api(&state, &ApiError::from(error)),
    }
}
