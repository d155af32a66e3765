//! `POST /password/change` sent by the dashboard's form: 303 back to the
//! dashboard with a notice, or the dashboard again with the errors beside
//! the fields (a wrong current password: 401; a weak new one: 422).

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::dashboard::{self, Forms, PasswordFields};
use super::fields::Field;
use super::{ErrorPage, accept_form, see_other};
use crate::domain::Password;
use crate::flows::{self, FlowError};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::session::MaybeSignedIn;
use crate::state::AppState;

#[derive(Deserialize)]
pub(in crate::http) struct ChangeForm {
    current_password: Option<String>,
    new_password: Option<String>,
    csrf_token: Option<String>,
}

pub(in crate::http) async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<ChangeForm>, FormRejection>,
) -> Response {
    let form = match accept_form(&state, &headers, &jar, form, |form: &ChangeForm| {
        form.csrf_token.as_deref()
    }) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let Some(session) = session else {
        return see_other(&state, "login", &[]);
    };
    let current = Password::new(form.current_password.as_deref().unwrap_or_default());
    let new = Password::new(form.new_password.as_deref().unwrap_or_default());
    let outcome = flows::change_password(
        &state,
        &session.user,
        Some(session.id),
        &current,
        &new,
        &meta,
    )
    .await;
    let (status, fields) = match outcome {
        Ok(()) => return see_other(&state, "dashboard", &[("notice", "password-changed")]),
        Err(FlowError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordFields {
                current: Field::checked(None, &errors, "current_password"),
                new: Field::checked(None, &errors, "new_password"),
            },
        ),
        Err(error @ FlowError::WrongPassword) => (
            StatusCode::UNAUTHORIZED,
            PasswordFields {
                current: Field::wrong(&ApiError::from(error)),
                new: Field::default(),
            },
        ),
        Err(other) => return ErrorPage::from_api(&state, &ApiError::from(other)),
    };
    let forms = Forms {
        password: fields,
        ..Forms::default()
    };
    dashboard::page(&state, jar, Some(&session), status, None, forms).await
}
