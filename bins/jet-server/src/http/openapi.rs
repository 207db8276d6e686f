//! The OpenAPI 3.1 description of the API, assembled from the route table.
//!
//! Schemas come from the wire types themselves (`#[derive(utoipa::ToSchema)]`, which reads their
//! serde attributes); everything else comes from each [`Route`]: path and query parameters, the
//! request body, the `{"data": …}` or page envelope of the answer, the security schemes its
//! [`Access`] accepts, and every error code the operation can answer, grouped by status: those
//! its access, body and query imply, plus the ones its [`Doc`] adds. See `docs/decisions.md` for
//! why the document is assembled here rather than by `utoipa-actix-web`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::http::access::{Access, Need};
use crate::http::error::ErrorCode;
use crate::http::route::{Doc, Reply, Route, Schemas};

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

/// The document for `routes`, as JSON. Deterministic: the same routes give the same bytes.
pub fn document(routes: &[Route]) -> Value {
    let mut schemas: Schemas = Vec::new();
    let mut errors: BTreeMap<String, Value> = BTreeMap::new();
    let mut paths: Map<String, Value> = Map::new();
    let mut tags: Vec<&'static str> = Vec::new();
    for route in routes {
        let Some(doc) = &route.doc else { continue };
        if !tags.contains(&doc.tag) {
            tags.push(doc.tag);
        }
        let operation = operation(route, doc, &mut schemas, &mut errors);
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(route.method.as_str().to_ascii_lowercase(), operation);
        }
    }
    let components: BTreeMap<String, Value> = schemas
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or(Value::Null)))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Jet Admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The multi-tenant internal-tools platform's HTTP API. Every answer is \
                JSON: `{\"data\": …}` on success (lists add `page`, `pageSize`, `total`), \
                `{\"error\": {\"code\", \"message\", …}}` on failure; `docs/errors.md` lists \
                the codes.",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"},
        },
        "tags": tags.iter().map(|tag| json!({"name": tag})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": errors,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Firebase ID token (or, in local identity mode, a token \
                        from `cargo xtask token`): `Authorization: Bearer <token>`.",
                },
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "A tenant's API key: `Authorization: api_key <key>`. Keys \
                        act only on their own tenant's routes.",
                },
            },
        },
    })
}

/// The document as pretty-printed JSON with a final newline: the bytes served and committed
/// as `docs/openapi.json`.
pub fn serialized(routes: &[Route]) -> actix_web::web::Bytes {
    let mut text = serde_json::to_string_pretty(&document(routes)).unwrap_or_default();
    text.push('\n');
    text.into()
}

fn operation(
    route: &Route,
    doc: &Doc,
    schemas: &mut Schemas,
    errors: &mut BTreeMap<String, Value>,
) -> Value {
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(doc.operation_id));
    operation.insert("tags".into(), json!([doc.tag]));
    operation.insert("summary".into(), json!(doc.summary));
    let mut description = doc.description.unwrap_or_default().to_string();
    if let Some(needs) = access_note(route.access) {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&needs);
    }
    if !description.is_empty() {
        operation.insert("description".into(), json!(description));
    }
    let mut parameters: Vec<Value> = path_parameters(route.path);
    if let Some(query) = doc.query {
        parameters.extend(
            query()
                .into_iter()
                .map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
        );
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = doc.body {
        let schema = to_json(body(schemas));
        let content = match route.access {
            // A webhook takes what its sender sends: JSON, a form, or text (webhooks::input).
            Access::Hook => json!({
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": {"type": "object",
                    "additionalProperties": {"type": "string"}}},
                "text/plain": {"schema": {"type": "string"}},
            }),
            _ => json!({"application/json": {"schema": schema}}),
        };
        operation.insert(
            "requestBody".into(),
            json!({"required": true, "content": content}),
        );
    }
    if let Some(security) = security(route.access) {
        operation.insert("security".into(), security);
    }
    let mut responses = Map::new();
    if let Some(reply) = doc.reply {
        for (status, response) in success(reply, schemas) {
            responses.insert(status.into(), response);
        }
    }
    for (status, codes) in error_codes(route, doc) {
        // One shared response per distinct set of codes, named after them.
        let name = format!(
            "Error{status}{}",
            codes
                .iter()
                .map(|code| pascal_case(code.as_str()))
                .collect::<String>()
        );
        errors
            .entry(name.clone())
            .or_insert_with(|| error_response(status, &codes));
        responses.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{name}")}),
        );
    }
    operation.insert("responses".into(), Value::Object(responses));
    Value::Object(operation)
}

fn to_json(schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> Value {
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

/// Every `{name}` of the path: a required string (a UUID: every id of this API is one).
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let schema = if name.ends_with("ID") {
                json!({"type": "string", "format": "uuid"})
            } else {
                json!({"type": "string"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

fn access_note(access: Access) -> Option<String> {
    match access {
        Access::Public => None,
        Access::Hook => Some(
            "Called by the hook's sender, without a user token or API key: the hook checks \
             the delivery by its own auth mode."
                .into(),
        ),
        Access::User => Some("Callable by signed-in users (not API keys).".into()),
        Access::Principal => Some(
            "Callable by signed-in users and API keys; what it reaches in a tenant is checked \
             there."
                .into(),
        ),
        Access::Tenant(rule) => Some(match rule.need {
            Need::Permission(permission) => match (rule.object, rule.source) {
                (Some(param), _) => {
                    format!("Requires `{permission}`, type-wide or as an asset grant on `{param}`.")
                }
                (None, Some(param)) => format!(
                    "Requires `{permission}`, and `{}:read` on `{param}` (type-wide or as an \
                     asset grant).",
                    permission.resource.as_str()
                ),
                (None, None) => format!("Requires `{permission}`."),
            },
            Need::Membership => "Callable by the tenant's members (not API keys).".into(),
        }),
    }
}

fn security(access: Access) -> Option<Value> {
    match access {
        Access::Public | Access::Hook => None,
        Access::User
        | Access::Tenant(crate::http::access::TenantRule {
            need: Need::Membership,
            ..
        }) => Some(json!([{"bearer": []}])),
        Access::Principal | Access::Tenant(_) => Some(json!([{"bearer": []}, {"apiKey": []}])),
    }
}

fn success(reply: Reply, schemas: &mut Schemas) -> Vec<(&'static str, Value)> {
    let mut answers = vec![single_success(reply, schemas)];
    if let Reply::Accepted(schema) = reply {
        // `?wait`: the same body, once the run ended (or the wait ran out).
        let data = json!({"type": "object", "required": ["data"],
            "properties": {"data": to_json(schema(schemas))}});
        answers.push((
            "200",
            json!({"description": "With `wait`: how the run ended, if it ended in time",
                "content": {"application/json": {"schema": data}}}),
        ));
    }
    answers
}

fn single_success(reply: Reply, schemas: &mut Schemas) -> (&'static str, Value) {
    let json_content = |description: &str, schema: Value| {
        json!({"description": description,
            "content": {"application/json": {"schema": schema}}})
    };
    let data = |schema: Value| json!({"type": "object", "required": ["data"], "properties": {"data": schema}});
    match reply {
        Reply::Data(schema) => ("200", json_content("OK", data(to_json(schema(schemas))))),
        Reply::DataList(schema) => {
            let items = json!({"type": "array", "items": to_json(schema(schemas))});
            ("200", json_content("OK", data(items)))
        }
        Reply::Created(schema) => (
            "201",
            json_content("Created", data(to_json(schema(schemas)))),
        ),
        Reply::Page(schema) => {
            let item = to_json(schema(schemas));
            let page = json!({
                "type": "object",
                "required": ["data", "page", "pageSize", "total"],
                "properties": {
                    "data": {"type": "array", "items": item},
                    "page": {"type": "integer", "minimum": 1},
                    "pageSize": {"type": "integer", "minimum": 1, "maximum": 200},
                    "total": {"type": "integer", "minimum": 0},
                },
            });
            ("200", json_content("One page", page))
        }
        Reply::Bare(schema) => ("200", json_content("OK", to_json(schema(schemas)))),
        Reply::File(media_type) => (
            "200",
            json!({"description": "The file",
                "content": {media_type: {"schema": {"type": "string"}}}}),
        ),
        Reply::Upgrade => (
            "101",
            json!({"description": "Switching Protocols: the connection is now the realtime \
                websocket (see the operation's description)"}),
        ),
        Reply::Accepted(schema) => (
            "202",
            json_content("Accepted", data(to_json(schema(schemas)))),
        ),
        Reply::EventStream => (
            "200",
            json!({"description": "Server-Sent Events, one run event per `data:` line, \
                `id:` its sequence number",
                "content": {"text/event-stream": {"schema": sse_event_schema()}}}),
        ),
    }
}

/// One Server-Sent Event of a stream, as SSE clients (and schemathesis) parse it: the stream is
/// a sequence of these (OpenAPI 3.2's `itemSchema`; 3.1 has no word for it).
fn sse_event_schema() -> Value {
    json!({
        "type": "object",
        "required": ["data"],
        "properties": {
            "id": {"type": "string", "description": "The event's sequence number in its run"},
            "event": {"type": "string", "enum": ["message", "end"],
                "description": "Absent for run events (`message`, as SSE clients name them); \
                    `end` after the run's final status"},
            "data": {"type": "string", "contentMediaType": "application/json",
                "description": "The event frame (`docs/realtime.md`); `{}` for `end`"},
            "retry": {"type": "integer"}
        }
    })
}

/// The codes `route` can answer, by status.
pub fn error_codes(route: &Route, doc: &Doc) -> BTreeMap<u16, Vec<ErrorCode>> {
    use ErrorCode::*;
    let mut codes = vec![RateLimited, ServerError, CorsOriginNotAllowed];
    if !matches!(route.access, Access::Public | Access::Hook) {
        codes.extend([
            UserAuthTokenNotFound,
            UserAuthTokenExpired,
            InvalidToken,
            InvalidApiKey,
            UserDisabled,
            IdentityProviderUnavailable,
        ]);
    }
    match route.access {
        Access::Public => {}
        Access::Hook => codes.extend([
            NotFound,
            WebhookUnauthorized,
            WebhookSignatureInvalid,
            WebhookTimestampStale,
            WebhookDisabled,
            WebhookReplayed,
            InvalidRequest,
            PayloadTooLarge,
            UnsupportedMediaType,
            SecretsUnreadable,
        ]),
        Access::User => codes.push(PermissionDenied),
        Access::Principal => {}
        Access::Tenant(_) => codes.extend([NotFound, PermissionDenied, TenantDisabled]),
    }
    if doc.body.is_some() {
        codes.extend([
            ValidationError,
            InvalidRequest,
            PayloadTooLarge,
            UnsupportedMediaType,
        ]);
    }
    if doc.query.is_some() {
        codes.push(ValidationError);
    }
    codes.extend(doc.errors.iter().copied());
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in codes {
        let listed = by_status.entry(code.status().as_u16()).or_default();
        if !listed.contains(&code) {
            listed.push(code);
        }
    }
    by_status
}

/// `PERMISSION_DENIED` → `PermissionDenied`.
fn pascal_case(code: &str) -> String {
    code.split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_string() + &chars.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

fn error_response(status: u16, codes: &[ErrorCode]) -> Value {
    let names: Vec<&str> = codes.iter().map(|code| code.as_str()).collect();
    let description = names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": names},
                    "message": {"type": "string"},
                },
            }},
        }}},
    });
    if status == 429 || status == 503 {
        response["headers"] = json!({"Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer", "minimum": 0},
        }});
    }
    response
}
