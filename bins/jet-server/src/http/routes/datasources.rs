//! `/api/v1/tenants/{tenantID}/datasources`: the tenant's connections to databases, APIs and
//! brokers, with their secrets sealed at rest and masked in every answer.
//!
//! Secret fields are shown as [`MASK`]; sending the mask back (update, test) keeps the stored
//! value. A create tests the connection first unless `skipTest`; `POST …/test` tests options
//! without saving them; `POST …/{id}/proxy` runs one of the type's allow-listed actions.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use datasources::datasource::{
    self, ConnectionStatus, Datasource, DatasourceChange, NewDatasource,
};
use datasources::options::{self, MASK};
use datasources::types::DatasourceType;
use rbac::{Action, Permission, Resource};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::nullable;
use crate::http::pagination::ListQuery;
use crate::http::route::Route;
use crate::http::routes::queries::QueryResult;
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// Errors a route that reaches the datasource may answer.
pub const CONNECTOR_ERRORS: &[ErrorCode] = &[
    ErrorCode::ValidationError,
    ErrorCode::InvalidRequest,
    ErrorCode::DatasourceUnreachable,
    ErrorCode::DatasourceTimeout,
    ErrorCode::QueryFailed,
    ErrorCode::NetworkPolicyDenied,
    ErrorCode::TooManyRuns,
    ErrorCode::SecretsUnreadable,
];

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/datasources";
    const ONE: &str = "/api/v1/tenants/{tenantID}/datasources/{datasourceID}";
    let reads = |action| TenantRule::reads(Resource::Datasource, action);
    let writes = |action| TenantRule::writes(Resource::Datasource, action);
    vec![
        Route::get(ALL, Access::Tenant(reads(Action::List)), list)
            .doc(
                "listDatasources",
                "Datasources",
                "The tenant's datasources, secrets masked",
            )
            .describe("`search` looks in titles, descriptions, types and tags.")
            .query::<ListQuery>()
            .page::<DatasourceView>(),
        Route::get(
            "/api/v1/tenants/{tenantID}/datasources/types",
            Access::Tenant(reads(Action::List)),
            types,
        )
        .doc(
            "listDatasourceTypes",
            "Datasources",
            "Every datasource type: its options schema (secret fields marked `x-secret`) and its query options schema",
        )
        .ok_list::<DatasourceTypeView>(),
        Route::post(ALL, Access::Tenant(writes(Action::Create)), create)
            .doc(
                "createDatasource",
                "Datasources",
                "Creates a datasource; its connection is tested first unless `skipTest`",
            )
            .body::<CreateDatasource>()
            .created::<DatasourceView>()
            .errors(CONNECTOR_ERRORS),
        Route::post(
            "/api/v1/tenants/{tenantID}/datasources/test",
            Access::Tenant(reads(Action::Test)),
            test,
        )
        .doc(
            "testDatasource",
            "Datasources",
            "Tests a connection from options that are not saved, or a saved datasource's with its masked fields restored",
        )
        .describe(
            "With `datasourceID`, masked fields (`********`) take the saved values, which needs \
             `datasource:read` on that datasource.",
        )
        .body::<TestDatasource>()
        .ok::<ConnectionTested>()
        .errors(&[ErrorCode::Conflict])
        .errors(CONNECTOR_ERRORS),
        Route::get(
            ONE,
            Access::Tenant(reads(Action::Read).on_object("datasourceID")),
            read,
        )
        .doc("getDatasource", "Datasources", "One datasource, secrets masked")
        .ok::<DatasourceView>(),
        Route::patch(
            ONE,
            Access::Tenant(writes(Action::Update).on_object("datasourceID")),
            update,
        )
        .doc(
            "updateDatasource",
            "Datasources",
            "Changes a datasource; masked fields sent back keep their saved values",
        )
        .body::<UpdateDatasource>()
        .ok::<DatasourceView>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::SecretsUnreadable]),
        Route::delete(
            ONE,
            Access::Tenant(writes(Action::Delete).on_object("datasourceID")),
            delete,
        )
        .doc(
            "deleteDatasource",
            "Datasources",
            "Deletes a datasource; refused while data queries use it, unless `force=true`",
        )
        .query::<DeleteQuery>()
        .ok::<DatasourceDeleted>()
        .errors(&[ErrorCode::DatasourceInUse]),
        Route::post(
            "/api/v1/tenants/{tenantID}/datasources/{datasourceID}/clone",
            Access::Tenant(writes(Action::Create).from_source("datasourceID")),
            clone,
        )
        .doc(
            "cloneDatasource",
            "Datasources",
            "A copy of a datasource, its secrets sealed again for the copy",
        )
        .created::<DatasourceView>()
        .errors(&[ErrorCode::SecretsUnreadable]),
        Route::post(
            "/api/v1/tenants/{tenantID}/datasources/{datasourceID}/proxy",
            Access::Tenant(reads(Action::Read).on_object("datasourceID")),
            proxy,
        )
        .doc(
            "proxyDatasource",
            "Datasources",
            "Runs an allow-listed action on a saved datasource: `testConnection`, `getSchema`, `runQuery`",
        )
        .describe(
            "`getSchema` answers the tables and columns (SQL types). `runQuery` takes \
             `params: {dataQueryOptions, inputValues}` and also needs `dataquery:test`.",
        )
        .body::<ProxyRequest>()
        .ok::<QueryResult>()
        .errors(CONNECTOR_ERRORS),
    ]
}

/// The datasource types, for the API description (the domain's `DatasourceType`; a test keeps
/// the two equal).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: values arrive as strings and are parsed by the domain
pub enum DatasourceTypeName {
    Postgresql,
    Cockroachdb,
    Supabase,
    Neon,
    Mysql,
    Mariadb,
    Sqlite,
    Restapi,
    Graphql,
    Redis,
    Rabbitmq,
    Mqtt,
    Nats,
}

/// A datasource as the API shows it: secret fields are [`MASK`].
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceView {
    #[serde(rename = "datasourceID")]
    datasource_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    datasource_title: String,
    datasource_description: Option<String>,
    #[schema(value_type = DatasourceTypeName)]
    datasource_type: &'static str,
    /// The options; secret fields show `********`.
    #[schema(value_type = Object)]
    datasource_options: Value,
    datasource_tags: Vec<String>,
    /// The last connection test: `unknown`, `ok` or `failed`.
    connection_status: &'static str,
    #[serde(rename = "creatorID")]
    creator_id: Option<Uuid>,
    #[serde(rename = "createdByApiKeyID")]
    created_by_api_key_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Datasource> for DatasourceView {
    fn from(d: Datasource) -> Self {
        let (creator_id, created_by_api_key_id) = d
            .creator
            .map(rbac::Subject::creator_columns)
            .unwrap_or_default();
        DatasourceView {
            datasource_id: d.id,
            tenant_id: d.tenant_id,
            datasource_title: d.title,
            datasource_description: d.description,
            datasource_type: d.datasource_type.as_str(),
            datasource_options: d.options,
            datasource_tags: d.tags,
            connection_status: d.connection_status.as_str(),
            creator_id,
            created_by_api_key_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// `GET …/datasources` (`datasource:list`).
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (paging, search) = query::<ListQuery>(&req)?.paging()?;
    let found = datasource::list(&state.db, member.tenant_id(), search.as_deref()).await?;
    let views: Vec<DatasourceView> = found.into_iter().map(DatasourceView::from).collect();
    Ok(paging.respond_all(views))
}

/// One type as `GET …/datasources/types` shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceTypeView {
    #[schema(value_type = DatasourceTypeName)]
    datasource_type: &'static str,
    title: &'static str,
    /// JSON Schema of `datasourceOptions`; secret fields carry `"x-secret": true`.
    #[schema(value_type = Object)]
    options_schema: Value,
    /// JSON Schema of `dataQueryOptions` for this type.
    #[schema(value_type = Object)]
    query_schema: Value,
    /// The placeholder secret fields show.
    mask: &'static str,
}

/// `GET …/datasources/types` (`datasource:list`).
pub async fn types(_member: TenantMember) -> Result<HttpResponse, ApiError> {
    let views: Vec<DatasourceTypeView> = DatasourceType::ALL
        .iter()
        .map(|t| DatasourceTypeView {
            datasource_type: t.as_str(),
            title: t.title(),
            options_schema: t.options_schema(),
            query_schema: t.query_schema(),
            mask: MASK,
        })
        .collect();
    Ok(ok(views))
}

/// `POST …/datasources` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDatasource {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    datasource_title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    datasource_description: Option<String>,
    #[schema(value_type = DatasourceTypeName)]
    datasource_type: String,
    /// The options, as `GET …/datasources/types` describes them for the type.
    #[schema(value_type = Object)]
    datasource_options: Value,
    #[serde(default)]
    #[schema(max_items = 32)]
    datasource_tags: Vec<String>,
    /// Save without testing the connection (`connectionStatus` is then `unknown`).
    #[serde(default)]
    skip_test: bool,
}

/// `POST …/datasources` (`datasource:create`): tests the connection unless `skipTest`, then
/// saves with the secrets sealed.
pub async fn create(
    request: TenantBody<CreateDatasource>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let datasource_type = DatasourceType::parse(&body.datasource_type)?;
    let opened = options::prepare(datasource_type, &body.datasource_options, None)?;
    let connection_status = if body.skip_test {
        ConnectionStatus::Unknown
    } else {
        state
            .runner
            .test_options(member.tenant_id(), &opened)
            .await?;
        ConnectionStatus::Ok
    };
    let new = NewDatasource {
        title: body.datasource_title,
        description: body.datasource_description,
        options: opened,
        tags: body.datasource_tags,
        connection_status,
    };
    let made =
        datasource::create(&state.db, &state.keys, member.permit()?, new, Utc::now()).await?;
    Ok(created(DatasourceView::from(made)))
}

/// `POST …/datasources/test` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestDatasource {
    #[schema(value_type = DatasourceTypeName)]
    datasource_type: String,
    #[schema(value_type = Object)]
    datasource_options: Value,
    /// A saved datasource whose values replace the masked fields.
    #[serde(rename = "datasourceID", default)]
    datasource_id: Option<Uuid>,
}

/// The answer to a successful connection test.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTested {
    /// Always `true`: a failed test answers an error.
    ok: bool,
}

/// `POST …/datasources/test` (`datasource:test`): connects with the options and answers whether
/// it worked; nothing is saved.
pub async fn test(
    request: TenantBody<TestDatasource>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let tenant_id = member.tenant_id();
    let datasource_type = DatasourceType::parse(&body.datasource_type)?;
    let stored = match body.datasource_id {
        None => None,
        Some(id) => {
            let (saved, opened) = datasource::open(&state.db, &state.keys, tenant_id, id)
                .await
                .map_err(named_in_body)?;
            rbac::authorize_read(tenant_id, member.subject(), &member.grants, &saved.target())?;
            Some(opened)
        }
    };
    let opened = options::prepare(datasource_type, &body.datasource_options, stored.as_ref())?;
    state.runner.test_options(tenant_id, &opened).await?;
    Ok(ok(ConnectionTested { ok: true }))
}

/// An error about a datasource named by the body's `datasourceID`: a missing one is a
/// well-formed request naming what this tenant lacks (409 naming the field), not a missing
/// route object (404).
pub fn named_in_body(error: datasources::Error) -> ApiError {
    match error {
        datasources::Error::NotFound => ApiError::new(
            ErrorCode::Conflict,
            "datasourceID: no such datasource in this tenant",
        )
        .with_detail("field", "datasourceID"),
        other => other.into(),
    }
}

/// `GET …/datasources/{datasourceID}` (`datasource:read`).
pub async fn read(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = datasource::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(DatasourceView::from(found)))
}

/// `PATCH …/datasources/{datasourceID}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateDatasource {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    datasource_title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    datasource_description: Option<Option<String>>,
    /// All the options (the type cannot change); masked fields keep their saved values.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    datasource_options: Option<Value>,
    #[serde(default)]
    #[schema(max_items = 32)]
    datasource_tags: Option<Vec<String>>,
}

/// `PATCH …/datasources/{datasourceID}` (`datasource:update`).
pub async fn update(
    request: TenantBody<UpdateDatasource>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let (tenant_id, id) = (member.tenant_id(), member.object_id()?);
    let options = match &body.datasource_options {
        None => None,
        Some(sent) => {
            Some(datasource::changed_options(&state.db, &state.keys, tenant_id, id, sent).await?)
        }
    };
    let change = DatasourceChange {
        title: body.datasource_title,
        description: body.datasource_description,
        connection_status: options.as_ref().map(|_| ConnectionStatus::Unknown),
        options,
        tags: body.datasource_tags,
    };
    let changed = datasource::update(
        &state.db,
        &state.keys,
        member.permit()?,
        id,
        change,
        Utc::now(),
    )
    .await?;
    state.runner.connectors().forget(id);
    Ok(ok(DatasourceView::from(changed)))
}

/// `DELETE …/datasources/{datasourceID}` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Delete the data queries that use it too.
    force: Option<bool>,
}

/// The answer to a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasourceDeleted {
    #[serde(rename = "datasourceID")]
    datasource_id: Uuid,
    deleted: bool,
}

/// `DELETE …/datasources/{datasourceID}` (`datasource:delete`): 409 `DATASOURCE_IN_USE` listing
/// the queries that use it, unless `force=true`.
pub async fn delete(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let force = query::<DeleteQuery>(&req)?.force.unwrap_or(false);
    let id = member.object_id()?;
    datasource::delete(&state.db, member.permit()?, id, force).await?;
    state.runner.connectors().forget(id);
    Ok(ok(DatasourceDeleted {
        datasource_id: id,
        deleted: true,
    }))
}

/// `POST …/datasources/{datasourceID}/clone` (`datasource:create`, and `read` on the source).
pub async fn clone(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let copy = datasource::clone_datasource(
        &state.db,
        &state.keys,
        member.permit()?,
        &member.grants,
        member.object_id()?,
        Utc::now(),
    )
    .await?;
    Ok(created(DatasourceView::from(copy)))
}

/// The proxy's actions.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ProxyAction {
    /// Connect with the saved options (the outcome is recorded as `connectionStatus`).
    TestConnection,
    /// The tables and columns.
    GetSchema,
    /// An unsaved query (`params: {dataQueryOptions, inputValues}`).
    RunQuery,
}

/// `POST …/datasources/{datasourceID}/proxy` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyRequest {
    action: ProxyAction,
    /// The action's parameters (`runQuery` only).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    params: Option<Value>,
}

/// `runQuery`'s parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RunQueryParams {
    data_query_options: Value,
    #[serde(default)]
    input_values: Option<Map<String, Value>>,
}

/// `POST …/datasources/{datasourceID}/proxy` (`datasource:read`; `runQuery` also
/// `dataquery:test`).
pub async fn proxy(
    request: TenantBody<ProxyRequest>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let (tenant_id, id) = (member.tenant_id(), member.object_id()?);
    let result = match body.action {
        ProxyAction::TestConnection => {
            state.runner.test_saved(&state.db, tenant_id, id).await?;
            serde_json::json!({"ok": true})
        }
        ProxyAction::GetSchema => state.runner.introspect(&state.db, tenant_id, id).await?,
        ProxyAction::RunQuery => {
            let params: RunQueryParams = serde_json::from_value(body.params.unwrap_or(Value::Null))
                .map_err(|e| {
                    ApiError::new(ErrorCode::ValidationError, format!("params: {e}"))
                        .with_detail("field", "params")
                })?;
            let test = Permission {
                resource: Resource::DataQuery,
                action: Action::Test,
            };
            let permit = rbac::authorize(tenant_id, member.subject(), &member.grants, test, None)?;
            state
                .runner
                .run_unsaved(
                    &state.db,
                    &permit,
                    &member.grants,
                    id,
                    &params.data_query_options,
                    &params.input_values.unwrap_or_default(),
                )
                .await?
                .to_json()
        }
    };
    Ok(ok(QueryResult::from(result)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn the_documented_types_are_the_domain_s() {
        let schema = serde_json::to_value(DatasourceTypeName::schema()).unwrap();
        let documented: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let domain: Vec<&str> = DatasourceType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(documented, domain);
    }
}
