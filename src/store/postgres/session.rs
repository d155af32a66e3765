//! A session started in one statement: the session, the device it started
//! on, and the trail's entries (what proved the person, then
//! `session.started`). Written as BEGIN, three INSERTs and COMMIT it was
//! five round trips, each one waking a backend on the cores that hash
//! passwords; a sign-in is a hash and this (BENCHMARKS.md, session 8).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgStore;
use crate::audit::{AuditEvent, AuditKind, Outcome, RequestMeta};
use crate::store::{NewSession, StoreError, StoreResult};

const START_SESSION: &str = "\
WITH session AS (
    INSERT INTO sessions (id, user_id, digest, created_at, last_seen_at, authenticated_at, expires_at, ip, user_agent, signed_in_with)
    VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $18)
), device AS (
    -- A device of another account keeps its owner (the flow never names
    -- one, but the row is not this session's to take). One seen within
    -- the day is not touched: an upsert locks the row even when its WHERE
    -- leaves it be, and the next sign-in from that browser would wait for
    -- this one's commit.
    INSERT INTO devices (digest, user_id, created_at, last_seen_at)
    SELECT $9, $2, $4, $4 WHERE $9::bytea IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM devices WHERE digest = $9 AND last_seen_at > $17)
    ON CONFLICT (digest) DO UPDATE SET last_seen_at = $4 WHERE devices.user_id = $2
)
INSERT INTO audit_log (at, event, outcome, user_id, ip, user_agent, detail)
SELECT at, event, outcome, user_id, ip, user_agent, detail
FROM unnest($10::timestamptz[], $11::text[], $12::text[], $13::uuid[], $14::text[], $15::text[], $16::text[])
    WITH ORDINALITY AS e (at, event, outcome, user_id, ip, user_agent, detail, position)
ORDER BY position";

impl PgStore {
    pub(super) async fn start_session(
        &self,
        session: &NewSession,
        meta: &RequestMeta,
        proof: Option<&AuditEvent>,
    ) -> StoreResult<()> {
        let started = AuditEvent::new(
            session.created_at,
            AuditKind::SessionStarted,
            Outcome::Success,
            Some(session.user_id),
            meta,
        )
        .with_detail(session.started_detail());
        let mut events = Events::default();
        for event in proof.into_iter().chain([&started]) {
            events.push(event);
        }
        sqlx::query(START_SESSION)
            .bind(session.id)
            .bind(session.user_id.as_uuid())
            .bind(session.digest.as_bytes())
            .bind(session.created_at)
            .bind(session.authenticated_at)
            .bind(session.expires_at)
            .bind(meta.ip.as_deref())
            .bind(meta.user_agent.as_deref())
            .bind(session.device.as_ref().map(|device| device.as_bytes()))
            .bind(&events.at)
            .bind(&events.event)
            .bind(&events.outcome)
            .bind(&events.user_id)
            .bind(&events.ip)
            .bind(&events.user_agent)
            .bind(&events.detail)
            .bind(session.device_fresh_since())
            .bind(session.signed_in_with.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }
}

/// The trail's entries, in order, as columns.
#[derive(Debug, Default)]
struct Events<'a> {
    at: Vec<DateTime<Utc>>,
    event: Vec<&'static str>,
    outcome: Vec<&'static str>,
    user_id: Vec<Option<Uuid>>,
    ip: Vec<Option<&'a str>>,
    user_agent: Vec<Option<&'a str>>,
    detail: Vec<Option<&'a str>>,
}

impl<'a> Events<'a> {
    fn push(&mut self, event: &'a AuditEvent) {
        self.at.push(event.at);
        self.event.push(event.kind.as_str());
        self.outcome.push(event.outcome.as_str());
        self.user_id.push(event.user_id.map(|id| id.as_uuid()));
        self.ip.push(event.meta.ip.as_deref());
        self.user_agent.push(event.meta.user_agent.as_deref());
        self.detail.push(event.detail.as_deref());
    }
}
