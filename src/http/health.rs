use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use super::openapi::ErrorBody;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub(super) struct Health {
    #[schema(schema_with = ok)]
    status: &'static str,
}

fn ok() -> utoipa::openapi::ObjectBuilder {
    super::views::string_enum(&["ok"])
}

/// 200 once the database answers; migrations ran before the port opened.
#[utoipa::path(
    get, path = "/healthz", tag = "meta",
    description = "200 once the database answers (migrations run before the port opens).",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "`unavailable`: the database does not answer", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(()),
)]
pub(super) async fn get(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(Health { status: "ok" })),
        Err(error) => {
            tracing::error!(error = %error, "health check: database unreachable");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The database is unreachable.",
            ))
        }
    }
}
