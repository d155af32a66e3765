//! What an operator's Prometheus scrapes at `GET /metrics` (only when
//! `LATCHKEY_METRICS_TOKEN` is set): every answer by method, route and
//! status, with its latency, the outbox's deliveries, and at each scrape
//! the hashing pool's load and the outbox's backlog. Each instance counts
//! its own answers and load, which Prometheus sums; the backlog is the
//! database's, the same from every instance. Routes are the router's patterns
//! (`/sessions/{id}`), never a path as sent, so an id or a token never
//! becomes a label and the number of series stays bounded.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::{Backlog, Channel};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    channel: String,
    /// `retry` (tried again later) or `gave_up`.
    then: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

type Latencies = Family<RouteLabels, Histogram, fn() -> Histogram>;
type Seconds = Gauge<f64, AtomicU64>;

/// From 1 ms to about 16 s, doubling: a session check sits in the first
/// buckets, a sign-up (one argon2 hash) near 20-50 ms, an overloaded
/// request's wait up to the queue's bound.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The instance's counters; cheap to clone (one `Arc`).
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latencies: Latencies,
    delivered: Family<DeliveryLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    queued: Family<DeliveryLabels, Gauge>,
    oldest: Family<DeliveryLabels, Seconds>,
    hashing: Gauge,
    hashing_capacity: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("latchkey");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let latencies = Latencies::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its answer, by method and route",
            latencies.clone(),
        );
        let delivered = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "outbox_delivered",
            "Messages the mail server (or the SMS API) accepted, by channel",
            delivered.clone(),
        );
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "outbox_failed_attempts",
            "Delivery attempts that failed, by channel and what happens next",
            failures.clone(),
        );
        let queued = Family::<DeliveryLabels, Gauge>::default();
        registry.register(
            "outbox_queued",
            "Messages waiting to be delivered (retries included), by channel; the database's, \
             the same from every instance",
            queued.clone(),
        );
        let oldest = Family::<DeliveryLabels, Seconds>::default();
        registry.register(
            "outbox_oldest_queued_age_seconds",
            "How long the oldest message waiting has waited, by channel (0 when none waits)",
            oldest.clone(),
        );
        let hashing = Gauge::default();
        registry.register(
            "hashing_admitted",
            "Requests holding a place in the hashing pool: hashing, or waiting for a worker",
            hashing.clone(),
        );
        let hashing_capacity = Gauge::default();
        registry.register(
            "hashing_capacity",
            "Places in the hashing pool; with all taken, the next request is answered 503 overloaded",
            hashing_capacity.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register("build_info", "The running version", build);
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                latencies,
                delivered,
                failures,
                queued,
                oldest,
                hashing,
                hashing_capacity,
            }),
        }
    }

    /// One answer: `route` is the router's pattern, or `unmatched`.
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.inner
            .latencies
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    pub fn delivered(&self, channel: &str) {
        self.inner
            .delivered
            .get_or_create(&DeliveryLabels {
                channel: channel.to_owned(),
            })
            .inc();
    }

    pub fn delivery_failed(&self, channel: &str, gave_up: bool) {
        let then = if gave_up { "gave_up" } else { "retry" };
        self.inner
            .failures
            .get_or_create(&FailureLabels {
                channel: channel.to_owned(),
                then: then.to_owned(),
            })
            .inc();
    }

    /// The outbox's backlog at `now`; a channel absent from `backlog` has
    /// nothing waiting, and reads 0.
    pub fn backlog(&self, backlog: &[Backlog], now: DateTime<Utc>) {
        for channel in Channel::ALL {
            let waiting = backlog.iter().find(|b| b.channel == channel);
            let labels = DeliveryLabels {
                channel: channel.as_str().to_owned(),
            };
            self.inner
                .queued
                .get_or_create(&labels)
                .set(waiting.map_or(0, |b| b.queued));
            let age = waiting.map_or(0.0, |b| {
                (now - b.oldest).to_std().unwrap_or_default().as_secs_f64()
            });
            self.inner.oldest.get_or_create(&labels).set(age);
        }
    }

    /// The hashing pool's load (`Hasher::load`).
    pub fn hashing(&self, admitted: usize, capacity: usize) {
        self.inner
            .hashing
            .set(i64::try_from(admitted).unwrap_or(i64::MAX));
        self.inner
            .hashing_capacity
            .set(i64::try_from(capacity).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text of everything counted so far.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.inner.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_by_route_pattern_and_status() {
        let metrics = Metrics::new();
        metrics.request("GET", "/sessions/{id}", 204, Duration::from_millis(3));
        metrics.request("GET", "/sessions/{id}", 204, Duration::from_millis(5));
        metrics.request("POST", "/login", 401, Duration::from_millis(30));
        metrics.delivered("email");
        metrics.delivery_failed("sms", false);
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let backlog = Backlog {
            channel: Channel::Email,
            queued: 3,
            oldest: now - chrono::TimeDelta::seconds(90),
        };
        metrics.backlog(&[backlog], now);
        metrics.hashing(5, 34);
        let text = metrics.render();
        for expected in [
            "latchkey_http_requests_total{method=\"GET\",route=\"/sessions/{id}\",status=\"204\"} 2",
            "latchkey_http_requests_total{method=\"POST\",route=\"/login\",status=\"401\"} 1",
            "latchkey_http_request_duration_seconds_count{method=\"GET\",route=\"/sessions/{id}\"} 2",
            "latchkey_outbox_delivered_total{channel=\"email\"} 1",
            "latchkey_outbox_failed_attempts_total{channel=\"sms\",then=\"retry\"} 1",
            "latchkey_build_info{version=\"0.1.0\"} 1",
            "latchkey_outbox_queued{channel=\"email\"} 3",
            "latchkey_outbox_queued{channel=\"sms\"} 0",
            "latchkey_outbox_oldest_queued_age_seconds{channel=\"email\"} 90.0",
            "latchkey_outbox_oldest_queued_age_seconds{channel=\"sms\"} 0.0",
            "latchkey_hashing_admitted 5",
            "latchkey_hashing_capacity 34",
            "# EOF",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
    }
}
