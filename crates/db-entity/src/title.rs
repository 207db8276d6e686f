//! The one rule for the `title` columns of tenants, roles, API keys and folders (and every later
//! titled object): trimmed, 1 to 200 characters. Domain crates map [`InvalidTitle`] into their
//! own error with the field name the API uses.

/// Longest title, in characters (not bytes).
pub const MAX_TITLE_CHARS: usize = 200;

/// A title that breaks the rule, and the API field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTitle {
    /// The field, in the API's spelling (`roleTitle`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

/// `raw`, trimmed, if it is at most [`MAX_TITLE_CHARS`] characters as sent and not empty once
/// trimmed (the limit is on what the client sends, as the API description states it).
pub fn valid_title(field: &'static str, raw: &str) -> Result<String, InvalidTitle> {
    let title = raw.trim();
    if title.is_empty() || raw.chars().count() > MAX_TITLE_CHARS {
        return Err(InvalidTitle {
            field,
            message: format!("must be 1 to {MAX_TITLE_CHARS} characters"),
        });
    }
    Ok(title.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded_in_characters() {
        assert_eq!(valid_title("t", "  Acme \n"), Ok("Acme".to_string()));
        assert!(valid_title("t", "").is_err());
        assert!(valid_title("t", " \t\u{a0}\u{3000} ").is_err());
        assert_eq!(
            valid_title("t", &"é".repeat(200)).map(|t| t.chars().count()),
            Ok(200)
        );
        let too_long = valid_title("roleTitle", &"a".repeat(201)).unwrap_err();
        assert_eq!(too_long.field, "roleTitle");
        let padded = format!("{} ", "a".repeat(200));
        assert!(
            valid_title("t", &padded).is_err(),
            "the limit is on the text as sent"
        );
    }
}
