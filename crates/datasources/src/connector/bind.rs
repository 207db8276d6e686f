//! Binding input values as statement parameters, by JSON type: null, boolean, 64-bit integer,
//! float, text, and JSON for objects and arrays. Never as statement text.

use serde_json::{Map, Value};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Database, Encode, Type};

use crate::Error;

/// Binds the input named by each of `params`, in order.
pub(crate) fn bind_all<'q, DB>(
    mut query: Query<'q, DB, <DB as Database>::Arguments>,
    params: &[String],
    inputs: &Map<String, Value>,
) -> Result<Query<'q, DB, <DB as Database>::Arguments>, Error>
where
    DB: Database,
    bool: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
    Json<Value>: Encode<'q, DB> + Type<DB>,
{
    for key in params {
        let value = inputs.get(key).ok_or_else(|| {
            Error::invalid(
                "dataQueryOptions.query",
                format!("`{{{{inputs.{key}}}}}` names an input that is not defined"),
            )
        })?;
        query = match value {
            Value::Null => query.bind(None::<String>),
            Value::Bool(flag) => query.bind(*flag),
            Value::Number(number) => match number.as_i64() {
                Some(integer) => query.bind(integer),
                None => query.bind(number.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(text) => query.bind(text.clone()),
            Value::Array(_) | Value::Object(_) => query.bind(Json(value.clone())),
        };
    }
    Ok(query)
}
