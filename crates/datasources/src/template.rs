//! `{{inputs.<key>}}` templates in query options.
//!
//! The only expression a template may hold is `inputs.<key>` (spaces around it allowed), with
//! `<key>` a defined input: no other roots, no paths, no calls. Anything else between `{{` and
//! `}}` is refused when the query is saved, so a run never meets a template it cannot resolve.

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
