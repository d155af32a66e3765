use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiError;
use super::bearer::Authenticated;
use super::json::ApiJson;
use super::meta::Meta;
use super::openapi::{BadJson, BearerChallenge, ErrorBody, NotJson, TooLarge, Unauthenticated};
use super::session::{SignedIn, removal_cookie};
use super::views::UserEnvelope;
use crate::flows;
use crate::state::AppState;

/// The signed-in account, by session cookie or Bearer access token.
#[utoipa::path(
    get, path = "/me", tag = "sessions",
    description = "The signed-in account. A request with an `Authorization: Bearer` header is \
        judged by the token alone.",
    responses(
        (status = 200, description = "The account", body = UserEnvelope),
        (status = 401, response = BearerChallenge),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub(super) async fn get(Authenticated(user): Authenticated) -> Json<UserEnvelope> {
    Json(UserEnvelope::from(&user))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ProfileChange)]
pub(super) struct PatchBody {
    /// The new display name: 1 to 100 characters, no control characters;
    /// spaces around it are trimmed.
    #[schema(required, nullable = false, example = "Ada Lovelace")]
    name: Option<String>,
}

/// Changes the signed-in account's display name: 200 with the account.
#[utoipa::path(
    patch, path = "/me", tag = "sessions",
    description = "Changes the signed-in account's display name (the one its emails greet). \
        The trail records `user.renamed`.",
    request_body = PatchBody,
    responses(
        (status = 200, description = "The account, renamed", body = UserEnvelope),
        (status = 400, response = BadJson),
        (status = 401, response = BearerChallenge),
        (status = 403, description = "`cross_site_request`: sent from another origin", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`, with `fields.name`", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub(super) async fn patch(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Authenticated(user): Authenticated,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<UserEnvelope>, ApiError> {
    let user = flows::rename(&state, &user, body.name.as_deref(), &meta).await?;
    Ok(Json(UserEnvelope::from(&user)))
}

/// Deletes the signed-in account and clears the cookie: 204.
#[utoipa::path(
    delete, path = "/me", tag = "sessions",
    description = "Deletes the session cookie's account: its sessions (and their access \
        tokens), links, factors and devices go with it, its unsent messages are cancelled, a \
        notice goes to its address, which is free to sign up again. Needs a sign-in within the \
        last 10 minutes.",
    responses(
        (status = 204, description = "Deleted; `Set-Cookie` clears the session cookie"),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "`reauthentication_required`: sign in again first; \
            `cross_site_request`: sent from another origin", body = ErrorBody),
    ),
    security(("session" = [])),
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    SignedIn(session): SignedIn,
) -> Result<(StatusCode, CookieJar), ApiError> {
    flows::delete_own_account(&state, &session, &meta).await?;
    Ok((StatusCode::NO_CONTENT, jar.add(removal_cookie(&state))))
}

/// Ends the session server-side and clears the cookie: 204. (The
/// dashboard's Log out form goes to `pages::dashboard::logout`.)
#[utoipa::path(
    post, path = "/logout", tag = "sessions",
    description = "Revokes the cookie's session (and every access token issued for it) and \
        clears the cookie. (A form body is the dashboard's Log out form: it answers 303.)",
    responses(
        (status = 204, description = "Signed out; `Set-Cookie` clears the session cookie"),
        (status = 401, response = Unauthenticated),
        (status = 415, response = NotJson),
    ),
    security(("session" = [])),
)]
pub(super) async fn logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    SignedIn(session): SignedIn,
) -> Result<(StatusCode, CookieJar), ApiError> {
    flows::end_session(&state, &session, &meta).await?;
    Ok((StatusCode::NO_CONTENT, jar.add(removal_cookie(&state))))
}
