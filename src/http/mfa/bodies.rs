//! What the MFA endpoints read and answer, with their OpenAPI schemas.
//! Every request field is optional to serde: a missing one is the flow's
//! to refuse, in our error format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::http::views::string_enum;

/// `POST /mfa/challenge`: send a login code.
#[derive(Deserialize, ToSchema)]
pub(in crate::http) struct ChallengeRequest {
    /// From `POST /login`; else the `latchkey_mfa` cookie.
    pub(super) mfa_token: Option<String>,
    #[schema(required, nullable = false, schema_with = delivered_method)]
    pub(super) method: Option<String>,
}

/// `POST /mfa/verify`: the login's second step.
#[derive(Deserialize, ToSchema)]
pub(in crate::http) struct CodeRequest {
    /// From `POST /login`; else the `latchkey_mfa` cookie.
    pub(super) mfa_token: Option<String>,
    /// A TOTP code, the code sent, or a recovery code.
    #[schema(nullable = false)]
    pub(super) code: Option<String>,
    /// Instead of a code: the account's passkey's answer to
    /// `POST /mfa/passkey/options`, as `PublicKeyCredential.toJSON()`
    /// gives what `navigator.credentials.get` returned.
    #[schema(value_type = Option<Object>)]
    pub(super) passkey: Option<PublicKeyCredential>,
}

/// `POST /mfa/passkey/options`: the login waiting for its second step.
#[derive(Deserialize, ToSchema)]
pub(in crate::http) struct PasskeyOptionsRequest {
    /// From `POST /login`; else the `latchkey_mfa` cookie.
    pub(super) mfa_token: Option<String>,
}

/// `POST /mfa/passkey/confirm`: the new passkey.
#[derive(Deserialize, ToSchema)]
pub(in crate::http) struct PasskeyConfirmRequest {
    pub(super) mfa_token: Option<String>,
    /// What `navigator.credentials.create` returned for the options of
    /// `POST /mfa/passkey/enroll`, as `PublicKeyCredential.toJSON()` gives it.
    #[schema(required, nullable = false, value_type = Object)]
    pub(super) credential: Option<RegisterPublicKeyCredential>,
    /// What to call it ("Work laptop", "Blue key"): 1 to 64 characters.
    #[schema(nullable = false, max_length = 64)]
    pub(super) name: Option<String>,
    /// End every other session of the account.
    #[serde(default)]
    pub(super) revoke_other_sessions: bool,
}

/// `PATCH /mfa/passkeys/{id}`: a passkey's new name.
#[derive(Deserialize, ToSchema)]
pub(in crate::http) struct PasskeyRenameRequest {
    /// 1 to 64 characters.
    #[schema(required, nullable = false, max_length = 64)]
    pub(super) name: Option<String>,
}

/// `POST /mfa/totp/enroll` and `POST /mfa/email/enroll`: on the authority of
/// a recent session, or of the enrolment `mfa_token` (body or cookie).
#[derive(Deserialize, ToSchema)]
pub(in crate::http) struct EnrollRequest {
    pub(super) mfa_token: Option<String>,
    /// The number to text, in international form (`POST /mfa/sms/enroll` only).
    pub(super) phone: Option<String>,
}

/// `POST /mfa/{method}/confirm`: the first code of a new factor.
#[derive(Deserialize, ToSchema)]
pub(in crate::http) struct ConfirmRequest {
    pub(super) mfa_token: Option<String>,
    #[schema(required, nullable = false)]
    pub(super) code: Option<String>,
    /// End every other session of the account.
    #[serde(default)]
    pub(super) revoke_other_sessions: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(in crate::http) struct RemoveQuery {
    /// End every other session of the account.
    #[serde(default)]
    pub(super) revoke_other_sessions: bool,
}

fn delivered_method() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["sms", "email"])
}

fn factor_method() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["totp", "sms", "email", "passkey"])
}

/// A new authenticator app: its secret three ways.
#[derive(Serialize, ToSchema)]
pub(in crate::http) struct TotpEnrollment {
    /// Base32, for typing into the app.
    pub(super) secret: String,
    pub(super) otpauth_uri: String,
    /// The `otpauth://` URI as a QR code.
    pub(super) qr_svg: String,
}

/// Ten recovery codes, shown once. (No other field: that tells it from the
/// authenticated answer in `Confirmed`.)
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::http) struct RecoveryCodes {
    pub(super) recovery_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(in crate::http) struct Factor {
    /// Names a passkey for `PATCH` and `DELETE /mfa/passkeys/{id}`.
    pub(super) id: Uuid,
    #[schema(schema_with = factor_method)]
    pub(super) method: &'static str,
    /// The number codes go to (`sms` only).
    pub(super) phone: Option<String>,
    /// What the owner calls it (`passkey` only).
    pub(super) name: Option<String>,
    pub(super) confirmed_at: DateTime<Utc>,
    /// Its last sign-in (`passkey` only; `null` until the first).
    pub(super) last_used_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub(in crate::http) struct Factors {
    pub(super) factors: Vec<Factor>,
    pub(super) recovery_codes_left: i64,
}

/// A confirmed factor: its recovery codes, or (when it finished a login
/// under `LATCHKEY_MFA=required`) the authenticated answer with them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(in crate::http) enum Confirmed {
    Authenticated(crate::http::login::AuthenticatedBody),
    Codes(RecoveryCodes),
}
