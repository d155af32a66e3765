//! The pages' paths in the OpenAPI document (`http::openapi`): HTML, so
//! described by status and media type only.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(
    super::home,
    super::signup::get,
    super::check_inbox::get,
    super::resend::get,
    super::login::get,
    super::setup::get,
    super::dashboard::get,
    super::manage::remove_factor,
    super::manage::remove_passkey,
    super::manage::rename_passkey,
    super::manage::revoke_session,
    super::manage::revoke_other_sessions,
    super::delete_account::submit,
    super::rename::submit,
    super::email_change::cancel,
    super::password_reset::forgot,
    super::password_reset::get,
    super::email_change::get,
    super::email_revert::get,
    super::assets::stylesheet,
    super::assets::script,
    super::assets::passkeys_script,
))]
struct PagesDoc;

pub(in crate::http) fn openapi() -> utoipa::openapi::OpenApi {
    PagesDoc::openapi()
}
