//! A datasource's options through their life: checked against the type's fields, masks sent
//! back by a client restored from the stored values, split and sealed for storage, opened for a
//! connector, masked for every response.
//!
//! Secret fields are top-level fields of the type's schema (`password`, `token`,
//! `secretHeaders`, …); each is sealed whole. A response shows a secret field that is set as
//! [`MASK`] and omits one that is not, so a client can tell "set" from "empty" without seeing it.

use std::fmt;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Error;
use crate::secrets::{Envelope, KeyRing, SecretSlot};
use crate::types::DatasourceType;

/// What a response shows instead of a secret; sending it back keeps the stored value.
pub const MASK: &str = "********";

const FIELD_PREFIX: &str = "datasourceOptions";

/// Checks `options` against the fields of `datasource_type`: an object, no unknown field, each
/// value of its field's kind, required fields present. A secret field may hold [`MASK`].
pub fn check(
    datasource_type: DatasourceType,
    options: &Value,
) -> Result<Map<String, Value>, Error> {
    let Value::Object(map) = options else {
        return Err(Error::invalid(FIELD_PREFIX, "an object"));
    };
    let fields = datasource_type.fields();
    for (name, value) in map {
        let Some(field) = fields.iter().find(|f| f.name == name) else {
            let known: Vec<_> = fields.iter().map(|f| f.name).collect();
            return Err(Error::invalid(
                format!("{FIELD_PREFIX}.{}", printable(name)),
                format!(
                    "unknown option for {}; known: {}",
                    datasource_type.as_str(),
                    known.join(", ")
                ),
            ));
        };
        if value.is_null() || (field.secret && value.as_str() == Some(MASK)) {
            continue;
        }
        field
            .check(value)
            .map_err(|message| Error::invalid(format!("{FIELD_PREFIX}.{name}"), message))?;
    }
    for field in fields.iter().filter(|f| f.required) {
        if map.get(field.name).is_none_or(Value::is_null) {
            return Err(Error::invalid(
                format!("{FIELD_PREFIX}.{}", field.name),
                "required",
            ));
        }
    }
    // A null is "not set": dropped, so storage never holds nulls.
    Ok(map
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// A field name as an error may show it: at most 64 characters, control characters dropped.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Replaces every [`MASK`] in a secret field of `options` by the stored value of that field;
/// a mask with nothing stored behind it is refused (it would store the mask as the secret).
pub fn restore_masks(
    datasource_type: DatasourceType,
    mut options: Map<String, Value>,
    stored: Option<&OpenOptions>,
) -> Result<Map<String, Value>, Error> {
    for (name, value) in options.iter_mut() {
        if !(datasource_type.is_secret(name) && value.as_str() == Some(MASK)) {
            continue;
        }
        match stored.and_then(|stored| stored.values.get(name)) {
            Some(previous) => *value = previous.clone(),
            None => {
                return Err(Error::invalid(
                    format!("{FIELD_PREFIX}.{name}"),
                    "the mask stands for a stored value, and none is stored: send the value",
                ));
            }
        }
    }
    Ok(options)
}

/// Options as a client sent them (create, update, test), ready to use: checked against the
/// type, masks restored from `stored` (ignored when it is of another type).
pub fn prepare(
    datasource_type: DatasourceType,
    sent: &Value,
    stored: Option<&OpenOptions>,
) -> Result<OpenOptions, Error> {
    let checked = check(datasource_type, sent)?;
    let stored = stored.filter(|stored| stored.datasource_type == datasource_type);
    let restored = restore_masks(datasource_type, checked, stored)?;
    Ok(OpenOptions::new(datasource_type, restored))
}

/// Options as stored: plain fields, sealed secret fields, and the key that sealed them.
#[derive(Debug, Clone, PartialEq)]
pub struct SealedOptions {
    /// The plain fields (a JSON object).
    pub plain: Value,
    /// `{field: envelope}` (a JSON object).
    pub secrets: Value,
    /// The key of every envelope (`None` when there are no secrets).
    pub key_id: Option<String>,
}

/// Options in the clear, for a connector. `Debug` shows the field names only.
#[derive(Clone, PartialEq)]
pub struct OpenOptions {
    /// The type.
    pub datasource_type: DatasourceType,
    /// Every field, secrets included.
    pub values: Map<String, Value>,
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("datasource_type", &self.datasource_type)
            .field("fields", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl OpenOptions {
    /// Checked options (see [`check`] and [`restore_masks`]).
    pub fn new(datasource_type: DatasourceType, values: Map<String, Value>) -> Self {
        OpenOptions {
            datasource_type,
            values,
        }
    }

    /// A string field.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Value::as_str)
    }

    /// An integer field.
    pub fn integer(&self, name: &str) -> Option<i64> {
        self.values.get(name).and_then(Value::as_i64)
    }

    /// A boolean field.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.values.get(name).and_then(Value::as_bool)
    }

    /// Every string inside a secret field (a header list's values too), longest first: what
    /// [`crate::scrub::Scrubber`] cuts out of driver messages.
    pub fn secret_strings(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (name, value) in &self.values {
            if self.datasource_type.is_secret(name) {
                collect_strings(value, &mut found);
            }
        }
        found
    }

    /// Seals the secret fields for datasource `datasource_id` of `tenant_id` under the ring's
    /// active key.
    pub fn seal(
        &self,
        ring: &KeyRing,
        tenant_id: Uuid,
        datasource_id: Uuid,
    ) -> Result<SealedOptions, Error> {
        let mut plain = Map::new();
        let mut secrets = Map::new();
        for (name, value) in &self.values {
            if !self.datasource_type.is_secret(name) {
                plain.insert(name.clone(), value.clone());
                continue;
            }
            let slot = SecretSlot::datasource(tenant_id, datasource_id, name);
            let plaintext = serde_json::to_vec(value)
                .map_err(|_| Error::invalid(format!("{FIELD_PREFIX}.{name}"), "not JSON"))?;
            let envelope = ring.seal(slot, &plaintext).map_err(Error::Seal)?;
            let envelope = serde_json::to_value(envelope)
                .map_err(|_| Error::invalid(format!("{FIELD_PREFIX}.{name}"), "not JSON"))?;
            secrets.insert(name.clone(), envelope);
        }
        let key_id = (!secrets.is_empty()).then(|| ring.active().id().0.clone());
        Ok(SealedOptions {
            plain: Value::Object(plain),
            secrets: Value::Object(secrets),
            key_id,
        })
    }

    /// The options as every response shows them: plain fields as they are, each set secret
    /// field as [`MASK`].
    pub fn masked(&self) -> Value {
        masked_fields(self.datasource_type, &self.values)
    }
}

fn masked_fields(datasource_type: DatasourceType, values: &Map<String, Value>) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(name, value)| {
                let shown = if datasource_type.is_secret(name) {
                    Value::from(MASK)
                } else {
                    value.clone()
                };
                (name.clone(), shown)
            })
            .collect(),
    )
}

/// The stored options masked, without opening anything (a list needs no keys).
pub fn masked_from_storage(
    datasource_type: DatasourceType,
    plain: &Value,
    secrets: &Value,
) -> Value {
    let mut shown = plain.as_object().cloned().unwrap_or_default();
    for name in secrets.as_object().into_iter().flat_map(Map::keys) {
        shown.insert(name.clone(), Value::from(MASK));
    }
    masked_fields(datasource_type, &shown)
}

fn collect_strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) if !text.is_empty() => found.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, found)),
        Value::Object(map) => {
            // A header `{key, value}`: the name is not the secret, the value is.
            match map.get("value") {
                Some(inner) if map.contains_key("key") => collect_strings(inner, found),
                _ => map.values().for_each(|inner| collect_strings(inner, found)),
            }
        }
        _ => {}
    }
}

/// Opens stored options: the plain fields and each sealed field (which must open at its own
/// place, `tenant_id`/`datasource_id`/field). A failure names the datasource.
pub fn open(
    ring: &KeyRing,
    datasource_type: DatasourceType,
    tenant_id: Uuid,
    datasource_id: Uuid,
    plain: &Value,
    secrets: &Value,
) -> Result<OpenOptions, Error> {
    let unopenable = |source| Error::Unopenable {
        datasource_id,
        source,
    };
    let mut values = plain.as_object().cloned().unwrap_or_default();
    for (name, sealed) in secrets.as_object().into_iter().flatten() {
        let envelope: Envelope = serde_json::from_value(sealed.clone()).map_err(|error| {
            unopenable(crate::secrets::SecretError::Malformed(error.to_string()))
        })?;
        let slot = SecretSlot::datasource(tenant_id, datasource_id, name);
        let plaintext = ring.open(slot, &envelope).map_err(unopenable)?;
        let value = serde_json::from_slice(&plaintext).map_err(|_| {
            unopenable(crate::secrets::SecretError::Malformed(
                "plaintext is not JSON".into(),
            ))
        })?;
        values.insert(name.clone(), value);
    }
    Ok(OpenOptions::new(datasource_type, values))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::secrets::Key;
    use serde_json::json;

    const T: DatasourceType = DatasourceType::Postgresql;

    fn ring(byte: u8) -> KeyRing {
        KeyRing::new(Key::from_bytes([byte; 32]), vec![]).unwrap()
    }

    #[test]
    fn checks_shape_kinds_unknown_and_required_fields() {
        assert!(check(T, &json!([1])).is_err());
        let unknown = check(T, &json!({"hots": "x"})).unwrap_err().to_string();
        assert!(
            unknown.contains("datasourceOptions.hots") && unknown.contains("host"),
            "{unknown}"
        );
        let port = check(T, &json!({"port": 70000})).unwrap_err().to_string();
        assert!(port.contains("datasourceOptions.port"), "{port}");
        let missing = check(DatasourceType::Sqlite, &json!({}))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("datasourceOptions.path"), "{missing}");
        let wrong = check(T, &json!({"password": 12345}))
            .unwrap_err()
            .to_string();
        assert!(
            !wrong.contains("12345"),
            "a message never quotes a value: {wrong}"
        );
        let ok = check(
            T,
            &json!({"host": "db", "port": 5432, "password": MASK, "user": null}),
        )
        .unwrap();
        assert!(!ok.contains_key("user"));
    }

    #[test]
    fn masks_restore_from_the_stored_value_and_are_refused_without_one() {
        let stored = OpenOptions::new(
            T,
            check(T, &json!({"host": "db", "password": "canary-pw"})).unwrap(),
        );
        let sent = check(T, &json!({"host": "db2", "password": MASK})).unwrap();
        let restored = restore_masks(T, sent.clone(), Some(&stored)).unwrap();
        assert_eq!(restored["password"], "canary-pw");
        assert_eq!(restored["host"], "db2");
        assert!(restore_masks(T, sent, None).is_err());
        // A plain field holding the mask text is just text.
        let plain = check(T, &json!({"host": MASK})).unwrap();
        assert_eq!(restore_masks(T, plain, None).unwrap()["host"], MASK);
    }

    #[test]
    fn seals_only_secret_fields_and_opens_them_back() {
        let (tenant, ds) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let open_options = OpenOptions::new(
            T,
            check(T, &json!({"host": "db", "password": "canary-pw"})).unwrap(),
        );
        let sealed = open_options.seal(&ring(1), tenant, ds).unwrap();
        assert_eq!(sealed.plain, json!({"host": "db"}));
        assert!(!sealed.secrets.to_string().contains("canary-pw"));
        assert_eq!(
            sealed.key_id.as_deref(),
            Some(ring(1).active().id().0.as_str())
        );
        let back = open(&ring(1), T, tenant, ds, &sealed.plain, &sealed.secrets).unwrap();
        assert_eq!(back, open_options);
        assert_eq!(back.masked(), json!({"host": "db", "password": MASK}));
        assert_eq!(
            masked_from_storage(T, &sealed.plain, &sealed.secrets),
            back.masked()
        );
        assert!(!format!("{back:?}").contains("canary-pw"));
    }

    #[test]
    fn a_secret_copied_to_another_datasource_fails_naming_the_target() {
        let (tenant, ds, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let options = OpenOptions::new(T, check(T, &json!({"password": "pw"})).unwrap());
        let sealed = options.seal(&ring(1), tenant, ds).unwrap();
        let error = open(&ring(1), T, tenant, other, &sealed.plain, &sealed.secrets).unwrap_err();
        assert!(matches!(error, Error::Unopenable { datasource_id, .. } if datasource_id == other));
        assert!(error.to_string().contains(&other.to_string()));
        assert!(!error.to_string().contains("pw\""));
    }

    #[test]
    fn secret_strings_include_header_values_not_names() {
        let t = DatasourceType::Restapi;
        let options = OpenOptions::new(
            t,
            check(t, &json!({"baseUrl": "http://x", "secretHeaders": [{"key": "X-Auth", "value": "canary-h"}], "token": "canary-t"})).unwrap(),
        );
        let mut found = options.secret_strings();
        found.sort();
        assert_eq!(found, vec!["canary-h".to_string(), "canary-t".to_string()]);
    }
}
