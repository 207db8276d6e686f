//! `{{ctx.path.to[0].value}}` templates. Paths are resolved by walking JSON, never by running
//! code: the only root is `ctx`, segments are `.name`, `[index]` or `["quoted name"]`. A template
//! that is the whole string keeps the value's type; embedded templates are spliced in as text.

use serde_json::Value;

use crate::context::Context;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A parsed `ctx.…` path (the `ctx` root is implied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(pub Vec<Segment>);

/// Why a template is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl Path {
    /// Parses `ctx.a.b[0]["c d"]`.
    pub fn parse(text: &str) -> Result<Path, TemplateError> {
        let text = text.trim();
        let rest = text.strip_prefix("ctx").ok_or_else(|| {
            TemplateError(format!("`{text}` must start with `ctx` (the only root)"))
        })?;
        let bytes = rest.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < bytes.len()
                        && (bytes[end].is_ascii_alphanumeric()
                            || bytes[end] == b'_'
                            || bytes[end] == b'$'
                            || bytes[end] == b'-')
                    {
                        end += 1;
                    }
                    if end == start {
                        return Err(TemplateError(format!("`{text}`: a name must follow `.`")));
                    }
                    segments.push(Segment::Key(rest[start..end].to_string()));
                    i = end;
                }
                b'[' => {
                    let close = rest[i..]
                        .find(']')
                        .map(|p| p + i)
                        .ok_or_else(|| TemplateError(format!("`{text}`: `[` is not closed")))?;
                    let inner = rest[i + 1..close].trim();
                    let quoted = inner.len() >= 2
                        && ((inner.starts_with('"') && inner.ends_with('"'))
                            || (inner.starts_with('\'') && inner.ends_with('\'')));
                    if quoted {
                        segments.push(Segment::Key(inner[1..inner.len() - 1].to_string()));
                    } else {
                        let index = inner.parse::<usize>().map_err(|_| {
                            TemplateError(format!(
                                "`{text}`: `[{inner}]` is neither an index nor a quoted name"
                            ))
                        })?;
                        segments.push(Segment::Index(index));
                    }
                    i = close + 1;
                }
                _ => {
                    return Err(TemplateError(format!(
                        "`{text}`: unexpected `{}` (templates hold paths, not expressions)",
                        &rest[i..]
                            .chars()
                            .next()
                            .map(String::from)
                            .unwrap_or_default()
                    )));
                }
            }
        }
        Ok(Path(segments))
    }

    /// The value at this path in `ctx`, or `None` when any step is missing.
    pub fn lookup(&self, ctx: &Context) -> Option<Value> {
        let (first, rest) = match self.0.split_first() {
            None => return Some(ctx.to_json()),
            Some(split) => split,
        };
        let Segment::Key(key) = first else {
            return None;
        };
        let mut current = ctx.get(key)?;
        for segment in rest {
            current = match (segment, current) {
                (Segment::Key(k), Value::Object(map)) => map.get(k)?,
                (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(current.clone())
    }
}

/// A string split into literal text and template paths.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Path(Path),
}

fn pieces(text: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| TemplateError(format!("`{text}`: `{{{{` is not closed")))?;
        out.push(Piece::Path(Path::parse(&after[..close])?));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err(TemplateError(format!("`{text}`: `}}}}` without `{{{{`")));
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

/// Checks every template in `value` (recursively) without resolving it.
pub fn check(value: &Value) -> Result<(), TemplateError> {
    match value {
        Value::String(s) => pieces(s).map(|_| ()),
        Value::Array(items) => items.iter().try_for_each(check),
        Value::Object(map) => map.values().try_for_each(check),
        _ => Ok(()),
    }
}

/// Resolves one string. A string that is exactly one template yields the value itself (or
/// `null` when the path is missing); otherwise templates are spliced in as text (strings as-is,
/// other values as JSON, missing as nothing).
pub fn resolve_str(text: &str, ctx: &Context) -> Result<Value, TemplateError> {
    if !text.contains("{{") {
        if text.contains("}}") {
            return Err(TemplateError(format!("`{text}`: `}}}}` without `{{{{`")));
        }
        return Ok(Value::String(text.to_string()));
    }
    let parts = pieces(text)?;
    if let [Piece::Path(path)] = parts.as_slice() {
        return Ok(path.lookup(ctx).unwrap_or(Value::Null));
    }
    let mut out = String::new();
    for part in parts {
        match part {
            Piece::Text(t) => out.push_str(&t),
            Piece::Path(path) => match path.lookup(ctx) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => out.push_str(&s),
                Some(other) => out.push_str(&other.to_string()),
            },
        }
    }
    Ok(Value::String(out))
}

/// Resolves every string in `value`, recursively.
pub fn resolve(value: &Value, ctx: &Context) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => resolve_str(s, ctx)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve(v, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve(v, ctx)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        let mut c = Context::default();
        c.set(
            "input",
            json!({"user": {"name": "Ada", "tags": ["a", "b"]}, "n": 3}),
        );
        c.set("odd key", json!({"x y": 1}));
        c
    }

    #[test]
    fn a_whole_string_template_keeps_the_type() {
        assert_eq!(resolve_str("{{ctx.input.n}}", &ctx()).unwrap(), json!(3));
        assert_eq!(
            resolve_str("{{ ctx.input.user.tags }}", &ctx()).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            resolve_str("{{ctx.missing.path}}", &ctx()).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn embedded_templates_become_text() {
        assert_eq!(
            resolve_str(
                "Hi {{ctx.input.user.name}} ({{ctx.input.user.tags[1]}}) {{ctx.nope}}!",
                &ctx()
            )
            .unwrap(),
            json!("Hi Ada (b) !")
        );
        assert_eq!(
            resolve_str("n={{ctx.input.n}}", &ctx()).unwrap(),
            json!("n=3")
        );
    }

    #[test]
    fn quoted_keys_and_indexes_walk_json() {
        assert_eq!(
            resolve_str("{{ctx['odd key'][\"x y\"]}}", &ctx()).unwrap(),
            json!(1)
        );
        assert_eq!(
            resolve_str("{{ctx.input.user.tags[5]}}", &ctx()).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn anything_but_a_path_is_refused() {
        for bad in [
            "{{process.env}}",
            "{{ctx.a + 1}}",
            "{{ctx.constructor()}}",
            "{{ctx.a",
            "ctx.a}}",
            "{{ctx[a]}}",
            "{{ctx.}}",
        ] {
            assert!(check(&json!(bad)).is_err(), "{bad} should be refused");
        }
    }
}
