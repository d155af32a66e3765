//! What a form field shows when a page is rendered again after a post.

use crate::flows::FieldErrors;

/// The value to put back (never a password's) and the messages to show
/// beside the field.
#[derive(Debug, Default, Clone)]
pub(super) struct Field {
    pub(super) value: String,
    pub(super) errors: Vec<String>,
}

impl Field {
    pub(super) fn filled(value: Option<&str>) -> Self {
        Self {
            value: value.unwrap_or_default().to_owned(),
            errors: Vec::new(),
        }
    }

    /// `value` with the errors the server found for field `name`.
    pub(super) fn checked(value: Option<&str>, errors: &FieldErrors, name: &str) -> Self {
        Self {
            errors: errors
                .get(name)
                .unwrap_or_default()
                .iter()
                .map(|error| error.message.clone())
                .collect(),
            ..Self::filled(value)
        }
    }

    /// An empty field with the message of `error` beside it (a wrong code
    /// is never put back).
    pub(super) fn wrong(error: &crate::http::ApiError) -> Self {
        Self {
            value: String::new(),
            errors: vec![error.message().to_owned()],
        }
    }

    pub(super) fn invalid(&self) -> bool {
        !self.errors.is_empty()
    }
}
