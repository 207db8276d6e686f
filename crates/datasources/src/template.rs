//! `{{inputs.<key>}}` templates in query options.
//!
//! The only expression a template may hold is `inputs.<key>` (spaces around it allowed), with
//! `<key>` a defined input: no other roots, no paths, no calls. Anything else between `{{` and
//! `}}` is refused when the query is saved, so a run never meets a template it cannot resolve.

use serde_json::{Map, Value};

use crate::Error;
use crate::inputs::valid_key;

/// A piece of a templated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text as written.
    Text(&'a str),
    /// The value of input `key`.
    Input(&'a str),
}

/// Splits `text` into text and inputs; `field` names it in errors.
pub fn parse<'a>(field: &str, text: &'a str) -> Result<Vec<Segment<'a>>, Error> {
    let mut segments = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            segments.push(Segment::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(Error::invalid(field, "`{{` without its `}}`"));
        };
        segments.push(Segment::Input(input_key(field, &after[..end])?));
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err(Error::invalid(field, "`}}` without its `{{`"));
    }
    if !rest.is_empty() {
        segments.push(Segment::Text(rest));
    }
    Ok(segments)
}

fn input_key<'a>(field: &str, expression: &'a str) -> Result<&'a str, Error> {
    expression
        .trim()
        .strip_prefix("inputs.")
        .filter(|key| valid_key(key))
        .ok_or_else(|| {
            Error::invalid(
                field,
                "a template is {{inputs.<key>}}: no other expression is allowed",
            )
        })
}

/// The input keys `text` refers to.
pub fn keys<'a>(field: &str, text: &'a str) -> Result<Vec<&'a str>, Error> {
    Ok(parse(field, text)?
        .into_iter()
        .filter_map(|segment| match segment {
            Segment::Input(key) => Some(key),
            Segment::Text(_) => None,
        })
        .collect())
}

/// When `text` is exactly one template (`"{{inputs.id}}"`), its key: such a value takes the
/// input's own JSON type instead of text.
pub fn sole_input<'a>(field: &str, text: &'a str) -> Result<Option<&'a str>, Error> {
    match parse(field, text)?.as_slice() {
        [Segment::Input(key)] => Ok(Some(key)),
        _ => Ok(None),
    }
}

/// An input's value as text: a string as it is, null as nothing, anything else as JSON.
pub fn as_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `text` with every template replaced by its input's value as text, passed through `encode`
/// (URL-encoding for a path, the identity elsewhere): a value can never add a path segment or
/// a query parameter of its own.
pub fn render_text(
    field: &str,
    text: &str,
    inputs: &Map<String, Value>,
    encode: fn(&str) -> String,
) -> Result<String, Error> {
    let mut out = String::with_capacity(text.len());
    for segment in parse(field, text)? {
        match segment {
            Segment::Text(part) => out.push_str(part),
            Segment::Input(key) => out.push_str(&encode(&as_text(inputs.get(key)))),
        }
    }
    Ok(out)
}

/// A `[{key, value}]` list (query headers, query parameters) with the templates of both sides
/// rendered as text.
pub fn render_pairs(
    field: &str,
    list: Option<&Value>,
    inputs: &Map<String, Value>,
) -> Result<Vec<(String, String)>, Error> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|pair| {
            let side = |name| pair.get(name).and_then(Value::as_str).unwrap_or_default();
            Ok((
                render_text(field, side("key"), inputs, str::to_string)?,
                render_text(field, side("value"), inputs, str::to_string)?,
            ))
        })
        .collect()
}

/// `value` with its templates resolved: a string that is exactly one template takes the input's
/// own JSON value (a number stays a number), other strings are rendered as text, arrays and
/// objects element by element (object keys are left as written).
pub fn render_value(
    field: &str,
    value: &Value,
    inputs: &Map<String, Value>,
) -> Result<Value, Error> {
    Ok(match value {
        Value::String(text) => match sole_input(field, text)? {
            Some(key) => inputs.get(key).cloned().unwrap_or(Value::Null),
            None => Value::String(render_text(field, text, inputs, str::to_string)?),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_value(field, item, inputs))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), render_value(field, item, inputs)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_and_keeps_types_of_sole_templates() {
        let inputs: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"id": 7, "name": "a/b c", "none": null}))
                .unwrap();
        let encode: fn(&str) -> String = crate::scrub::url_encode;
        assert_eq!(
            render_text("f", "/users/{{inputs.name}}/x", &inputs, encode).unwrap(),
            "/users/a%2Fb%20c/x"
        );
        let body = serde_json::json!({"id": "{{inputs.id}}", "label": "n={{inputs.id}}",
            "list": ["{{inputs.none}}", 1], "{{inputs.id}}": true});
        assert_eq!(
            render_value("f", &body, &inputs).unwrap(),
            serde_json::json!({"id": 7, "label": "n=7", "list": [null, 1], "{{inputs.id}}": true})
        );
    }

    #[test]
    fn splits_text_and_inputs() {
        assert_eq!(
            parse("f", "a {{ inputs.id }} b{{inputs.x}}").unwrap(),
            vec![
                Segment::Text("a "),
                Segment::Input("id"),
                Segment::Text(" b"),
                Segment::Input("x"),
            ]
        );
        assert_eq!(sole_input("f", "{{inputs.id}}").unwrap(), Some("id"));
        assert_eq!(sole_input("f", " {{inputs.id}}").unwrap(), None);
    }

    #[test]
    fn refuses_anything_but_an_input() {
        for bad in [
            "{{process.env.X}}",
            "{{inputs.a.b}}",
            "{{inputs.a + 1}}",
            "{{inputs.}}",
            "{{inputs.a",
            "a}}",
            "{{ constructor }}",
        ] {
            assert!(parse("f", bad).is_err(), "{bad}");
        }
    }
}
