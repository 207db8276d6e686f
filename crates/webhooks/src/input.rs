//! A delivery's body as a run's input (`ctx.input`).
//!
//! - `application/json` (and `+json` types): an object is the input as it is, so its fields
//!   meet the workflow's input definitions by name; any other JSON value is `{"body": value}`.
//! - `application/x-www-form-urlencoded`: an object of the fields (a repeated field becomes an
//!   array of its values, in order).
//! - `text/*`, or no content type: `{"body": "the text"}` (it must be UTF-8).
//! - anything else is refused: the sender is told which types a hook takes.

use serde_json::{Map, Value};

/// Why a body cannot be an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadBody {
    /// The content type says JSON (or form, or text) but the body is not.
    #[error("{0}")]
    Malformed(String),
    /// A content type a hook does not take.
    #[error("a hook takes application/json, application/x-www-form-urlencoded or text/*, not {0}")]
    UnsupportedType(String),
}

/// The run input for `body` sent as `content_type`.
pub fn run_input(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, BadBody> {
    let media_type = content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let wrap = |value: Value| Map::from_iter([("body".to_string(), value)]);
    if media_type == "application/json" || media_type.ends_with("+json") {
        return match serde_json::from_slice(body) {
            Ok(Value::Object(fields)) => Ok(fields),
            Ok(other) => Ok(wrap(other)),
            Err(error) => Err(BadBody::Malformed(format!("the body is not JSON: {error}"))),
        };
    }
    if media_type == "application/x-www-form-urlencoded" {
        return Ok(form_fields(body));
    }
    if media_type.is_empty() || media_type.starts_with("text/") {
        return match std::str::from_utf8(body) {
            Ok(text) => Ok(wrap(Value::String(text.to_string()))),
            Err(_) => Err(BadBody::Malformed("the body is not UTF-8 text".into())),
        };
    }
    Err(BadBody::UnsupportedType(media_type))
}

fn form_fields(body: &[u8]) -> Map<String, Value> {
    let mut fields = Map::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        let value = Value::String(value.into_owned());
        match fields.get_mut(name.as_ref()) {
            None => {
                fields.insert(name.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                fields.insert(name.into_owned(), Value::Array(vec![first, value]));
            }
        }
    }
    fields
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(content_type: Option<&str>, body: &str) -> Value {
        Value::Object(run_input(content_type, body.as_bytes()).unwrap())
    }

    #[test]
    fn a_json_object_is_the_input_and_other_json_is_wrapped() {
        assert_eq!(
            input(Some("application/json; charset=utf-8"), r#"{"order": 7}"#),
            json!({"order": 7})
        );
        assert_eq!(
            input(Some("application/vnd.shop+json"), "[1, 2]"),
            json!({"body": [1, 2]})
        );
        assert!(matches!(
            run_input(Some("application/json"), b"{nope"),
            Err(BadBody::Malformed(_))
        ));
    }

    #[test]
    fn forms_become_fields_and_repeats_become_arrays() {
        assert_eq!(
            input(
                Some("application/x-www-form-urlencoded"),
                "a=1&b=hello+world&a=2&a=3"
            ),
            json!({"a": ["1", "2", "3"], "b": "hello world"})
        );
    }

    #[test]
    fn text_is_wrapped_and_other_types_are_refused() {
        assert_eq!(input(Some("text/plain"), "ping"), json!({"body": "ping"}));
        assert_eq!(input(None, ""), json!({"body": ""}));
        assert!(matches!(
            run_input(Some("text/plain"), &[0xff, 0xfe]),
            Err(BadBody::Malformed(_))
        ));
        assert_eq!(
            run_input(Some("application/octet-stream"), b"x"),
            Err(BadBody::UnsupportedType("application/octet-stream".into()))
        );
    }
}
