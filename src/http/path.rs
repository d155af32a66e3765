//! A path parameter extractor whose failures speak our error format.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ApiError;

/// A segment that does not decode (percent-encoded bytes that are not
/// UTF-8) names nothing we have: `404 not_found`, as JSON, where axum's own
/// rejection would be a plain-text 400.
#[derive(Debug)]
pub(super) struct ApiPath<T>(pub(super) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|_: PathRejection| {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is nothing here.")
            })
    }
}
