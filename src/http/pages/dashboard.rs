//! `GET /dashboard`: profile, two-step verification (methods with Remove
//! buttons, recovery codes, buttons to set up more), the sessions with
//! Revoke buttons, the recent activity, and the Log out form; `POST /logout` as a form, which
//! ends the session and goes back to sign-up. (The Remove and Revoke forms
//! are `manage.rs`.)

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::errors::unreadable_form;
use super::fields::Field;
use super::setup::{Offer, label, offers};
use super::{ErrorPage, csrf, render, see_other};
use crate::domain::{FactorKind, SecondStep, SignedInWith};
use crate::flows::{self, CurrentSession, FlowError, mfa};
use crate::http::ApiError;
use crate::http::meta::Meta;
use crate::http::session::{MaybeSignedIn, removal_cookie};
use crate::state::AppState;

struct Account {
    name: String,
    email: String,
    member_since: Moment,
    factors: Vec<Factor>,
    offers: Vec<Offer>,
    recovery_codes_left: i64,
    /// Signed in within the last 10 minutes: factors may be changed.
    can_change: bool,
    /// A change of address waiting for its link: where it went, and until.
    pending_email: Option<(String, Moment)>,
    sessions: Vec<Session>,
    /// The newest entries of the account's activity, newest first.
    activity: Vec<Event>,
    /// The ones before, folded under "Older activity".
    older_activity: Vec<Event>,
}

/// A time as the page shows it (a date, and the time of day in UTC), and
/// as `<time datetime>` carries it.
struct Moment {
    date: String,
    clock: String,
    iso: String,
}

impl Moment {
    fn new(at: DateTime<Utc>) -> Self {
        Self {
            date: at.format("%-d %b %Y").to_string(),
            clock: at.format("%H:%M UTC").to_string(),
            iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

struct Factor {
    kind: &'static str,
    /// The kind in words, or a passkey's name.
    label: String,
    /// The masked phone number of an SMS factor; "Passkey" beside a
    /// passkey's name.
    detail: String,
    added: Moment,
    /// A passkey's last sign-in.
    last_used: Option<Moment>,
    /// A passkey's id, for its Rename form.
    passkey_id: Option<String>,
    /// Where its Remove button posts, under the root, and the button's
    /// name for a screen reader.
    remove: (String, String),
}

struct Session {
    id: String,
    device: String,
    user_agent: String,
    ip: String,
    created: Moment,
    /// "with a password and a passkey", or nothing for a session from
    /// before sessions kept it.
    signed_in_with: &'static str,
    last_seen: Moment,
    current: bool,
}

/// One entry of the account's recent activity.
struct Event {
    at: Moment,
    /// "Signed in", or "Two-step verification method added: Text message".
    description: String,
    refused: bool,
    device: String,
    ip: String,
}

/// Entries of the activity shown before "Older activity".
const RECENT_SHOWN: usize = 10;

#[derive(Template)]
#[template(path = "pages/dashboard.html")]
struct DashboardPage {
    root: String,
    csrf: String,
    user: Option<Account>,
    notice: Option<&'static str>,
    /// The change-password form's fields, with the errors of a failed post.
    password: PasswordFields,
    /// The name form's field: the account's name, or what a failed post
    /// typed with its errors.
    name: Field,
    /// The email form's fields, with the errors of a failed post.
    email: EmailFields,
    min_length: usize,
    max_length: usize,
}

/// What the change-password form shows (never a password back).
#[derive(Debug, Default)]
pub(super) struct PasswordFields {
    pub(super) current: Field,
    pub(super) new: Field,
}

/// What the change-of-address form shows (the new address typed, never
/// the password).
#[derive(Debug, Default)]
pub(super) struct EmailFields {
    pub(super) email: Field,
    pub(super) current: Field,
}

/// The dashboard's forms as a failed post left them; by default, as the
/// account is.
#[derive(Debug, Default)]
pub(super) struct Forms {
    pub(super) password: PasswordFields,
    /// `None`: the account's name, no errors.
    pub(super) name: Option<Field>,
    pub(super) email: EmailFields,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DashboardQuery {
    /// What a form that changed the account says (a fixed set of keys).
    notice: Option<String>,
}

/// What a form that changed the account says once back here (a fixed set:
/// the query string is never shown).
fn notice(key: &str) -> Option<&'static str> {
    match key {
        "factor-added" => Some("Two-step verification method added."),
        "factor-removed" => Some("Two-step verification method removed."),
        "passkey-renamed" => Some("Passkey renamed."),
        "session-revoked" => Some("That session is signed out."),
        "sessions-revoked" => Some("Every other session is signed out."),
        "delete-unconfirmed" => {
            Some("Your account was not deleted: tick the box to confirm that you want it gone.")
        }
        "password-changed" => {
            Some("Your password was changed. Every other session was signed out.")
        }
        "name-changed" => Some("Your name was changed."),
        "email-change-cancelled" => {
            Some("The change of address is cancelled: its link no longer works.")
        }
        "email-change-sent" => Some(
            "We sent a link to your new address. Your address changes when you open it; until then it stays as it is.",
        ),
        _ => None,
    }
}

/// Signed out, the page says so and links to log in and sign up.
#[utoipa::path(get, path = "/dashboard", tag = "pages",
    description = "Profile, second factors and sessions; signed out, links to log in and sign up.",
    params(DashboardQuery), responses((status = 200, description = "The page", body = String, content_type = "text/html")), security(("session" = []), ()))]
pub(super) async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    query: Result<Query<DashboardQuery>, QueryRejection>,
) -> Response {
    let notice = query
        .ok()
        .and_then(|Query(query)| query.notice)
        .and_then(|key| notice(&key));
    page(
        &state,
        jar,
        session.as_ref(),
        StatusCode::OK,
        notice,
        Forms::default(),
    )
    .await
}

/// The dashboard of `session` (or the signed-out page), with `status`: a
/// form that failed shows its errors here.
pub(super) async fn page(
    state: &AppState,
    jar: CookieJar,
    session: Option<&CurrentSession>,
    status: StatusCode,
    notice: Option<&'static str>,
    forms: Forms,
) -> Response {
    let user = match session {
        Some(session) => match account(state, session).await {
            Ok(account) => Some(account),
            Err(error) => return ErrorPage::from_api(state, &ApiError::from(error)),
        },
        None => None,
    };
    let (jar, csrf) = csrf::ensure(state, jar);
    let name = forms
        .name
        .unwrap_or_else(|| Field::filled(session.map(|session| session.user.name.as_str())));
    let page = DashboardPage {
        root: super::root(state),
        csrf,
        notice: notice.filter(|_| user.is_some()),
        user,
        password: forms.password,
        name,
        email: forms.email,
        min_length: state.policy.min_length,
        max_length: state.policy.max_length,
    };
    (jar, render(status, &page)).into_response()
}

async fn account(state: &AppState, session: &CurrentSession) -> Result<Account, FlowError> {
    let user = &session.user;
    let (factors, recovery_codes_left) = mfa::factors(state, user).await?;
    let enrolled: Vec<FactorKind> = factors.iter().map(|factor| factor.kind).collect();
    let sessions = flows::list_sessions(state, session).await?;
    let mut activity: Vec<Event> = flows::activity(state, user, None)
        .await?
        .entries
        .into_iter()
        .map(|entry| Event {
            at: Moment::new(entry.at),
            description: match (entry.factor, entry.signed_in_with) {
                (Some(kind), _) => format!("{}: {}", entry.description, label(kind)),
                (None, Some(with)) => format!("{} {}", entry.description, signed_in_words(with)),
                (None, None) => entry.description.to_owned(),
            },
            refused: !entry.succeeded,
            device: entry
                .user_agent
                .as_deref()
                .map_or_else(|| "Unknown device".to_owned(), device),
            ip: entry.ip.unwrap_or_else(|| "unknown".to_owned()),
        })
        .collect();
    let older_activity = activity.split_off(RECENT_SHOWN.min(activity.len()));
    Ok(Account {
        name: user.name.as_str().to_owned(),
        email: user.email.as_str().to_owned(),
        member_since: Moment::new(user.created_at),
        offers: offers(state, &enrolled),
        factors: factors
            .into_iter()
            .map(|factor| {
                let (label, detail, remove) = match (factor.kind, factor.name) {
                    (FactorKind::Passkey, name) => {
                        let name = name.unwrap_or_else(|| label(FactorKind::Passkey).to_owned());
                        let remove = (
                            format!("mfa/passkeys/{}/remove", factor.id),
                            format!("Remove the passkey {name}"),
                        );
                        (name, label(FactorKind::Passkey).to_owned(), remove)
                    }
                    (kind, _) => (
                        label(kind).to_owned(),
                        factor.phone.unwrap_or_default(),
                        (
                            format!("mfa/{}/remove", kind.as_str()),
                            format!("Remove {}", label(kind).to_lowercase()),
                        ),
                    ),
                };
                Factor {
                    kind: factor.kind.as_str(),
                    label,
                    detail,
                    added: Moment::new(factor.confirmed_at),
                    last_used: factor.last_used_at.map(Moment::new),
                    passkey_id: (factor.kind == FactorKind::Passkey).then(|| factor.id.to_string()),
                    remove,
                }
            })
            .collect(),
        recovery_codes_left,
        can_change: state.clock.now() - session.authenticated_at <= mfa::REAUTH_WINDOW,
        pending_email: flows::open_email_change(state, user)
            .await?
            .map(|open| (open.email.as_str().to_owned(), Moment::new(open.until))),
        sessions: sessions
            .into_iter()
            .map(|record| Session {
                id: record.id.to_string(),
                device: device(record.user_agent.as_deref().unwrap_or_default()),
                user_agent: record.user_agent.unwrap_or_default(),
                ip: record.ip.unwrap_or_else(|| "unknown".to_owned()),
                created: Moment::new(record.created_at),
                signed_in_with: record.signed_in_with.map_or("", signed_in_words),
                last_seen: Moment::new(record.last_seen_at),
                current: record.id == session.id,
            })
            .collect(),
        activity,
        older_activity,
    })
}

/// How a session signed in, in words.
fn signed_in_words(with: SignedInWith) -> &'static str {
    match with {
        SignedInWith::EmailLink => "from the verification email",
        SignedInWith::Password => "with the password",
        SignedInWith::PasswordAnd(SecondStep::Factor(FactorKind::Totp)) => {
            "with the password and an authenticator app"
        }
        SignedInWith::PasswordAnd(SecondStep::Factor(FactorKind::Sms)) => {
            "with the password and a text message"
        }
        SignedInWith::PasswordAnd(SecondStep::Factor(FactorKind::Email)) => {
            "with the password and an emailed code"
        }
        SignedInWith::PasswordAnd(SecondStep::Factor(FactorKind::Passkey)) => {
            "with the password and a passkey"
        }
        SignedInWith::PasswordAnd(SecondStep::RecoveryCode) => {
            "with the password and a recovery code"
        }
        SignedInWith::Passkey => "with a passkey",
    }
}

/// "Firefox on Windows" and the like, from a user agent: enough to tell
/// one's own devices apart. The full string is shown beside it.
fn device(user_agent: &str) -> String {
    let has = |needle: &str| user_agent.contains(needle);
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(needle, _)| has(needle))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| has(needle))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) => "Unknown device".to_owned(),
    }
}

#[derive(Deserialize)]
pub(in crate::http) struct LogoutForm {
    csrf_token: Option<String>,
}

/// Ends the session if there is one (logging out twice is no error), clears
/// the cookie, and 303s to the sign-up page.
pub(in crate::http) async fn logout(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    jar: CookieJar,
    MaybeSignedIn(session): MaybeSignedIn,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return unreadable_form(&state, &rejection),
    };
    if let Err(refusal) = csrf::check(&state, &headers, &jar, form.csrf_token.as_deref()) {
        return ErrorPage::forbidden(&state, refusal);
    }
    if let Some(session) = session
        && let Err(error) = flows::end_session(&state, &session, &meta).await
    {
        return ErrorPage::from_api(&state, &ApiError::from(error));
    }
    (
        jar.add(removal_cookie(&state)),
        see_other(&state, "signup", &[]),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36";
        assert_eq!(device(chromium), "Chrome on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device(iphone), "Safari on iOS");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(device(edge), "Edge on Windows");
        assert_eq!(device("curl/8.5.0"), "curl");
        assert_eq!(device(""), "Unknown device");
    }
}
