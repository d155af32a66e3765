//! A request counted against its quotas in one statement. Sign-up, login,
//! resend, password reset and password change each count a request against
//! the client's address and against its target; as two upserts that was two
//! round trips and two flushed commits, each waking a backend on the cores
//! that hash passwords (BENCHMARKS.md, session 9). The second is counted only
//! when the first allows the request, as two calls that stop at the first
//! refusal would.
//!
//! The commit does not wait for the flush (`synchronous_commit` off for this
//! transaction alone): a counter need not survive a crash by itself, and the
//! request it let through flushes it with its own write, which comes after it
//! in the log. Other instances see it at once either way.

use super::{PgStore, QUOTA_SLACK_MS, quota_wait};
use crate::store::{QuotaRefusal, QuotaTake, StoreError, StoreResult};

/// The cell rate algorithm of `take_quota_in` once or twice over: `second`
/// inserts from `first`'s output, so it writes nothing when `first` refused,
/// and nothing when there is no second key.
const TAKE_QUOTAS: &str = "\
WITH first AS (
    INSERT INTO rate_limits (key, tat) VALUES ($1, $2 + $3)
    ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3
    WHERE (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 - $2 <= $4
    RETURNING key
), second AS (
    INSERT INTO rate_limits (key, tat) SELECT $5, $2 + $6 FROM first WHERE $5::bytea IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $6
    WHERE (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $6 - $2 <= $7
    RETURNING key
)
SELECT set_config('synchronous_commit', 'off', true),
       EXISTS (SELECT 1 FROM first), EXISTS (SELECT 1 FROM second)";

impl PgStore {
    pub(super) async fn take_quotas_in_one_write(
        &self,
        now_ms: i64,
        first: &QuotaTake,
        then: Option<&QuotaTake>,
    ) -> StoreResult<Option<QuotaRefusal>> {
        let mut conn = self.pool.acquire().await?;
        let (_, first_fits, then_fits): (String, bool, bool) = sqlx::query_as(TAKE_QUOTAS)
            .bind(&first.key[..])
            .bind(now_ms)
            .bind(first.interval_ms)
            .bind(first.period_ms + QUOTA_SLACK_MS)
            .bind(then.map(|then| &then.key[..]))
            .bind(then.map(|then| then.interval_ms))
            .bind(then.map(|then| then.period_ms + QUOTA_SLACK_MS))
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::from)?;
        // A refusal is the rare path: its wait is read after the statement.
        let (refused, second) = match (first_fits, then) {
            (false, _) => (first, false),
            (true, Some(then)) if !then_fits => (then, true),
            (true, _) => return Ok(None),
        };
        let wait_ms = quota_wait(&mut conn, now_ms, refused).await?;
        Ok(Some(QuotaRefusal { second, wait_ms }))
    }
}
