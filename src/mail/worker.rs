//! The outbox worker: takes due messages, delivers them, and records the
//! outcome. Failures are retried with exponential back-off (2 s, 4 s, ...,
//! capped at 60 s) until `retry_for` has passed since the message was queued.
//! Any number of workers, on any number of instances, can run at once: the
//! store leases each message to one of them.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use lettre::message::Mailbox;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::Instrument;
use uuid::Uuid;

use super::{SmsTransport, Transport};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::store::{Channel, OutboxMessage, Store};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How often to look for due messages when nobody rang.
    pub poll_interval: Duration,
    /// How long a claimed message is reserved for its worker; longer than
    /// any SMTP conversation, so a live worker never loses its claim.
    pub lease: Duration,
    pub batch: i64,
    /// After a pass that found mail, how long to let more gather before the
    /// next: under a stream of sign-ups one claim and one record then serve
    /// a full batch instead of a few messages. Idle, mail goes out at once;
    /// under load a message waits at most this much longer.
    pub linger: Duration,
    pub first_retry: Duration,
    pub max_backoff: Duration,
    pub retry_for: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(120),
            batch: i64::from(super::DELIVERIES_AT_ONCE),
            linger: Duration::from_millis(250),
            first_retry: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            retry_for: Duration::from_secs(24 * 3600),
        }
    }
}

impl WorkerSettings {
    /// Delay before the next try after `failures` failed attempts (>= 1).
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 2_u32.saturating_pow(failures.saturating_sub(1));
        self.first_retry
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[derive(Debug, Clone)]
pub struct OutboxWorker {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    pub sms: SmsTransport,
    pub from: Mailbox,
    pub clock: Arc<dyn Clock>,
    pub settings: WorkerSettings,
    /// Rung by flows after they commit a message, so mail goes out at once
    /// instead of at the next poll.
    pub wake: Arc<Notify>,
    /// Counts deliveries and failed attempts for `GET /metrics`.
    pub metrics: Metrics,
}

impl OutboxWorker {
    pub async fn run(self) {
        loop {
            let claimed = self.deliver_due().await;
            if claimed >= self.settings.batch {
                continue;
            }
            if claimed > 0 {
                tokio::time::sleep(self.settings.linger).await;
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }

    /// Delivers one batch of due messages; returns how many were claimed.
    pub async fn deliver_due(&self) -> i64 {
        let now = self.clock.now();
        let lease_until = now + TimeDelta::from_std(self.settings.lease).unwrap_or(TimeDelta::MAX);
        let batch = match self
            .store
            .claim_messages(now, lease_until, self.settings.batch)
            .await
        {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(error = %error, "cannot read the outbox");
                return 0;
            }
        };
        let claimed = i64::try_from(batch.len()).unwrap_or(i64::MAX);
        let mut deliveries = JoinSet::new();
        for message in batch {
            let worker = self.clone();
            let span = tracing::info_span!("deliver", message.id = %message.id, attempt = message.attempts + 1);
            deliveries.spawn(async move { worker.deliver(message).await }.instrument(span));
        }
        let mut sent = Vec::new();
        while let Some(outcome) = deliveries.join_next().await {
            if let Ok(Some(id)) = outcome {
                sent.push(id);
            }
        }
        if let Err(error) = self.store.messages_sent(&sent, self.clock.now()).await {
            // The leases run out and another pass retries; the stable
            // Message-ID lets receivers drop the rare duplicate.
            tracing::error!(error = %error, "cannot record the deliveries");
        }
        claimed
    }

    /// Delivers one message; returns its id when it went out, to be recorded
    /// with the rest of the batch. A failure is recorded here, at once.
    async fn deliver(&self, message: OutboxMessage) -> Option<Uuid> {
        let outcome = match message.channel {
            Channel::Email => self.transport.deliver(&self.from, &message).await,
            Channel::Sms => self.sms.deliver(&message).await,
        };
        let error = match outcome {
            Ok(()) => {
                tracing::info!("email delivered");
                self.metrics.delivered(message.channel.as_str());
                return Some(message.id);
            }
            Err(error) => error,
        };
        let now = self.clock.now();
        let failures = u32::try_from(message.attempts)
            .unwrap_or(0)
            .saturating_add(1);
        let age = (now - message.created_at).to_std().unwrap_or_default();
        let retry_at = (!error.permanent && age < self.settings.retry_for).then(|| {
            now + TimeDelta::from_std(self.settings.backoff(failures)).unwrap_or(TimeDelta::MAX)
        });
        self.metrics
            .delivery_failed(message.channel.as_str(), retry_at.is_none());
        match retry_at {
            Some(at) => {
                tracing::warn!(error = %error, retry_at = %at, "email delivery failed; will retry");
            }
            None => tracing::error!(error = %error, "email delivery failed; giving up"),
        }
        let recorded = self
            .store
            .message_failed(message.id, &error.reason, retry_at, now)
            .await;
        if let Err(error) = recorded {
            tracing::error!(error = %error, "cannot record the failed delivery");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_within_five_seconds_and_caps_at_a_minute() {
        let settings = WorkerSettings::default();
        assert_eq!(settings.backoff(1), Duration::from_secs(2));
        assert_eq!(settings.backoff(2), Duration::from_secs(4));
        assert_eq!(settings.backoff(5), Duration::from_secs(32));
        assert_eq!(settings.backoff(6), Duration::from_secs(60));
        assert_eq!(settings.backoff(10_000), Duration::from_secs(60));
    }
}
