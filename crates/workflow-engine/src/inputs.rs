//! A run's input checked against the workflow's input definitions: required inputs present,
//! defaults applied, values of the declared type (numeric and boolean strings coerced).

use serde_json::{Map, Value};

use crate::error::Error;
use crate::model::{InputDefinition, InputType};

/// Checks and coerces `input` (an object, or null for none).
pub fn check(definitions: &[InputDefinition], input: Value) -> Result<Value, Error> {
    let mut values = match input {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        _ => {
            return Err(Error::InvalidInput {
                field: "input".into(),
                message: "must be an object".into(),
            });
        }
    };
    for definition in definitions {
        let name = &definition.name;
        let given = values.remove(name).filter(|v| !v.is_null());
        let value = match given.or_else(|| definition.default.clone()) {
            Some(value) => {
                coerce(definition.input_type, value).map_err(|message| Error::InvalidInput {
                    field: name.clone(),
                    message,
                })?
            }
            None if definition.required => {
                return Err(Error::InvalidInput {
                    field: name.clone(),
                    message: "is required".into(),
                });
            }
            None => continue,
        };
        values.insert(name.clone(), value);
    }
    Ok(Value::Object(values))
}

fn coerce(kind: InputType, value: Value) -> Result<Value, String> {
    match (kind, value) {
        (InputType::Any, v) => Ok(v),
        (InputType::String, Value::String(s)) => Ok(Value::String(s)),
        (InputType::String, v @ (Value::Number(_) | Value::Bool(_))) => {
            Ok(Value::String(v.to_string()))
        }
        (InputType::Number, Value::Number(n)) => Ok(Value::Number(n)),
        (InputType::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{s}` is not a number")),
        (InputType::Boolean, Value::Bool(b)) => Ok(Value::Bool(b)),
        (InputType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{s}` is not a boolean")),
        },
        (InputType::Object, v @ Value::Object(_)) => Ok(v),
        (InputType::Array, v @ Value::Array(_)) => Ok(v),
        (kind, _) => Err(format!(
            "must be of type {}",
            format!("{kind:?}").to_lowercase()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(
        name: &str,
        input_type: InputType,
        required: bool,
        default: Option<Value>,
    ) -> InputDefinition {
        InputDefinition {
            name: name.into(),
            input_type,
            default,
            required,
        }
    }

    #[test]
    fn inputs_are_checked_coerced_and_defaulted() {
        let defs = [
            def("n", InputType::Number, true, None),
            def("flag", InputType::Boolean, false, Some(json!(false))),
            def("name", InputType::String, false, None),
        ];
        assert_eq!(
            check(&defs, json!({"n": "4.5", "extra": 1})).unwrap(),
            json!({"n": 4.5, "flag": false, "extra": 1})
        );
        assert!(
            matches!(check(&defs, json!({})), Err(Error::InvalidInput { field, .. }) if field == "n")
        );
        assert!(matches!(
            check(&defs, json!({"n": "x"})),
            Err(Error::InvalidInput { .. })
        ));
        assert!(matches!(
            check(&defs, json!([1])),
            Err(Error::InvalidInput { .. })
        ));
    }
}
