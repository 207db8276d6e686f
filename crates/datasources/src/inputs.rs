//! A query's input definitions (`inputDefinitions: [{key, type, default, required}]`) and the
//! coercion of the input values a run brings.
//!
//! Coercion, per type: `string` takes strings, numbers and booleans (as their text);
//! `number` and `integer` take numbers and numeric strings (`""` is null); `boolean` takes
//! booleans, `"true"`/`"false"`, `1`/`0`, `"1"`/`"0"`; `object` and `array` take their JSON kind or
//! a string holding it. A missing value takes the default; a required input that is missing,
//! null or `""` is refused. Values for keys that are not defined are dropped: a template can only
//! name defined keys, so they could not be used anyway.

use serde_json::{Map, Number, Value};

use crate::Error;

/// Most inputs a query may define.
pub const MAX_DEFINITIONS: usize = 100;

/// The type of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    /// Text.
    String,
    /// A JSON number.
    Number,
    /// A 64-bit integer.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl InputType {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => InputType::String,
            "number" => InputType::Number,
            "integer" => InputType::Integer,
            "boolean" => InputType::Boolean,
            "object" => InputType::Object,
            "array" => InputType::Array,
            _ => return None,
        })
    }
}

/// One defined input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputDefinition {
    /// Its key (`{{inputs.<key>}}`).
    pub key: String,
    /// Its type (default `string`).
    pub input_type: InputType,
    /// Used when a run does not give it.
    pub default: Option<Value>,
    /// Whether a run must give it (or a default must exist).
    pub required: bool,
}

const FIELD: &str = "dataQueryOptions.inputDefinitions";

/// A valid input key: an identifier of at most 64 characters.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `inputDefinitions` (absent: none). Keys are unique; defaults must coerce.
pub fn parse_definitions(value: Option<&Value>) -> Result<Vec<InputDefinition>, Error> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(Error::invalid(
                FIELD,
                "an array of {key, type, default, required}",
            ));
        }
    };
    if items.len() > MAX_DEFINITIONS {
        return Err(Error::invalid(
            FIELD,
            format!("at most {MAX_DEFINITIONS} inputs"),
        ));
    }
    let mut definitions: Vec<InputDefinition> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let at = format!("{FIELD}[{index}]");
        let Some(map) = item.as_object() else {
            return Err(Error::invalid(
                at,
                "an object {key, type, default, required}",
            ));
        };
        if let Some(extra) = map
            .keys()
            .find(|k| !["key", "type", "default", "required"].contains(&k.as_str()))
        {
            return Err(Error::invalid(
                at,
                format!(
                    "unknown field `{}`",
                    extra.chars().take(64).collect::<String>()
                ),
            ));
        }
        let key = map
            .get("key")
            .and_then(Value::as_str)
            .filter(|key| valid_key(key))
            .ok_or_else(|| {
                Error::invalid(
                    format!("{at}.key"),
                    "an identifier (letters, digits, _; at most 64)",
                )
            })?;
        if definitions.iter().any(|d| d.key == key) {
            return Err(Error::invalid(
                format!("{at}.key"),
                format!("`{key}` is defined twice"),
            ));
        }
        let input_type = match map.get("type") {
            None | Some(Value::Null) => InputType::String,
            Some(Value::String(text)) => InputType::parse(text).ok_or_else(|| {
                Error::invalid(
                    format!("{at}.type"),
                    "string, number, integer, boolean, object or array",
                )
            })?,
            Some(_) => return Err(Error::invalid(format!("{at}.type"), "a type name")),
        };
        let required = match map.get("required") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(Error::invalid(format!("{at}.required"), "true or false")),
        };
        let default = match map.get("default") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                coerce(input_type, value)
                    .map_err(|message| Error::invalid(format!("{at}.default"), message))?,
            ),
        };
        definitions.push(InputDefinition {
            key: key.to_string(),
            input_type,
            default,
            required,
        });
    }
    Ok(definitions)
}

/// The values a run uses: every defined key, coerced, defaulted, required ones present.
pub fn resolve(
    definitions: &[InputDefinition],
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    let mut resolved = Map::new();
    for definition in definitions {
        let field = format!("inputValues.{}", definition.key);
        let value = match given.get(&definition.key) {
            Some(value) if !value.is_null() => {
                coerce(definition.input_type, value).map_err(|m| Error::invalid(&field, m))?
            }
            _ => definition.default.clone().unwrap_or(Value::Null),
        };
        let missing = value.is_null() || value.as_str() == Some("");
        if definition.required && missing {
            return Err(Error::invalid(field, "required"));
        }
        resolved.insert(definition.key.clone(), value);
    }
    Ok(resolved)
}

/// Coerces `value` to `input_type`; the message does not quote the value.
pub fn coerce(input_type: InputType, value: &Value) -> Result<Value, String> {
    match (input_type, value) {
        (InputType::String, Value::String(_)) => Ok(value.clone()),
        (InputType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (InputType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (InputType::String, _) => Err("a string".into()),
        (InputType::Number, Value::Number(_)) => Ok(value.clone()),
        (InputType::Number, Value::String(text)) => parse_number(text),
        (InputType::Number, _) => Err("a number".into()),
        (InputType::Integer, Value::Number(n)) => n
            .as_i64()
            .map(Value::from)
            .ok_or_else(|| "an integer".to_string()),
        (InputType::Integer, Value::String(text)) if text.trim().is_empty() => Ok(Value::Null),
        (InputType::Integer, Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "an integer".to_string()),
        (InputType::Integer, _) => Err("an integer".into()),
        (InputType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (InputType::Boolean, Value::Number(n)) => match n.as_i64() {
            Some(1) => Ok(Value::Bool(true)),
            Some(0) => Ok(Value::Bool(false)),
            _ => Err("true or false".into()),
        },
        (InputType::Boolean, Value::String(text)) => match text.as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" | "" => Ok(Value::Bool(false)),
            _ => Err("true or false".into()),
        },
        (InputType::Boolean, _) => Err("true or false".into()),
        (InputType::Object, Value::Object(_)) | (InputType::Array, Value::Array(_)) => {
            Ok(value.clone())
        }
        (InputType::Object | InputType::Array, Value::String(text)) => {
            let parsed: Value = serde_json::from_str(text).map_err(|_| kind_name(input_type))?;
            match (input_type, &parsed) {
                (InputType::Object, Value::Object(_)) | (InputType::Array, Value::Array(_)) => {
                    Ok(parsed)
                }
                _ => Err(kind_name(input_type)),
            }
        }
        (InputType::Object | InputType::Array, _) => Err(kind_name(input_type)),
    }
}

fn kind_name(input_type: InputType) -> String {
    match input_type {
        InputType::Object => "a JSON object".into(),
        _ => "a JSON array".into(),
    }
}

fn parse_number(text: &str) -> Result<Value, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Value::Null);
    }
    if let Ok(integer) = text.parse::<i64>() {
        return Ok(Value::from(integer));
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| "a number".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definitions(value: Value) -> Vec<InputDefinition> {
        parse_definitions(Some(&value)).unwrap()
    }

    #[test]
    fn coerces_by_type() {
        assert_eq!(coerce(InputType::String, &json!(12)).unwrap(), json!("12"));
        assert_eq!(
            coerce(InputType::Number, &json!("1.5")).unwrap(),
            json!(1.5)
        );
        assert_eq!(coerce(InputType::Number, &json!("")).unwrap(), Value::Null);
        assert!(coerce(InputType::Number, &json!("NaN")).is_err());
        assert!(coerce(InputType::Number, &json!("1 OR 1=1")).is_err());
        assert_eq!(coerce(InputType::Integer, &json!("42")).unwrap(), json!(42));
        assert!(coerce(InputType::Integer, &json!(1.5)).is_err());
        assert_eq!(
            coerce(InputType::Boolean, &json!("0")).unwrap(),
            json!(false)
        );
        assert_eq!(
            coerce(InputType::Object, &json!("{\"a\":1}")).unwrap(),
            json!({"a": 1})
        );
        assert!(coerce(InputType::Array, &json!("{\"a\":1}")).is_err());
    }

    #[test]
    fn resolves_defaults_required_and_drops_unknown_keys() {
        let defs = definitions(json!([
            {"key": "id", "type": "integer", "required": true},
            {"key": "name", "default": "anon"},
        ]));
        let given = json!({"id": "7", "extra": "dropped"});
        let resolved = resolve(&defs, given.as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(resolved), json!({"id": 7, "name": "anon"}));
        let missing = resolve(&defs, json!({"id": ""}).as_object().unwrap()).unwrap_err();
        assert!(missing.to_string().contains("inputValues.id"));
    }

    #[test]
    fn refuses_bad_definitions() {
        for bad in [
            json!({"key": "a"}),
            json!([{"key": "1a"}]),
            json!([{"key": "a"}, {"key": "a"}]),
            json!([{"key": "a", "type": "date"}]),
            json!([{"key": "a", "type": "integer", "default": "x"}]),
            json!([{"key": "a", "extra": 1}]),
        ] {
            assert!(parse_definitions(Some(&bad)).is_err(), "{bad}");
        }
    }
}
