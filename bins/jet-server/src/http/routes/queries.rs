//! `/api/v1/tenants/{tenantID}/queries`: saved data queries against the tenant's datasources,
//! and running them.
//!
//! Running a saved query (`POST …/{id}/run`) needs `dataquery:execute` on it, not rights on its
//! datasource; testing one (`POST …/{id}/test`) needs `dataquery:test` on it and runs it even
//! when disabled; `POST …/test` runs options that are not saved against a saved datasource
//! (`dataquery:test` and `datasource:read` on it). Input values are coerced by the query's input
//! definitions, and every `{{inputs.x}}` in SQL is a bound parameter.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use datasources::query::{self, DataQuery, DataQueryChange, NewDataQuery};
use datasources::run::Caller;
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::nullable;
use crate::http::pagination::Paging;
use crate::http::route::Route;
use crate::http::routes::datasources::{CONNECTOR_ERRORS, DatasourceTypeName, named_in_body};
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/queries";
    const ONE: &str = "/api/v1/tenants/{tenantID}/queries/{dataQueryID}";
    let reads = |action| TenantRule::reads(Resource::DataQuery, action);
    let writes = |action| TenantRule::writes(Resource::DataQuery, action);
    vec![
        Route::get(ALL, Access::Tenant(reads(Action::List)), list)
            .doc(
                "listDataQueries",
                "Data queries",
                "The tenant's data queries, by title",
            )
            .describe("`search` looks in titles and descriptions; `folderID` keeps one folder's.")
            .query::<QueryListQuery>()
            .page::<DataQueryView>(),
        Route::post(ALL, Access::Tenant(writes(Action::Create)), create)
            .doc(
                "createDataQuery",
                "Data queries",
                "Saves a query against a datasource (needs `datasource:read` on it)",
            )
            .body::<CreateDataQuery>()
            .created::<DataQueryView>()
            .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::post(
            "/api/v1/tenants/{tenantID}/queries/test",
            Access::Tenant(reads(Action::Test)),
            test_unsaved,
        )
        .doc(
            "testUnsavedDataQuery",
            "Data queries",
            "Runs query options that are not saved against a saved datasource",
        )
        .describe("Needs `dataquery:test` and `datasource:read` on the datasource.")
        .body::<TestUnsaved>()
        .ok::<QueryResult>()
        .errors(&[ErrorCode::Conflict])
        .errors(CONNECTOR_ERRORS),
        Route::get(
            ONE,
            Access::Tenant(reads(Action::Read).on_object("dataQueryID")),
            read,
        )
        .doc("getDataQuery", "Data queries", "One data query")
        .ok::<DataQueryView>(),
        Route::patch(
            ONE,
            Access::Tenant(writes(Action::Update).on_object("dataQueryID")),
            update,
        )
        .doc(
            "updateDataQuery",
            "Data queries",
            "Changes a query; new options are checked against its datasource's type",
        )
        .body::<UpdateDataQuery>()
        .ok::<DataQueryView>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::delete(
            ONE,
            Access::Tenant(writes(Action::Delete).on_object("dataQueryID")),
            delete,
        )
        .doc("deleteDataQuery", "Data queries", "Deletes a query")
        .ok::<DataQueryDeleted>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/queries/{dataQueryID}/clone",
            Access::Tenant(writes(Action::Create).from_source("dataQueryID")),
            clone,
        )
        .doc(
            "cloneDataQuery",
            "Data queries",
            "A copy of a query, against the same datasource",
        )
        .created::<DataQueryView>(),
        Route::get(
            "/api/v1/tenants/{tenantID}/queries/{dataQueryID}/export",
            Access::Tenant(reads(Action::Export).on_object("dataQueryID")),
            export,
        )
        .doc(
            "exportDataQuery",
            "Data queries",
            "The query as a bundle to import elsewhere: its options and its datasource's type and title, never a secret",
        )
        .ok::<DataQueryExport>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/queries/{dataQueryID}/run",
            Access::Tenant(reads(Action::Execute).on_object("dataQueryID")),
            run,
        )
        .doc(
            "runDataQuery",
            "Data queries",
            "Runs a saved query with input values",
        )
        .describe(
            "SQL answers `{rows, columns[{name, type}], rowCount, truncated, durationMs}`; \
             other types their documented document. Nothing is cached: every run reaches the \
             datasource.",
        )
        .body::<RunBody>()
        .ok::<QueryResult>()
        .errors(CONNECTOR_ERRORS),
        Route::post(
            "/api/v1/tenants/{tenantID}/queries/{dataQueryID}/test",
            Access::Tenant(reads(Action::Test).on_object("dataQueryID")),
            test_saved,
        )
        .doc(
            "testDataQuery",
            "Data queries",
            "Runs a saved query with input values, even when it is disabled",
        )
        .body::<RunBody>()
        .ok::<QueryResult>()
        .errors(CONNECTOR_ERRORS),
    ]
}

/// A data query as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataQueryView {
    #[serde(rename = "dataQueryID")]
    data_query_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    #[serde(rename = "datasourceID")]
    datasource_id: Uuid,
    #[serde(rename = "folderID")]
    folder_id: Option<Uuid>,
    data_query_title: String,
    data_query_description: Option<String>,
    /// The options, as the datasource type's query schema describes them.
    #[schema(value_type = Object)]
    data_query_options: Value,
    run_on_load: bool,
    is_disabled: bool,
    #[serde(rename = "creatorID")]
    creator_id: Option<Uuid>,
    #[serde(rename = "createdByApiKeyID")]
    created_by_api_key_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<DataQuery> for DataQueryView {
    fn from(q: DataQuery) -> Self {
        let (creator_id, created_by_api_key_id) = q
            .creator
            .map(rbac::Subject::creator_columns)
            .unwrap_or_default();
        DataQueryView {
            data_query_id: q.id,
            tenant_id: q.tenant_id,
            datasource_id: q.datasource_id,
            folder_id: q.folder_id,
            data_query_title: q.title,
            data_query_description: q.description,
            data_query_options: q.options,
            run_on_load: q.run_on_load,
            is_disabled: q.is_disabled,
            creator_id,
            created_by_api_key_id,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// `GET …/queries` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueryListQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
    /// Only queries whose title or description contains this, ignoring case.
    search: Option<String>,
    /// Only the queries filed in this folder.
    #[serde(rename = "folderID")]
    #[param(rename = "folderID")]
    folder_id: Option<Uuid>,
}

/// `GET …/queries` (`dataquery:list`).
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: QueryListQuery = query(&req)?;
    let paging = Paging::new(q.page, q.page_size)?;
    let search = q
        .search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let found = query::list(
        &state.db,
        member.tenant_id(),
        search.as_deref(),
        q.folder_id.map(Some),
    )
    .await?;
    let views: Vec<DataQueryView> = found.into_iter().map(DataQueryView::from).collect();
    Ok(paging.respond_all(views))
}

/// `POST …/queries` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDataQuery {
    #[serde(rename = "datasourceID")]
    datasource_id: Uuid,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    data_query_title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    data_query_description: Option<String>,
    /// The options, as `GET …/datasources/types` describes them for the datasource's type.
    #[schema(value_type = Object)]
    data_query_options: Value,
    #[serde(default)]
    run_on_load: bool,
    #[serde(rename = "folderID", default)]
    folder_id: Option<Uuid>,
}

/// `POST …/queries` (`dataquery:create`, and `datasource:read` on its datasource).
pub async fn create(
    request: TenantBody<CreateDataQuery>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let new = NewDataQuery {
        datasource_id: body.datasource_id,
        title: body.data_query_title,
        description: body.data_query_description,
        options: body.data_query_options,
        run_on_load: body.run_on_load,
        folder_id: body.folder_id,
    };
    let made = query::create(&state.db, member.permit()?, &member.grants, new, Utc::now()).await?;
    Ok(created(DataQueryView::from(made)))
}

/// `GET …/queries/{dataQueryID}` (`dataquery:read`).
pub async fn read(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = query::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(DataQueryView::from(found)))
}

/// `PATCH …/queries/{dataQueryID}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateDataQuery {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    data_query_title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    data_query_description: Option<Option<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    data_query_options: Option<Value>,
    #[serde(default)]
    run_on_load: Option<bool>,
    #[serde(default)]
    is_disabled: Option<bool>,
    #[serde(rename = "folderID", default, deserialize_with = "nullable")]
    folder_id: Option<Option<Uuid>>,
}

/// `PATCH …/queries/{dataQueryID}` (`dataquery:update`).
pub async fn update(
    request: TenantBody<UpdateDataQuery>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let change = DataQueryChange {
        title: body.data_query_title,
        description: body.data_query_description,
        options: body.data_query_options,
        run_on_load: body.run_on_load,
        is_disabled: body.is_disabled,
        folder_id: body.folder_id,
    };
    let changed = query::update(
        &state.db,
        member.permit()?,
        member.object_id()?,
        change,
        Utc::now(),
    )
    .await?;
    Ok(ok(DataQueryView::from(changed)))
}

/// The answer to a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataQueryDeleted {
    #[serde(rename = "dataQueryID")]
    data_query_id: Uuid,
    deleted: bool,
}

/// `DELETE …/queries/{dataQueryID}` (`dataquery:delete`).
pub async fn delete(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    query::delete(&state.db, member.permit()?, id).await?;
    Ok(ok(DataQueryDeleted {
        data_query_id: id,
        deleted: true,
    }))
}

/// `POST …/queries/{dataQueryID}/clone` (`dataquery:create`, and `read` on the source).
pub async fn clone(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let copy = query::clone_query(
        &state.db,
        member.permit()?,
        &member.grants,
        member.object_id()?,
        Utc::now(),
    )
    .await?;
    Ok(created(DataQueryView::from(copy)))
}

/// The export bundle: enough to recreate the query against a datasource of the same type.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataQueryExport {
    /// `1`.
    format_version: u32,
    data_query_title: String,
    data_query_description: Option<String>,
    #[schema(value_type = Object)]
    data_query_options: Value,
    run_on_load: bool,
    /// The datasource it ran against: its type and title only.
    datasource: ExportedDatasource,
}

/// The datasource part of an export.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedDatasource {
    #[schema(value_type = DatasourceTypeName)]
    datasource_type: &'static str,
    datasource_title: String,
}

/// `GET …/queries/{dataQueryID}/export` (`dataquery:export`).
pub async fn export(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tenant_id = member.tenant_id();
    let found = query::get(&state.db, tenant_id, member.object_id()?).await?;
    let source = datasources::datasource::get(&state.db, tenant_id, found.datasource_id).await?;
    Ok(ok(DataQueryExport {
        format_version: 1,
        data_query_title: found.title,
        data_query_description: found.description,
        data_query_options: found.options,
        run_on_load: found.run_on_load,
        datasource: ExportedDatasource {
            datasource_type: source.datasource_type.as_str(),
            datasource_title: source.title,
        },
    }))
}

/// A run's body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunBody {
    /// Values for the query's input definitions, by key.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    input_values: Option<Map<String, Value>>,
}

/// A run's result: for SQL `{rows, columns, rowCount, truncated, durationMs}`, for other types
/// their documented document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct QueryResult(Value);

impl From<Value> for QueryResult {
    fn from(value: Value) -> Self {
        QueryResult(value)
    }
}

/// `POST …/queries/{dataQueryID}/run` (`dataquery:execute` on the query, or the run of a
/// workflow, page, listener or cron job that uses it).
pub async fn run(
    request: TenantBody<RunBody>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let caller = Caller {
        subject: member.subject(),
        grants: &member.grants,
        origin: None,
    };
    let output = state
        .runner
        .run_saved(
            &state.db,
            member.tenant_id(),
            caller,
            member.object_id()?,
            &body.input_values.unwrap_or_default(),
        )
        .await?;
    Ok(ok(QueryResult(output.to_json())))
}

/// `POST …/queries/{dataQueryID}/test` (`dataquery:test` on the query).
pub async fn test_saved(
    request: TenantBody<RunBody>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let output = state
        .runner
        .test_saved_query(
            &state.db,
            member.permit()?,
            member.object_id()?,
            &body.input_values.unwrap_or_default(),
        )
        .await?;
    Ok(ok(QueryResult(output.to_json())))
}

/// `POST …/queries/test` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestUnsaved {
    #[serde(rename = "datasourceID")]
    datasource_id: Uuid,
    #[schema(value_type = Object)]
    data_query_options: Value,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    input_values: Option<Map<String, Value>>,
}

/// `POST …/queries/test` (`dataquery:test`, and `datasource:read` on the datasource).
pub async fn test_unsaved(
    request: TenantBody<TestUnsaved>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let output = state
        .runner
        .run_unsaved(
            &state.db,
            member.permit()?,
            &member.grants,
            body.datasource_id,
            &body.data_query_options,
            &body.input_values.unwrap_or_default(),
        )
        .await
        .map_err(named_in_body)?;
    Ok(ok(QueryResult(output.to_json())))
}
