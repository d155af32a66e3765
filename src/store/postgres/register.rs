//! A sign-up in one statement. Every round trip to PostgreSQL wakes a
//! backend on the cores that hash passwords and costs each hash more than
//! its own CPU (BENCHMARKS.md, sessions 4 to 6); a sign-up written as BEGIN,
//! four statements and COMMIT made six of them. Here the whole sign-up is one
//! statement, and so one transaction, whichever way it goes:
//! - a new address: the account, its verification link, the email and the
//!   trail's entries;
//! - an address whose account is pending and not disabled: the same, over
//!   that account (`Registration::Replaced`), its older links revoked and
//!   their unsent emails cancelled;
//! - a taken one, under enumeration protection: the owner's notice and the
//!   trail's entries, addressed to the owner.
//!
//! Every way is one round trip, so they take as long.
//!
//! A message goes out only while its recipient's quota allows; otherwise the
//! trail says it was held back (the same cell rate algorithm as
//! `take_quota_in`, in the same upsert).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PgStore, QUOTA_SLACK_MS, mail_event};
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::domain::UserId;
use crate::store::{
    NewAccount, NewMessage, NewToken, REPLACED_SIGN_UP, RegisterError, Registration, StoreError,
    TakenAddress, VERIFICATION_MAIL,
};

/// Which way the statement went (the account's `variant` column): an
/// account made, a pending one replaced (`'replaced'`: it sends what a new
/// one does, the messages and entries of `NEW`), or a taken address whose
/// owner is told.
const NEW: &str = "new";
const TAKEN: &str = "taken";

/// Several tries only when another sign-up of the same address commits
/// while this statement runs: its snapshot then sees neither a free address
/// nor an owner, and writes nothing.
const ATTEMPTS: usize = 3;

/// A replaced sign-up's older links are revoked, but a sign-up of the same
/// address that committed after this statement's snapshot is not seen by
/// the revoking `UPDATE`, and its link would stay live. So the account's
/// `created_at` moves past every earlier sign-up's (`GREATEST`, decided on
/// the row's latest version under its lock), the link is dated by it, and
/// a link dated before its account's `created_at` never activates
/// (`token_by_digest`, `activate`): only the last sign-up's links work.
const REGISTER: &str = "\
WITH account AS (
    INSERT INTO users (id, name, email, email_key, password_hash, status, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
    ON CONFLICT (email_key) DO UPDATE
        SET name = EXCLUDED.name, email = EXCLUDED.email, password_hash = EXCLUDED.password_hash,
            created_at = GREATEST(EXCLUDED.created_at, users.created_at + interval '1 microsecond'),
            updated_at = EXCLUDED.updated_at, invited_at = NULL
        WHERE users.status = 'pending' AND users.disabled_at IS NULL
    RETURNING id, email, CASE WHEN id = $1 THEN 'new' ELSE 'replaced' END AS variant, created_at
), owner AS (
    SELECT id, email, 'taken' AS variant, NULL::timestamptz AS created_at FROM users
    WHERE $8 AND email_key = $4 AND NOT EXISTS (SELECT 1 FROM account)
), revoked AS (
    UPDATE verification_tokens SET revoked_at = $11
    WHERE user_id = (SELECT id FROM account WHERE variant = 'replaced')
      AND used_at IS NULL AND revoked_at IS NULL
), withdrawn AS (
    UPDATE outbox SET status = 'cancelled', text_body = NULL, html_body = NULL
    WHERE user_id = (SELECT id FROM account WHERE variant = 'replaced')
      AND kind = $35 AND status = 'pending'
), token AS (
    INSERT INTO verification_tokens (id, user_id, digest, created_at, expires_at)
    SELECT $9, id, $10, created_at, $12 FROM account
), message AS (
    SELECT m.variant, r.variant AS way, m.id, m.message_id, m.kind, m.channel, r.id AS user_id,
           COALESCE(m.address, r.email) AS recipient, m.subject, m.text_body, m.html_body,
           m.created_at, m.quota_key, m.quota_now, m.quota_interval, m.quota_period
    FROM (SELECT * FROM account UNION ALL SELECT * FROM owner) AS r
    JOIN unnest($13::text[], $14::uuid[], $15::text[], $16::text[], $17::text[], $18::text[],
                $19::text[], $20::text[], $21::text[], $22::timestamptz[], $23::bytea[],
                $24::int8[], $25::int8[], $26::int8[])
        AS m (variant, id, message_id, kind, channel, address, subject, text_body, html_body,
              created_at, quota_key, quota_now, quota_interval, quota_period)
        ON m.variant = CASE r.variant WHEN 'replaced' THEN 'new' ELSE r.variant END
), quota AS (
    INSERT INTO rate_limits (key, tat)
    SELECT quota_key, quota_now + quota_interval FROM message WHERE quota_key IS NOT NULL
    ON CONFLICT (key) DO UPDATE
        SET tat = GREATEST(rate_limits.tat, (SELECT quota_now FROM message)) + (SELECT quota_interval FROM message)
        WHERE GREATEST(rate_limits.tat, (SELECT quota_now FROM message)) + (SELECT quota_interval FROM message)
              - (SELECT quota_now FROM message) <= (SELECT quota_period FROM message)
    RETURNING tat
), queued AS (
    INSERT INTO outbox (id, message_id, kind, user_id, recipient, subject, text_body, html_body,
                        status, attempts, created_at, next_attempt_at, channel)
    SELECT id, message_id, kind, user_id, recipient, subject, text_body, html_body,
           'pending', 0, created_at, created_at, channel
    FROM message WHERE quota_key IS NULL OR EXISTS (SELECT 1 FROM quota)
    RETURNING id
), trail AS (
    INSERT INTO audit_log (at, event, outcome, user_id, ip, user_agent, detail)
    SELECT e.at, e.event, e.outcome, m.user_id, e.ip, e.user_agent,
           CASE WHEN m.way = 'replaced' AND e.if_queued IS NULL THEN $36 ELSE e.detail END
    FROM message AS m
    JOIN unnest($27::text[], $28::bool[], $29::timestamptz[], $30::text[], $31::text[],
                $32::text[], $33::text[], $34::text[]) WITH ORDINALITY
        AS e (variant, if_queued, at, event, outcome, ip, user_agent, detail, position)
        ON e.variant = m.variant
    WHERE e.if_queued IS NULL OR e.if_queued = EXISTS (SELECT 1 FROM queued)
    ORDER BY e.position
)
SELECT (SELECT id FROM account) AS account, (SELECT id FROM owner) AS owner";

impl PgStore {
    pub(super) async fn register_account(
        &self,
        account: &NewAccount<'_>,
        token: &NewToken,
        mail: &NewMessage,
        meta: &RequestMeta,
        taken: Option<&TakenAddress<'_>>,
    ) -> Result<Registration, RegisterError> {
        let user = account.user;
        let registered = AuditEvent::new(
            user.created_at,
            AuditKind::UserRegistered,
            Outcome::Success,
            Some(user.id),
            meta,
        );
        let mut messages = Messages::default();
        let mut events = Events::default();
        // A replaced account's too: the statement gives its own entry
        // `REPLACED_SIGN_UP` for a detail (the message once, not twice, in
        // the parameters of every sign-up).
        messages.push(NEW, mail, Some(&mail.recipient));
        events.push(NEW, &registered, mail, meta);
        if let Some(taken) = taken {
            // To the address the owner registered, not as typed here.
            messages.push(TAKEN, taken.notice, None);
            events.push(TAKEN, taken.event, taken.notice, &taken.event.meta);
        }
        for _ in 0..ATTEMPTS {
            let (account, owner): (Option<Uuid>, Option<Uuid>) = sqlx::query_as(REGISTER)
                .bind(user.id.as_uuid())
                .bind(user.name.as_str())
                .bind(user.email.as_str())
                .bind(user.email.unique_key())
                .bind(account.password_hash.as_str())
                .bind(user.status.as_str())
                .bind(user.created_at)
                .bind(taken.is_some())
                .bind(token.id)
                .bind(token.digest.as_bytes())
                .bind(token.created_at)
                .bind(token.expires_at)
                .bind(&messages.variant)
                .bind(&messages.id)
                .bind(&messages.message_id)
                .bind(&messages.kind)
                .bind(&messages.channel)
                .bind(&messages.recipient)
                .bind(&messages.subject)
                .bind(&messages.text_body)
                .bind(&messages.html_body)
                .bind(&messages.created_at)
                .bind(&messages.quota_key)
                .bind(&messages.quota_now)
                .bind(&messages.quota_interval)
                .bind(&messages.quota_period)
                .bind(&events.variant)
                .bind(&events.if_queued)
                .bind(&events.at)
                .bind(&events.event)
                .bind(&events.outcome)
                .bind(&events.ip)
                .bind(&events.user_agent)
                .bind(&events.detail)
                .bind(VERIFICATION_MAIL)
                .bind(REPLACED_SIGN_UP)
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::from)?;
            match (account, owner, taken) {
                (Some(id), _, _) if id == user.id.as_uuid() => return Ok(Registration::Created),
                (Some(id), _, _) => return Ok(Registration::Replaced(UserId::from_uuid(id))),
                (None, Some(owner), _) => {
                    return Ok(Registration::OwnerNotified(UserId::from_uuid(owner)));
                }
                (None, None, None) => return Err(RegisterError::EmailTaken),
                // The owner committed after this statement's snapshot: again.
                (None, None, Some(_)) => {}
            }
        }
        Err(StoreError::Corrupt("an address both taken and without an account").into())
    }
}

/// The messages a sign-up may send, one per `variant`, as columns.
#[derive(Debug, Default)]
struct Messages<'a> {
    variant: Vec<&'a str>,
    id: Vec<Uuid>,
    message_id: Vec<&'a str>,
    kind: Vec<&'a str>,
    channel: Vec<&'a str>,
    /// `None`: the taken account's own address.
    recipient: Vec<Option<&'a str>>,
    subject: Vec<&'a str>,
    text_body: Vec<&'a str>,
    html_body: Vec<&'a str>,
    created_at: Vec<DateTime<Utc>>,
    /// `None`: no quota (limits are off).
    quota_key: Vec<Option<&'a [u8]>>,
    quota_now: Vec<i64>,
    quota_interval: Vec<i64>,
    quota_period: Vec<i64>,
}

impl<'a> Messages<'a> {
    fn push(&mut self, variant: &'a str, mail: &'a NewMessage, recipient: Option<&'a str>) {
        self.variant.push(variant);
        self.id.push(mail.id);
        self.message_id.push(&mail.message_id);
        self.kind.push(mail.kind);
        self.channel.push(mail.channel.as_str());
        self.recipient.push(recipient);
        self.subject.push(&mail.subject);
        self.text_body.push(&mail.text_body);
        self.html_body.push(&mail.html_body);
        self.created_at.push(mail.created_at);
        let limit = mail.recipient_limit.as_ref();
        self.quota_key.push(limit.map(|limit| &limit.key[..]));
        self.quota_now.push(mail.created_at.timestamp_millis());
        self.quota_interval
            .push(limit.map_or(0, |limit| limit.quota.interval_ms()));
        self.quota_period.push(limit.map_or(0, |limit| {
            limit.quota.period_ms().saturating_add(QUOTA_SLACK_MS)
        }));
    }
}

/// The trail's entries for each `variant`, in order, as columns: the
/// sign-up's own, then the message's, written as queued or as held back.
/// The account they name is the statement's (the new one, or the owner).
#[derive(Debug, Default)]
struct Events<'a> {
    variant: Vec<&'a str>,
    /// `None`: always written; otherwise only if the message was (not) queued.
    if_queued: Vec<Option<bool>>,
    at: Vec<DateTime<Utc>>,
    event: Vec<&'static str>,
    outcome: Vec<&'static str>,
    ip: Vec<Option<String>>,
    user_agent: Vec<Option<String>>,
    detail: Vec<Option<String>>,
}

impl<'a> Events<'a> {
    fn push(&mut self, variant: &'a str, own: &AuditEvent, mail: &NewMessage, meta: &RequestMeta) {
        let queued = mail_event(mail, meta, true);
        let held_back = mail_event(mail, meta, false);
        for (if_queued, event) in [
            (None, own),
            (Some(true), &queued),
            (Some(false), &held_back),
        ] {
            self.variant.push(variant);
            self.if_queued.push(if_queued);
            self.at.push(event.at);
            self.event.push(event.kind.as_str());
            self.outcome.push(event.outcome.as_str());
            self.ip.push(event.meta.ip.clone());
            self.user_agent.push(event.meta.user_agent.clone());
            self.detail.push(event.detail.clone());
        }
    }
}
