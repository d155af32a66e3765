//! The OpenAPI 3.1 document, generated from the code: the handlers'
//! `#[utoipa::path]` attributes, the `ToSchema` derives of what they read and
//! answer, and here the responses many operations share and the security
//! schemes. Served at `GET /openapi.json`; `tests/api/openapi.rs` checks that
//! every route of `http::router` is in it.

use axum::Json;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    Content, Ref, RefOr, Response, ResponseBuilder, header::HeaderBuilder, schema::Type,
};
use utoipa::{Modify, OpenApi, ToResponse};

/// The error body (`http::error`), for `body = ErrorBody` in the handlers.
pub(super) type ErrorBody = super::error::Body<'static>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "latchkey",
        description = "Sign-up, email verification and two-factor login. Every error body is \
            `{\"error\": {\"code\", \"message\", \"fields\"?}}`; any operation may also answer \
            `500 internal_error`, `405 method_not_allowed` for another method, and \
            `408` past 30 seconds. The pages share some paths: a form body \
            (`application/x-www-form-urlencoded`) or an `Accept` naming `text/html` gets HTML.",
    ),
    paths(
        super::register::post,
        super::verify::get,
        super::resend::post,
        super::password::check,
        super::login::post,
        super::passkey_login::options,
        super::passkey_login::sign_in,
        super::mfa::challenge,
        super::mfa::verify,
        super::mfa::passkeys::passkey_options,
        super::me::get,
        super::me::logout,
        super::token::post,
        super::me::patch,
        super::me::delete,
        super::activity::get,
        super::export::get,
        super::sessions::list,
        super::sessions::revoke_others,
        super::sessions::revoke,
        super::mfa::list,
        super::mfa::totp_enroll,
        super::mfa::totp_confirm,
        super::mfa::delivered_enroll,
        super::mfa::delivered_confirm,
        super::mfa::passkeys::passkey_enroll,
        super::mfa::passkeys::passkey_confirm,
        super::mfa::remove,
        super::mfa::passkeys::rename_passkey,
        super::mfa::passkeys::remove_passkey,
        super::mfa::recovery_codes,
        super::health::get,
        super::metrics::get,
        super::jwks::get,
        super::unlock::get,
        super::password_reset::request,
        super::password_reset::confirm,
        super::password_change::post,
        super::email_change::post,
        super::email_change::pending,
        super::email_change::cancel,
        super::email_change::confirm,
        super::email_change::revert,
        super::admin::read::audit,
        super::admin::read::users,
        super::admin::invite::invite,
        super::admin::sessions::revoke_all,
        super::admin::sessions::revoke_of,
        super::admin::accounts::delete_user,
        super::admin::accounts::disable_user,
        super::admin::accounts::enable_user,
        super::admin::accounts::change_email,
        super::admin::accounts::reset_password,
        super::admin::factors::reset_factors,
        get,
    ),
    components(
        schemas(super::error::FieldProblem),
        responses(BadJson, TooLarge, NotJson, Unauthenticated, BearerChallenge, RateLimited, Overloaded),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "sign-up", description = "Register, verify the email address, check a password"),
        (name = "login", description = "The password step and the second step"),
        (name = "sessions", description = "The signed-in account and its sessions"),
        (name = "mfa", description = "Setting up and managing second factors"),
        (name = "meta", description = "Health, keys, this document"),
        (name = "admin", description = "For operators, with `LATCHKEY_ADMIN_API_KEY`; absent (404) without one"),
        (name = "pages", description = "The browser's HTML pages"),
    ),
)]
struct ApiDoc;

/// Headers that a shared response always carries: OpenAPI's `required`,
/// which utoipa's `Header` cannot say.
const REQUIRED_HEADERS: &[(&str, &str)] = &[
    ("RateLimited", "Retry-After"),
    ("Overloaded", "Retry-After"),
    ("BearerChallenge", "WWW-Authenticate"),
];

/// The document, as served.
pub(super) fn document() -> Value {
    let mut openapi = ApiDoc::openapi();
    openapi.merge(super::pages::openapi());
    let mut document = serde_json::to_value(&openapi).unwrap_or_default();
    name_operations(&mut document);
    for (response, header) in REQUIRED_HEADERS {
        if let Some(header) = document
            .pointer_mut(&format!(
                "/components/responses/{response}/headers/{header}"
            ))
            .and_then(Value::as_object_mut)
        {
            header.insert("required".to_owned(), Value::Bool(true));
        }
    }
    document
}

/// utoipa names an operation after its handler, and most handlers are a
/// `get` or a `post` in a module of their own; OpenAPI wants every
/// `operationId` unique (client generators name their methods with it).
/// Each is named after its method and path instead:
/// `POST /mfa/{method}/enroll` is `post_mfa_method_enroll`.
fn name_operations(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            // A path item's other members (`parameters`, `summary`) are not objects.
            if let Some(operation) = operation.as_object_mut() {
                operation.insert(
                    "operationId".to_owned(),
                    Value::String(operation_id(method, path)),
                );
            }
        }
    }
}

fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<&str> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() {
        format!("{method}_root")
    } else {
        format!("{method}_{}", words.join("_"))
    }
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
    security(()),
)]
pub(super) async fn get() -> Json<Value> {
    Json(document())
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "latchkey_session",
                "The session cookie set by a login (`__Host-latchkey_session` over https)",
            ))),
        );
        components.add_security_scheme(
            "mfa_challenge",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "latchkey_mfa",
                "The `mfa_token` of a login's second step or enrolment, as a 10-minute cookie \
                 (`__Host-latchkey_mfa` over https); the body's `mfa_token` may stand in",
            ))),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`LATCHKEY_METRICS_TOKEN`, as a Bearer token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`LATCHKEY_ADMIN_API_KEY`, as a Bearer token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from a login (`EdDSA`, `typ: at+jwt`), verifiable \
                         against `/.well-known/jwks.json`",
                    ))
                    .build(),
            ),
        );
    }
}

/// An error answer: our error body, and the headers it always carries.
fn error(description: &str, headers: &[(&str, &str)]) -> RefOr<Response> {
    let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", body);
    for (name, description) in headers {
        let schema = if *name == "Retry-After" {
            Type::Integer
        } else {
            Type::String
        };
        response = response.header(
            *name,
            HeaderBuilder::new()
                .schema(utoipa::openapi::ObjectBuilder::new().schema_type(schema))
                .description(Some(*description))
                .build(),
        );
    }
    response.build().into()
}

macro_rules! shared_response {
    ($name:ident, $description:expr $(, ($header:expr, $about:expr))*) => {
        #[doc = $description]
        pub(super) struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error($description, &[$(($header, $about)),*]))
            }
        }
    };
}

shared_response!(
    BadJson,
    "`malformed_json` (not JSON, or not an object of the expected fields) or `bad_request`"
);
shared_response!(TooLarge, "`payload_too_large`: the body is over 64 KiB");
shared_response!(
    NotJson,
    "`unsupported_media_type`: the body is not `application/json`"
);
shared_response!(Unauthenticated, "`unauthenticated`: no live session cookie");
shared_response!(
    BearerChallenge,
    "`unauthenticated` (no credential) or `invalid_access_token` (an invalid, expired or revoked token)",
    (
        "WWW-Authenticate",
        "`Bearer realm=\"latchkey\"`, with `error=\"invalid_token\"` for a bad token"
    )
);
shared_response!(
    RateLimited,
    "`rate_limited`: too many requests from this client or for this account",
    ("Retry-After", "Seconds to wait")
);
shared_response!(
    Overloaded,
    "`overloaded`: more password hashes wait than the pool accepts",
    ("Retry-After", "Seconds to wait")
);
