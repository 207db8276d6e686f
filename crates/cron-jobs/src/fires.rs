//! Fires: the claim of one fire time of a job, the run it starts, how it ended, and the job's
//! history.
//!
//! A fire is claimed by inserting its `cron_fires` row: the row is unique per job and fire
//! time, so of any number of processes that find the same fire due, one inserts it and the
//! others learn it was claimed. The run a workflow fire starts has an id derived from the
//! claim ([`run_id_for`]) and is started with the engine's `start_as`, which starts at most
//! one run per id: a process that dies between the claim and the start leaves a claimed row
//! that any process completes later ([`unstarted`]) without ever starting a second run.
//! Together they make each fire time start its target once.

use chrono::{DateTime, Utc};
use db_entity::{cron_fires, cron_jobs};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::Error;
use crate::jobs::CronJob;

/// What made a fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its fire time came.
    Scheduled,
    /// It stands for fire times missed during downtime (misfire policy `runOnce`).
    MakeUp,
    /// Someone asked for it (`POST …/trigger`).
    Manual,
}

impl Trigger {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::MakeUp => "makeUp",
            Trigger::Manual => "manual",
        }
    }
}

/// Where a fire is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireStatus {
    /// Claimed; its target is not started yet.
    Claimed,
    /// Its target runs.
    Running,
    /// Its target succeeded.
    Completed,
    /// Its target failed (or could not be started).
    Failed,
    /// Not started, by the overlap policy (the previous fire still ran).
    Skipped,
    /// Its target ran past the job's timeout and was cancelled.
    TimedOut,
}

impl FireStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FireStatus::Claimed => "claimed",
            FireStatus::Running => "running",
            FireStatus::Completed => "completed",
            FireStatus::Failed => "failed",
            FireStatus::Skipped => "skipped",
            FireStatus::TimedOut => "timedOut",
        }
    }

    fn parse(text: &str) -> FireStatus {
        match text {
            "claimed" => FireStatus::Claimed,
            "running" => FireStatus::Running,
            "completed" => FireStatus::Completed,
            "skipped" => FireStatus::Skipped,
            "timedOut" => FireStatus::TimedOut,
            _ => FireStatus::Failed,
        }
    }

    /// Whether the fire has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, FireStatus::Claimed | FireStatus::Running)
    }
}

/// One fire, as its history shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fire {
    /// Its id.
    pub id: Uuid,
    /// The job.
    pub cron_job_id: Uuid,
    /// The fire time it stands for.
    pub scheduled_for: DateTime<Utc>,
    /// What made it.
    pub trigger: String,
    /// Where it is.
    pub status: FireStatus,
    /// When it was claimed.
    pub claimed_at: DateTime<Utc>,
    /// When its target started.
    pub started_at: Option<DateTime<Utc>>,
    /// When its target ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The run it started.
    pub instance_id: Option<Uuid>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// What the target gave back.
    pub result: Option<Value>,
}

impl Fire {
    fn from_row(row: cron_fires::Model) -> Fire {
        Fire {
            id: row.id,
            cron_job_id: row.cron_job_id,
            scheduled_for: instant(row.scheduled_for),
            trigger: row.trigger,
            status: FireStatus::parse(&row.status),
            claimed_at: instant(row.claimed_at),
            started_at: row.started_at.map(instant),
            finished_at: row.finished_at.map(instant),
            instance_id: row.instance_id,
            error: row.error,
            result: row.result,
        }
    }

    /// How long its target ran (once it ended).
    pub fn duration(&self) -> Option<chrono::Duration> {
        Some(self.finished_at? - self.started_at?)
    }
}

fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::UNIX_EPOCH)
}

/// The id of the run a fire of `job` at `scheduled_for` starts: the same in every process, so
/// the engine's `start_as` starts it once. UUIDv7-shaped (its time is the fire time, so runs
/// sort by it); the rest is a SHA-256 of the job and the fire time.
pub fn run_id_for(job: Uuid, scheduled_for: DateTime<Utc>) -> Uuid {
    let mut input = job.as_bytes().to_vec();
    input.extend_from_slice(&scheduled_for.timestamp_micros().to_be_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest.as_ref()[..10]);
    let millis = u64::try_from(scheduled_for.timestamp_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// A fire this process claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The fire's row.
    pub fire_id: Uuid,
    /// The fire time.
    pub scheduled_for: DateTime<Utc>,
    /// The id its run gets (workflow targets).
    pub run_id: Uuid,
}

/// Claims the fire of `job` at `scheduled_for`: `Some` when this call claimed it, `None` when
/// it was claimed before (by this process or another).
pub async fn claim(
    db: &impl ConnectionTrait,
    job: &CronJob,
    scheduled_for: DateTime<Utc>,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, Error> {
    let fire_id = Uuid::now_v7();
    let inserted = cron_fires::Entity::insert(cron_fires::ActiveModel {
        id: Set(fire_id),
        tenant_id: Set(job.tenant_id),
        cron_job_id: Set(job.id),
        scheduled_for: Set(scheduled_for.timestamp_micros()),
        trigger: Set(trigger.as_str().to_string()),
        status: Set(FireStatus::Claimed.as_str().to_string()),
        claimed_at: Set(now.timestamp_micros()),
        started_at: Set(None),
        finished_at: Set(None),
        instance_id: Set(None),
        error: Set(None),
        result: Set(None),
    })
    .on_conflict(
        OnConflict::columns([
            cron_fires::Column::CronJobId,
            cron_fires::Column::ScheduledFor,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok((inserted == 1).then(|| Claimed {
        fire_id,
        scheduled_for,
        run_id: run_id_for(job.id, scheduled_for),
    }))
}

/// Moves job `job_id`'s next fire time from `from` to `to`, unless another process moved it
/// first (or the job changed): `true` when this call moved it.
pub async fn advance(
    db: &impl ConnectionTrait,
    job_id: Uuid,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Result<bool, Error> {
    let moved = cron_jobs::Entity::update_many()
        .col_expr(
            cron_jobs::Column::NextFireAt,
            Expr::value(to.map(|t| t.timestamp_micros())),
        )
        .filter(cron_jobs::Column::Id.eq(job_id))
        .filter(cron_jobs::Column::NextFireAt.eq(from.timestamp_micros()))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// Records that fire `fire_id`'s target started at `at` (as run `instance_id`, for a
/// workflow). A fire whose end was recorded first (a run that ended before its launcher
/// returned) keeps its final status.
pub async fn started(
    db: &impl ConnectionTrait,
    fire_id: Uuid,
    instance_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    // One statement: `claimed` becomes `running`, a final status stays as it is.
    let status = Expr::case(
        cron_fires::Column::Status.eq(FireStatus::Claimed.as_str()),
        FireStatus::Running.as_str(),
    )
    .finally(Expr::col(cron_fires::Column::Status));
    cron_fires::Entity::update_many()
        .col_expr(
            cron_fires::Column::StartedAt,
            Expr::value(Some(at.timestamp_micros())),
        )
        .col_expr(cron_fires::Column::InstanceId, Expr::value(instance_id))
        .col_expr(cron_fires::Column::Status, status.into())
        .filter(cron_fires::Column::Id.eq(fire_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records how fire `fire_id` ended.
pub async fn finished(
    db: &impl ConnectionTrait,
    fire_id: Uuid,
    status: FireStatus,
    error: Option<String>,
    result: Option<Value>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // The first end recorded stays (a recovered fire may be ended by two processes).
    cron_fires::Entity::update_many()
        .col_expr(cron_fires::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            cron_fires::Column::FinishedAt,
            Expr::value(Some(now.timestamp_micros())),
        )
        .col_expr(cron_fires::Column::Error, Expr::value(error))
        .col_expr(cron_fires::Column::Result, Expr::value(result))
        .filter(cron_fires::Column::Id.eq(fire_id))
        .filter(
            cron_fires::Column::Status
                .is_in([FireStatus::Claimed.as_str(), FireStatus::Running.as_str()]),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Fires `running` since before `before` (their target started then and has not been recorded
/// as ended), oldest first, at most `limit`.
pub async fn long_running(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Fire>, Error> {
    Ok(cron_fires::Entity::find()
        .filter(cron_fires::Column::Status.eq(FireStatus::Running.as_str()))
        .filter(cron_fires::Column::StartedAt.lt(before.timestamp_micros()))
        .order_by_asc(cron_fires::Column::StartedAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Fire::from_row)
        .collect())
}

/// Fires claimed before `before` whose target never started (their process died between the
/// claim and the start), oldest first, at most `limit`.
pub async fn unstarted(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Fire>, Error> {
    Ok(cron_fires::Entity::find()
        .filter(cron_fires::Column::Status.eq(FireStatus::Claimed.as_str()))
        .filter(cron_fires::Column::ClaimedAt.lt(before.timestamp_micros()))
        .order_by_asc(cron_fires::Column::ClaimedAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Fire::from_row)
        .collect())
}

/// Fire `fire_id` of tenant `tenant_id`.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, fire_id: Uuid) -> Result<Fire, Error> {
    cron_fires::Entity::find_by_id(fire_id)
        .filter(cron_fires::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .map(Fire::from_row)
        .ok_or(Error::NotFound)
}

/// A page of job `job_id`'s fires (of tenant `tenant_id`), newest fire time first, and how
/// many there are.
pub async fn history(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    job_id: Uuid,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Fire>, u64), Error> {
    let select = cron_fires::Entity::find()
        .filter(cron_fires::Column::TenantId.eq(tenant_id))
        .filter(cron_fires::Column::CronJobId.eq(job_id));
    let total = select.clone().count(db).await?;
    let fires = select
        .order_by_desc(cron_fires::Column::ScheduledFor)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Fire::from_row)
        .collect();
    Ok((fires, total))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_fire_time_gives_every_process_the_same_time_ordered_run_id() {
        let job = Uuid::now_v7();
        let at: DateTime<Utc> = "2026-05-01T10:00:00Z".parse().unwrap();
        let later: DateTime<Utc> = "2026-05-01T10:00:01Z".parse().unwrap();
        assert_eq!(run_id_for(job, at), run_id_for(job, at));
        assert_ne!(run_id_for(job, at), run_id_for(Uuid::now_v7(), at));
        assert_eq!(run_id_for(job, at).get_version_num(), 7);
        assert!(run_id_for(job, at) < run_id_for(job, later));
    }
}
