//! The rule for the free-text description of datasources and data queries: at most
//! [`MAX_DESCRIPTION_CHARS`] characters; blank is no description.

use crate::Error;

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// `description` checked for the API field `field`.
pub(crate) fn valid_description(
    field: &'static str,
    description: Option<String>,
) -> Result<Option<String>, Error> {
    match description {
        Some(text) if text.chars().count() > MAX_DESCRIPTION_CHARS => Err(Error::invalid(
            field,
            format!("at most {MAX_DESCRIPTION_CHARS} characters"),
        )),
        Some(text) if text.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}
