//! Cron job definitions: list, read, create, update, enable or disable, delete.
//!
//! A job names its target (a workflow or a data query of its tenant) and what to give it. Its
//! fires run the target as the job (delegated execution), so what a job may run is decided
//! when it is saved: the saver must be allowed to execute the target, and a target of another
//! tenant is not found, like a missing one. Each save computes `next_fire_at`, the first fire
//! time after the save (none while the job is disabled), which is what the ticker reads.

use chrono::{DateTime, Utc};
use db_entity::{cron_jobs, folders};
use rbac::tenant_lock::lock_writable_tenant;
use rbac::{Action, Grants, Permit, Resource, Subject};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::due::Misfire;
use crate::{Error, Schedule};

/// The folder entity type cron jobs are filed under.
pub const FOLDER_ENTITY_TYPE: &str = "cronJob";
/// The longest a fire's target may be given to run.
pub const MAX_TIMEOUT_SECS: u32 = 24 * 60 * 60;
/// The most further attempts after a failure.
pub const MAX_RETRIES: u32 = 10;
/// The longest wait between attempts.
pub const MAX_RETRY_DELAY_SECS: u32 = 60 * 60;

/// What a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A run of this workflow.
    Workflow(Uuid),
    /// This data query.
    DataQuery(Uuid),
}

impl Target {
    /// `workflow` or `dataQuery`.
    pub fn kind(self) -> &'static str {
        match self {
            Target::Workflow(_) => "workflow",
            Target::DataQuery(_) => "dataQuery",
        }
    }

    /// The workflow's or data query's id.
    pub fn id(self) -> Uuid {
        match self {
            Target::Workflow(id) | Target::DataQuery(id) => id,
        }
    }

    fn from_columns(kind: &str, id: Uuid) -> Option<Target> {
        match kind {
            "workflow" => Some(Target::Workflow(id)),
            "dataQuery" => Some(Target::DataQuery(id)),
            _ => None,
        }
    }
}

/// What to do when a fire time comes while the previous fire's target still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Overlap {
    /// Fire anyway: runs may overlap (the default).
    #[default]
    Allow,
    /// Record the fire as skipped.
    Skip,
}

impl Overlap {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Allow => "allow",
            Overlap::Skip => "skip",
        }
    }

    fn parse(text: &str) -> Overlap {
        if text == "skip" {
            Overlap::Skip
        } else {
            Overlap::Allow
        }
    }
}

impl Misfire {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Misfire::Skip => "skip",
            Misfire::RunOnce => "runOnce",
        }
    }

    fn parse(text: &str) -> Misfire {
        if text == "runOnce" {
            Misfire::RunOnce
        } else {
            Misfire::Skip
        }
    }
}

/// Everything a job is made of (what create and update store).
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The folder it is filed in.
    pub folder_id: Option<Uuid>,
    /// The cron expression.
    pub schedule: String,
    /// The IANA zone it is read in.
    pub time_zone: String,
    /// What it runs.
    pub target: Target,
    /// What the target is given (an object).
    pub input_values: Value,
    /// Whether it fires on its schedule.
    pub enabled: bool,
    /// How long a fire's target may run.
    pub timeout_secs: Option<u32>,
    /// Further attempts after a failure.
    pub retries: u32,
    /// Seconds between attempts.
    pub retry_delay_secs: u32,
    /// See [`Overlap`].
    pub overlap: Overlap,
    /// See [`Misfire`].
    pub misfire: Misfire,
}

/// A saved job.
#[derive(Debug, Clone, PartialEq)]
pub struct CronJob {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// What it is made of.
    pub spec: JobSpec,
    /// The first fire time not handled yet (`None` while disabled).
    pub next_fire_at: Option<DateTime<Utc>>,
    /// Who created it.
    pub creator: Option<Subject>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl CronJob {
    /// Reads a stored row (the ticker reads rows of every tenant).
    pub(crate) fn from_row(row: cron_jobs::Model) -> Result<CronJob, Error> {
        let target = Target::from_columns(&row.target_kind, row.target_id).ok_or_else(|| {
            Error::Corrupt(format!(
                "cron job {} has target kind {}",
                row.id, row.target_kind
            ))
        })?;
        Ok(CronJob {
            id: row.id,
            tenant_id: row.tenant_id,
            spec: JobSpec {
                title: row.title,
                description: row.description,
                folder_id: row.folder_id,
                schedule: row.schedule,
                time_zone: row.time_zone,
                target,
                input_values: row.input_values,
                enabled: row.is_enabled,
                timeout_secs: row.timeout_secs.and_then(|s| u32::try_from(s).ok()),
                retries: u32::try_from(row.retries).unwrap_or_default(),
                retry_delay_secs: u32::try_from(row.retry_delay_secs).unwrap_or_default(),
                overlap: Overlap::parse(&row.overlap),
                misfire: Misfire::parse(&row.misfire),
            },
            next_fire_at: row.next_fire_at.and_then(DateTime::from_timestamp_micros),
            creator: Subject::from_creator_columns(row.creator_user_id, row.created_by_api_key_id),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The job as a policy target (creator rights).
    pub fn policy_target(&self) -> rbac::Target {
        rbac::Target {
            resource: Resource::CronJob,
            id: self.id,
            creator: self.creator,
        }
    }

    /// Its schedule, parsed.
    pub fn schedule(&self) -> Result<Schedule, Error> {
        Schedule::parse(&self.spec.schedule, &self.spec.time_zone)
    }

    /// How its failed fires are retried.
    pub fn retry_policy(&self) -> crate::fires::RetryPolicy {
        crate::fires::RetryPolicy {
            retries: self.spec.retries,
            delay: chrono::Duration::seconds(i64::from(self.spec.retry_delay_secs)),
        }
    }
}

/// Job `id` of whichever tenant (the ticker's recovery, which starts from a fire).
pub(crate) async fn find_any(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<CronJob>, Error> {
    cron_jobs::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(CronJob::from_row)
        .transpose()
}

/// The tenant's jobs by title; `folder` keeps one folder's.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    folder: Option<Uuid>,
) -> Result<Vec<CronJob>, Error> {
    let mut select = cron_jobs::Entity::find().filter(cron_jobs::Column::TenantId.eq(tenant_id));
    if let Some(folder) = folder {
        select = select.filter(cron_jobs::Column::FolderId.eq(folder));
    }
    select
        .order_by_asc(cron_jobs::Column::Title)
        .order_by_asc(cron_jobs::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(CronJob::from_row)
        .collect()
}

/// One job of the tenant.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<CronJob, Error> {
    cron_jobs::Entity::find_by_id(id)
        .filter(cron_jobs::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound)
        .and_then(CronJob::from_row)
}

/// Creates a job (`cronjob:create`, and `execute` on its target).
pub async fn create(
    db: &DatabaseConnection,
    permit: &Permit,
    grants: &Grants,
    spec: JobSpec,
    now: DateTime<Utc>,
) -> Result<CronJob, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::CronJob, Action::Create)?;
    let (spec, schedule) = checked(db, tenant_id, permit.subject(), grants, spec).await?;
    let id = Uuid::now_v7();
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    check_folder(&txn, tenant_id, spec.folder_id).await?;
    let (creator_user_id, created_by_api_key_id) = permit.subject().creator_columns();
    let mut row = columns(&spec, &schedule, now);
    row.id = Set(id);
    row.tenant_id = Set(tenant_id);
    row.creator_user_id = Set(creator_user_id);
    row.created_by_api_key_id = Set(created_by_api_key_id);
    row.created_at = Set(now);
    cron_jobs::Entity::insert(row)
        .exec_without_returning(&txn)
        .await?;
    let job = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(job)
}

/// Replaces job `id`'s spec (`cronjob:update` on it, and `execute` on its target). The next
/// fire time is computed again from `now`.
pub async fn update(
    db: &DatabaseConnection,
    permit: &Permit,
    grants: &Grants,
    id: Uuid,
    spec: JobSpec,
    now: DateTime<Utc>,
) -> Result<CronJob, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::CronJob, Action::Update, id)?;
    get(db, tenant_id, id).await?;
    let (spec, schedule) = checked(db, tenant_id, permit.subject(), grants, spec).await?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    get(&txn, tenant_id, id).await?;
    check_folder(&txn, tenant_id, spec.folder_id).await?;
    let mut row = columns(&spec, &schedule, now);
    row.id = Set(id);
    cron_jobs::Entity::update(row).exec(&txn).await?;
    let job = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(job)
}

/// Enables or disables job `id` (`cronjob:update` on it). Enabling computes the next fire time
/// from `now`: fire times that passed while the job was disabled are not owed.
pub async fn set_enabled(
    db: &DatabaseConnection,
    permit: &Permit,
    id: Uuid,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<CronJob, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::CronJob, Action::Update, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let job = get(&txn, tenant_id, id).await?;
    let next_fire_at = if enabled {
        job.schedule()?
            .next_after(now)
            .map(|t| t.timestamp_micros())
    } else {
        None
    };
    cron_jobs::Entity::update(cron_jobs::ActiveModel {
        id: Set(id),
        is_enabled: Set(enabled),
        next_fire_at: Set(next_fire_at),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let job = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(job)
}

/// Deletes job `id` and its history (`cronjob:delete` on it).
pub async fn delete(db: &DatabaseConnection, permit: &Permit, id: Uuid) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::CronJob, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    get(&txn, tenant_id, id).await?;
    cron_jobs::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// The columns a save writes (everything but identity and creation).
fn columns(spec: &JobSpec, schedule: &Schedule, now: DateTime<Utc>) -> cron_jobs::ActiveModel {
    let next_fire_at = if spec.enabled {
        schedule.next_after(now).map(|t| t.timestamp_micros())
    } else {
        None
    };
    cron_jobs::ActiveModel {
        folder_id: Set(spec.folder_id),
        title: Set(spec.title.clone()),
        description: Set(spec.description.clone()),
        schedule: Set(schedule.expression().to_string()),
        time_zone: Set(schedule.zone().to_string()),
        target_kind: Set(spec.target.kind().to_string()),
        target_id: Set(spec.target.id()),
        input_values: Set(spec.input_values.clone()),
        is_enabled: Set(spec.enabled),
        timeout_secs: Set(spec.timeout_secs.map(i64::from)),
        retries: Set(i32::try_from(spec.retries).unwrap_or(i32::MAX)),
        retry_delay_secs: Set(i32::try_from(spec.retry_delay_secs).unwrap_or(i32::MAX)),
        overlap: Set(spec.overlap.as_str().to_string()),
        misfire: Set(spec.misfire.as_str().to_string()),
        next_fire_at: Set(next_fire_at),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Checks every field of `spec` and its target (in the tenant, executable by `subject`).
async fn checked(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    subject: Subject,
    grants: &Grants,
    mut spec: JobSpec,
) -> Result<(JobSpec, Schedule), Error> {
    spec.title = db_entity::title::valid_title("cronJobTitle", &spec.title)?;
    if spec
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2_000)
    {
        return Err(Error::invalid(
            "cronJobDescription",
            "must be at most 2000 characters",
        ));
    }
    let schedule = match Schedule::parse(&spec.schedule, &spec.time_zone) {
        Ok(schedule) => schedule,
        Err(Error::UnknownTimeZone(zone)) => {
            return Err(Error::invalid(
                "timeZone",
                &format!("`{zone}` is not an IANA time zone (such as Europe/Berlin, or UTC)"),
            ));
        }
        Err(Error::InvalidSchedule(why)) => return Err(Error::invalid("schedule", &why)),
        Err(other) => return Err(other),
    };
    if !spec.input_values.is_object() {
        return Err(Error::invalid("inputValues", "must be an object"));
    }
    if let Some(timeout) = spec.timeout_secs
        && !(1..=MAX_TIMEOUT_SECS).contains(&timeout)
    {
        return Err(Error::invalid(
            "timeoutSecs",
            &format!("must be between 1 and {MAX_TIMEOUT_SECS}"),
        ));
    }
    if spec.retries > MAX_RETRIES {
        return Err(Error::invalid(
            "retries",
            &format!("must be at most {MAX_RETRIES}"),
        ));
    }
    if spec.retry_delay_secs > MAX_RETRY_DELAY_SECS {
        return Err(Error::invalid(
            "retryDelaySecs",
            &format!("must be at most {MAX_RETRY_DELAY_SECS}"),
        ));
    }
    let target = match spec.target {
        Target::Workflow(id) => match workflows::definitions::summary(db, tenant_id, id).await {
            Ok((workflow, _)) => workflow.target(),
            Err(workflows::Error::NotFound) => {
                return Err(unknown_target(
                    "workflowID",
                    "no such workflow in this tenant",
                ));
            }
            Err(workflows::Error::Database(error)) => return Err(error.into()),
            Err(other) => return Err(Error::Target(other.to_string())),
        },
        Target::DataQuery(id) => match datasources::query::get(db, tenant_id, id).await {
            Ok(query) => query.target(),
            Err(datasources::Error::NotFound) => {
                return Err(unknown_target(
                    "dataQueryID",
                    "no such data query in this tenant",
                ));
            }
            Err(datasources::Error::Database(error)) => return Err(error.into()),
            Err(other) => return Err(Error::Target(other.to_string())),
        },
    };
    rbac::authorize_execution(tenant_id, subject, grants, &target, None)?;
    Ok((spec, schedule))
}

fn unknown_target(field: &str, message: &str) -> Error {
    Error::UnknownReference {
        field: field.into(),
        message: message.into(),
    }
}

async fn check_folder(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    folder: Option<Uuid>,
) -> Result<(), Error> {
    let Some(folder) = folder else {
        return Ok(());
    };
    match folders::files(db, tenant_id, folder, FOLDER_ENTITY_TYPE).await? {
        true => Ok(()),
        false => Err(unknown_target(
            "folderID",
            "no cron job folder with this id in this tenant",
        )),
    }
}
