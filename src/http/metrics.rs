//! `GET /metrics` for Prometheus, present only with `LATCHKEY_METRICS_TOKEN`
//! and answered only to that Bearer token; and the layer that counts every
//! answer into it (`crate::metrics`).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing;

use super::ApiError;
use super::bearer::{Credential, bearer};
use crate::state::AppState;

/// OpenMetrics' text format, which Prometheus asks for first.
const OPEN_METRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics`, or nothing at all without a configured token (the path
/// then answers 404 like any unknown one).
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    if state.metrics_key.is_none() {
        return Router::new();
    }
    Router::new().route("/metrics", routing::get(get))
}

/// Counts the answer by the route's pattern (never the path as sent, which
/// may carry an id), its status and how long it took; without a token
/// nobody can read the counts, and nothing is counted.
pub(super) async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.metrics_key.is_none() {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The instance's metrics.
#[utoipa::path(
    get, path = "/metrics", tag = "meta",
    description = "Prometheus metrics of this instance, in the OpenMetrics text format: \
        `latchkey_http_requests_total` by method, route pattern and status, \
        `latchkey_http_request_duration_seconds` by method and route, \
        `latchkey_outbox_delivered_total` and `latchkey_outbox_failed_attempts_total` by \
        channel, `latchkey_outbox_queued` and `latchkey_outbox_oldest_queued_age_seconds` by \
        channel (the database's backlog, read at each scrape), `latchkey_hashing_admitted` and \
        `latchkey_hashing_capacity`, `latchkey_build_info`. Present only when `LATCHKEY_METRICS_TOKEN` is set, and \
        answered only to that token as a Bearer token.",
    responses(
        (status = 200, description = "The metrics", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "`invalid_metrics_token`: no or the wrong token", body = super::openapi::ErrorBody),
        (status = 404, description = "`not_found`: no metrics token is configured", body = super::openapi::ErrorBody),
    ),
    security(("metrics_token" = [])),
)]
pub(super) async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let authorized = match (&state.metrics_key, bearer(&headers)) {
        (Some(key), Credential::Bearer(token)) => key.matches(token),
        _ => false,
    };
    if !authorized {
        return (
            [(
                header::WWW_AUTHENTICATE,
                r#"Bearer realm="latchkey-metrics""#,
            )],
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_metrics_token",
                "This needs the metrics token as a Bearer token.",
            ),
        )
            .into_response();
    }
    // Read at each scrape: a gauge kept up to date on every write would
    // cost the hot paths for the sake of a read every 15 seconds.
    let backlog = match state.store.backlog().await {
        Ok(backlog) => backlog,
        Err(error) => return ApiError::from(crate::flows::FlowError::from(error)).into_response(),
    };
    state.metrics.backlog(&backlog, state.clock.now());
    let (admitted, capacity) = state.hasher.load();
    state.metrics.hashing(admitted, capacity);
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(OPEN_METRICS))],
        state.metrics.render(),
    )
        .into_response()
}
