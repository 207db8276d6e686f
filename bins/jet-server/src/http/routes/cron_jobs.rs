//! `/api/v1/tenants/{tenantID}/cronjobs`: scheduled jobs that run a workflow or a data query,
//! their history and their next fire times.
//!
//! Saving a job (create, update) needs `execute` on its target besides the `cronjob` permission:
//! its fires run the target as the job. `POST …/{id}/trigger` fires it now (`cronjob:update`),
//! enabled or not. Every change wakes the ticker of every process (change bus), so a job saved
//! for the next second fires then.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use cron_jobs::Misfire;
use cron_jobs::fires::{self, Fire};
use cron_jobs::jobs::{self, CronJob, JobSpec, Overlap, Target};
use cron_jobs::ticker;
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
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// The most fire times `…/next` lists.
const MAX_NEXT: usize = cron_jobs::schedule::MAX_UPCOMING;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/cronjobs";
    const ONE: &str = "/api/v1/tenants/{tenantID}/cronjobs/{cronJobID}";
    let reads = |action| TenantRule::reads(Resource::CronJob, action);
    let writes = |action| TenantRule::writes(Resource::CronJob, action);
    let saves = [ErrorCode::ValidationError, ErrorCode::Conflict];
    vec![
        Route::get(ALL, Access::Tenant(reads(Action::List)), list)
            .doc(
                "listCronJobs",
                "Cron jobs",
                "The tenant's cron jobs, by title",
            )
            .describe("`folderID` keeps one folder's.")
            .query::<CronJobListQuery>()
            .page::<CronJobView>(),
        Route::post(ALL, Access::Tenant(writes(Action::Create)), create)
            .doc(
                "createCronJob",
                "Cron jobs",
                "Saves a job that runs a workflow or a data query on a schedule",
            )
            .describe(
                "Needs `execute` on the target. `schedule`: five fields, or six with seconds \
                 first, read in `timeZone` (IANA, default UTC; daylight-saving changes as \
                 docs/cron.md says).",
            )
            .body::<CreateCronJob>()
            .created::<CronJobView>()
            .errors(&saves),
        Route::get(
            ONE,
            Access::Tenant(reads(Action::Read).on_object("cronJobID")),
            read,
        )
        .doc("getCronJob", "Cron jobs", "One cron job")
        .ok::<CronJobView>(),
        Route::patch(
            ONE,
            Access::Tenant(writes(Action::Update).on_object("cronJobID")),
            update,
        )
        .doc(
            "updateCronJob",
            "Cron jobs",
            "Changes a job; its next fire time is computed again",
        )
        .body::<UpdateCronJob>()
        .ok::<CronJobView>()
        .errors(&saves),
        Route::delete(
            ONE,
            Access::Tenant(writes(Action::Delete).on_object("cronJobID")),
            delete,
        )
        .doc(
            "deleteCronJob",
            "Cron jobs",
            "Deletes a job and its history",
        )
        .ok::<CronJobDeleted>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/cronjobs/{cronJobID}/enable",
            Access::Tenant(writes(Action::Update).on_object("cronJobID")),
            enable,
        )
        .doc(
            "enableCronJob",
            "Cron jobs",
            "Enables a job: it fires from its next fire time after now",
        )
        .ok::<CronJobView>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/cronjobs/{cronJobID}/disable",
            Access::Tenant(writes(Action::Update).on_object("cronJobID")),
            disable,
        )
        .doc("disableCronJob", "Cron jobs", "Disables a job")
        .ok::<CronJobView>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/cronjobs/{cronJobID}/trigger",
            Access::Tenant(writes(Action::Update).on_object("cronJobID")),
            trigger,
        )
        .doc(
            "triggerCronJob",
            "Cron jobs",
            "Fires a job now (enabled or not); the fire is in its history as `manual`",
        )
        .created::<FireView>(),
        Route::get(
            "/api/v1/tenants/{tenantID}/cronjobs/{cronJobID}/history",
            Access::Tenant(reads(Action::Read).on_object("cronJobID")),
            history,
        )
        .doc(
            "listCronJobHistory",
            "Cron jobs",
            "A job's fires, newest fire time first, with how each ended",
        )
        .query::<HistoryQuery>()
        .page::<FireView>(),
        Route::get(
            "/api/v1/tenants/{tenantID}/cronjobs/{cronJobID}/next",
            Access::Tenant(reads(Action::Read).on_object("cronJobID")),
            next,
        )
        .doc(
            "listCronJobNextFireTimes",
            "Cron jobs",
            "The job's next fire times, in UTC and in its zone",
        )
        .query::<NextQuery>()
        .ok::<NextFireTimes>(),
    ]
}

/// A cron job on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronJobView {
    #[serde(rename = "cronJobID")]
    cron_job_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    #[serde(rename = "folderID")]
    folder_id: Option<Uuid>,
    cron_job_title: String,
    cron_job_description: Option<String>,
    schedule: String,
    time_zone: String,
    /// `workflow` or `dataQuery`.
    target_type: String,
    #[serde(rename = "workflowID")]
    workflow_id: Option<Uuid>,
    #[serde(rename = "dataQueryID")]
    data_query_id: Option<Uuid>,
    #[schema(value_type = Object)]
    input_values: Value,
    enabled: bool,
    timeout_secs: Option<u32>,
    retries: u32,
    retry_delay_secs: u32,
    /// `allow` or `skip`.
    overlap: String,
    /// `skip` or `runOnce`.
    misfire: String,
    /// The next fire time (none while disabled).
    next_fire_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<CronJob> for CronJobView {
    fn from(job: CronJob) -> Self {
        let spec = job.spec;
        let (workflow_id, data_query_id) = match spec.target {
            Target::Workflow(id) => (Some(id), None),
            Target::DataQuery(id) => (None, Some(id)),
        };
        CronJobView {
            cron_job_id: job.id,
            tenant_id: job.tenant_id,
            folder_id: spec.folder_id,
            cron_job_title: spec.title,
            cron_job_description: spec.description,
            schedule: spec.schedule,
            time_zone: spec.time_zone,
            target_type: spec.target.kind().to_string(),
            workflow_id,
            data_query_id,
            input_values: spec.input_values,
            enabled: spec.enabled,
            timeout_secs: spec.timeout_secs,
            retries: spec.retries,
            retry_delay_secs: spec.retry_delay_secs,
            overlap: spec.overlap.as_str().to_string(),
            misfire: spec.misfire.as_str().to_string(),
            next_fire_at: job.next_fire_at,
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

/// `GET …/cronjobs` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CronJobListQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
    #[serde(rename = "folderID")]
    #[param(rename = "folderID")]
    folder_id: Option<Uuid>,
}

/// `GET …/cronjobs` (`cronjob:list`).
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: CronJobListQuery = query(&req)?;
    let paging = Paging::new(q.page, q.page_size)?;
    let found = jobs::list(&state.db, member.tenant_id(), q.folder_id).await?;
    let views: Vec<CronJobView> = found.into_iter().map(CronJobView::from).collect();
    Ok(paging.respond_all(views))
}

/// `POST …/cronjobs` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCronJob {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    cron_job_title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    cron_job_description: Option<String>,
    /// Five fields, or six with seconds first.
    #[schema(max_length = 200)]
    schedule: String,
    /// An IANA zone name; default `UTC`.
    #[serde(default)]
    time_zone: Option<String>,
    /// The workflow it runs (this or `dataQueryID`).
    #[serde(rename = "workflowID", default)]
    workflow_id: Option<Uuid>,
    /// The data query it runs (this or `workflowID`).
    #[serde(rename = "dataQueryID", default)]
    data_query_id: Option<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    input_values: Option<Map<String, Value>>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    timeout_secs: Option<u32>,
    #[serde(default)]
    #[schema(maximum = 10)]
    retries: Option<u32>,
    #[serde(default)]
    #[schema(maximum = 3600)]
    retry_delay_secs: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    overlap: Option<Overlap>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    misfire: Option<Misfire>,
    #[serde(rename = "folderID", default)]
    folder_id: Option<Uuid>,
}

/// The target a body names: exactly one of `workflowID` and `dataQueryID`.
fn target_of(workflow: Option<Uuid>, query: Option<Uuid>) -> Result<Option<Target>, ApiError> {
    match (workflow, query) {
        (Some(id), None) => Ok(Some(Target::Workflow(id))),
        (None, Some(id)) => Ok(Some(Target::DataQuery(id))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::ValidationError,
            "workflowID: a job runs a workflow or a data query, not both",
        )
        .with_detail("field", "workflowID")),
    }
}

/// `POST …/cronjobs` (`cronjob:create`, and `execute` on the target).
pub async fn create(
    request: TenantBody<CreateCronJob>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let target = target_of(body.workflow_id, body.data_query_id)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ValidationError,
            "workflowID: name the workflow (or dataQueryID: the data query) the job runs",
        )
        .with_detail("field", "workflowID")
    })?;
    let spec = JobSpec {
        title: body.cron_job_title,
        description: body.cron_job_description,
        folder_id: body.folder_id,
        schedule: body.schedule,
        time_zone: body.time_zone.unwrap_or_else(|| "UTC".into()),
        target,
        input_values: Value::Object(body.input_values.unwrap_or_default()),
        enabled: body.enabled.unwrap_or(true),
        timeout_secs: body.timeout_secs,
        retries: body.retries.unwrap_or(0),
        retry_delay_secs: body.retry_delay_secs.unwrap_or(0),
        overlap: body.overlap.unwrap_or_default(),
        misfire: body.misfire.unwrap_or_default(),
    };
    let made = jobs::create(
        &state.db,
        member.permit()?,
        &member.grants,
        spec,
        Utc::now(),
    )
    .await?;
    state.cron.changed().await;
    Ok(created(CronJobView::from(made)))
}

/// `GET …/cronjobs/{cronJobID}` (`cronjob:read`).
pub async fn read(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = jobs::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(CronJobView::from(found)))
}

/// `PATCH …/cronjobs/{cronJobID}` body: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCronJob {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    cron_job_title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    cron_job_description: Option<Option<String>>,
    #[serde(default)]
    #[schema(max_length = 200)]
    schedule: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(rename = "workflowID", default)]
    workflow_id: Option<Uuid>,
    #[serde(rename = "dataQueryID", default)]
    data_query_id: Option<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    input_values: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 86400)]
    timeout_secs: Option<Option<u32>>,
    #[serde(default)]
    #[schema(maximum = 10)]
    retries: Option<u32>,
    #[serde(default)]
    #[schema(maximum = 3600)]
    retry_delay_secs: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    overlap: Option<Overlap>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    misfire: Option<Misfire>,
    #[serde(rename = "folderID", default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    folder_id: Option<Option<Uuid>>,
}

/// `PATCH …/cronjobs/{cronJobID}` (`cronjob:update`, and `execute` on the target).
pub async fn update(
    request: TenantBody<UpdateCronJob>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let id = member.object_id()?;
    let current = jobs::get(&state.db, member.tenant_id(), id).await?;
    let mut spec = current.spec;
    if let Some(target) = target_of(body.workflow_id, body.data_query_id)? {
        spec.target = target;
    }
    if let Some(title) = body.cron_job_title {
        spec.title = title;
    }
    if let Some(description) = body.cron_job_description {
        spec.description = description;
    }
    if let Some(schedule) = body.schedule {
        spec.schedule = schedule;
    }
    if let Some(zone) = body.time_zone {
        spec.time_zone = zone;
    }
    if let Some(input) = body.input_values {
        spec.input_values = Value::Object(input);
    }
    if let Some(timeout) = body.timeout_secs {
        spec.timeout_secs = timeout;
    }
    if let Some(retries) = body.retries {
        spec.retries = retries;
    }
    if let Some(delay) = body.retry_delay_secs {
        spec.retry_delay_secs = delay;
    }
    if let Some(overlap) = body.overlap {
        spec.overlap = overlap;
    }
    if let Some(misfire) = body.misfire {
        spec.misfire = misfire;
    }
    if let Some(folder) = body.folder_id {
        spec.folder_id = folder;
    }
    let saved = jobs::update(
        &state.db,
        member.permit()?,
        &member.grants,
        id,
        spec,
        Utc::now(),
    )
    .await?;
    state.cron.changed().await;
    Ok(ok(CronJobView::from(saved)))
}

/// What a delete answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CronJobDeleted {
    #[serde(rename = "cronJobID")]
    cron_job_id: Uuid,
}

/// `DELETE …/cronjobs/{cronJobID}` (`cronjob:delete`).
pub async fn delete(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    jobs::delete(&state.db, member.permit()?, id).await?;
    Ok(ok(CronJobDeleted { cron_job_id: id }))
}

/// `POST …/cronjobs/{cronJobID}/enable` (`cronjob:update`).
pub async fn enable(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    toggle(member, state, true).await
}

/// `POST …/cronjobs/{cronJobID}/disable` (`cronjob:update`).
pub async fn disable(
    member: TenantMember,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    toggle(member, state, false).await
}

async fn toggle(
    member: TenantMember,
    state: Data<AppState>,
    enabled: bool,
) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    let job = jobs::set_enabled(&state.db, member.permit()?, id, enabled, Utc::now()).await?;
    state.cron.changed().await;
    Ok(ok(CronJobView::from(job)))
}

/// One fire on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FireView {
    #[serde(rename = "fireID")]
    fire_id: Uuid,
    /// The fire time it stands for (the trigger time for a manual fire).
    scheduled_for: DateTime<Utc>,
    /// `scheduled`, `makeUp` or `manual`.
    trigger: String,
    /// `claimed`, `running`, `completed`, `failed`, `skipped` or `timedOut`.
    status: String,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
    /// The run it started (workflow jobs).
    #[serde(rename = "instanceID")]
    instance_id: Option<Uuid>,
    error: Option<String>,
    /// The run's output, or the query's result summary.
    #[schema(value_type = Option<Object>)]
    result: Option<Value>,
    /// Which attempt the row shows: 1, then one more for each retry of a failure.
    attempt: u32,
    /// When a failed fire is tried again (the job has retries left).
    retry_at: Option<DateTime<Utc>>,
}

impl From<Fire> for FireView {
    fn from(fire: Fire) -> Self {
        FireView {
            fire_id: fire.id,
            duration_ms: fire.duration().map(|d| d.num_milliseconds()),
            scheduled_for: fire.scheduled_for,
            trigger: fire.trigger,
            status: fire.status.as_str().to_string(),
            started_at: fire.started_at,
            finished_at: fire.finished_at,
            instance_id: fire.instance_id,
            error: fire.error,
            result: fire.result,
            attempt: fire.attempt,
            retry_at: fire.retry_at,
        }
    }
}

/// `POST …/cronjobs/{cronJobID}/trigger` (`cronjob:update`).
pub async fn trigger(
    member: TenantMember,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let job = jobs::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    let fire = ticker::fire_now(&state.db, state.cron.launcher.as_ref(), &job, Utc::now())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "fired at this instant already"))?;
    Ok(created(FireView::from(fire)))
}

/// `GET …/history` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
}

/// `GET …/cronjobs/{cronJobID}/history` (`cronjob:read`).
pub async fn history(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: HistoryQuery = query(&req)?;
    let paging = Paging::new(q.page, q.page_size)?;
    let tenant_id = member.tenant_id();
    let job = jobs::get(&state.db, tenant_id, member.object_id()?).await?;
    let (offset, limit) = paging.offset_and_limit();
    let (page, total) = fires::history(&state.db, tenant_id, job.id, offset, limit).await?;
    Ok(paging.respond(page.into_iter().map(FireView::from).collect(), total))
}

/// `GET …/next` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NextQuery {
    /// How many (default 5).
    #[param(minimum = 1, maximum = 100)]
    count: Option<usize>,
}

/// A job's next fire times.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextFireTimes {
    time_zone: String,
    next: Vec<NextFireTime>,
}

/// One fire time, in UTC and in the job's zone.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextFireTime {
    at: DateTime<Utc>,
    /// The same instant as the job's zone reads it (RFC 3339 with its offset).
    local: String,
}

/// `GET …/cronjobs/{cronJobID}/next` (`cronjob:read`).
pub async fn next(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: NextQuery = query(&req)?;
    let count = q.count.unwrap_or(5);
    if !(1..=MAX_NEXT).contains(&count) {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            format!("count: must be 1 to {MAX_NEXT}"),
        )
        .with_detail("field", "count"));
    }
    let job = jobs::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    let schedule = job.schedule()?;
    let next = schedule
        .upcoming(Utc::now(), count)
        .into_iter()
        .map(|at| NextFireTime {
            at,
            local: schedule.local(at).to_rfc3339(),
        })
        .collect();
    Ok(ok(NextFireTimes {
        time_zone: schedule.zone().to_string(),
        next,
    }))
}
