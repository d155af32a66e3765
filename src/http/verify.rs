use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use super::login::bearer;
use super::meta::Meta;
use super::openapi::ErrorBody;
use super::pages;
use super::session::session_cookie;
use super::views::UserView;
use crate::audit::RequestMeta;
use crate::flows::{self, FlowError, Verified};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct VerifyQuery {
    /// The token of the link in the verification email.
    #[param(required, nullable = false)]
    token: Option<String>,
}

/// An activated account; `already_verified` when the link had been used.
#[derive(Serialize, ToSchema)]
pub(super) struct VerifiedBody {
    user: UserView,
    already_verified: bool,
    /// Only on the link's first use, which signs the person in: a JWT
    /// bound to the new session, as a login's (`POST /token` renews it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    access_token: Option<String>,
    /// With `access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, schema_with = bearer)]
    token_type: Option<&'static str>,
    /// With `access_token`: seconds until it expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    expires_in: Option<u64>,
}

/// Activates the account: JSON for API clients, the verify page for a
/// browser (the link in the email). The first use of a link also signs the
/// person in; a link that was already used does not, or it would be a
/// 24-hour password.
#[utoipa::path(
    get, path = "/verify", tag = "sign-up",
    description = "The link in the verification email. JSON when `Accept` prefers \
        `application/json`, the verify page otherwise (`Vary: Accept`). The first use of a \
        link also starts a session (`Set-Cookie`) and, in JSON, carries an access token bound \
        to it.",
    params(VerifyQuery),
    responses(
        (status = 200, description = "The account is active", content(
            (VerifiedBody = "application/json"), (String = "text/html"))),
        (status = 400, description = "`invalid_token`: unknown, malformed or superseded", content(
            (ErrorBody = "application/json"), (String = "text/html"))),
        (status = 410, description = "`token_expired`", content(
            (ErrorBody = "application/json"), (String = "text/html"))),
        (status = 429, description = "`rate_limited`", content(
            (ErrorBody = "application/json"), (String = "text/html")),
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(()),
)]
pub(super) async fn get(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Response {
    let outcome = verify_and_sign_in(&state, &meta, jar.clone(), query).await;
    let mut response = if pages::wants_html(&headers) {
        pages::verify::page(&state, jar, outcome)
    } else {
        match outcome {
            Ok((jar, verified)) => match verified_body(&state, &verified).await {
                Ok(body) => (jar, Json(body)).into_response(),
                Err(error) => error.into_response(),
            },
            Err(error) => ApiError::from(error).into_response(),
        }
    };
    // One URL, two representations: caches must key on `Accept`.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// The JSON answer; with an access token when the link started a session.
async fn verified_body(state: &AppState, verified: &Verified) -> Result<VerifiedBody, ApiError> {
    let issued = match &verified.session {
        Some(session) => Some(
            state
                .tokens
                .issue(verified.user.id, Some(session.for_tokens()))
                .await
                .map_err(|error| FlowError::Internal(Box::new(error)))?,
        ),
        None => None,
    };
    Ok(VerifiedBody {
        user: UserView::from(&verified.user),
        already_verified: verified.already_verified,
        token_type: issued.as_ref().map(|issued| issued.token_type),
        expires_in: issued.as_ref().map(|issued| issued.expires_in),
        access_token: issued.map(|issued| issued.access_token),
    })
}

/// The verification and, on first activation, a new session in `jar`.
pub(super) async fn verify_and_sign_in(
    state: &AppState,
    meta: &RequestMeta,
    jar: CookieJar,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<(CookieJar, Verified), FlowError> {
    // A mangled query string is just another invalid link.
    let Ok(Query(query)) = query else {
        return Err(FlowError::InvalidToken);
    };
    let verified = flows::verify_email(state, query.token.as_deref(), meta).await?;
    if verified.session.is_some() {
        super::session::end_replaced(state, &jar, meta).await?;
    }
    let jar = match &verified.session {
        Some(session) => super::login::with_device(
            state,
            jar.add(session_cookie(state, &session.token)),
            session,
        ),
        None => jar,
    };
    Ok((jar, verified))
}
