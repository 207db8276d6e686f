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
//!
//! A failed fire with retries left gets a `retry_at`; its next attempt is claimed by moving the
//! row's `attempt` on with a compare-and-set ([`claim_retry`]) and runs under an id of its own
//! ([`run_id_for_attempt`]), so each attempt, too, starts once.

use chrono::{DateTime, Utc};
use db_entity::{cron_fires, cron_jobs};
use std::collections::HashSet;

use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
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
    /// Which attempt the row shows: 1, then one more for each retry.
    pub attempt: u32,
    /// When the failed fire is tried again (it has retries left).
    pub retry_at: Option<DateTime<Utc>>,
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
            attempt: u32::try_from(row.attempt).unwrap_or(1),
            retry_at: row.retry_at.map(instant),
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
    run_id_for_attempt(job, scheduled_for, 1)
}

/// The id of the run attempt `attempt` of a fire starts ([`run_id_for`] for the first; each
/// retry its own, the same in every process).
pub fn run_id_for_attempt(job: Uuid, scheduled_for: DateTime<Utc>, attempt: u32) -> Uuid {
    let mut input = job.as_bytes().to_vec();
    input.extend_from_slice(&scheduled_for.timestamp_micros().to_be_bytes());
    // The first attempt's input is the one ids were derived from before retries existed.
    if attempt > 1 {
        input.extend_from_slice(&attempt.to_be_bytes());
    }
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
    /// Which attempt it is (1, or more for a retry).
    pub attempt: u32,
}

/// What a job says about retrying its failed fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// The wait between a failure and the next attempt.
    pub delay: chrono::Duration,
}

impl RetryPolicy {
    /// No retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        retries: 0,
        delay: chrono::Duration::zero(),
    };

    /// When a fire of attempt `attempt` that failed at `now` is tried again, if it is.
    pub fn next_attempt_at(self, attempt: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (attempt <= self.retries).then(|| now + self.delay)
    }
}

/// A fire to claim: a job's fire time.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The job.
    pub job: &'a CronJob,
    /// The fire time.
    pub scheduled_for: DateTime<Utc>,
    /// What made it.
    pub trigger: Trigger,
}

/// Fires per multi-row claim: 14 values a row, 7,000 parameters (SQLite allows 32,766,
/// PostgreSQL 65,535).
const FIRES_PER_STATEMENT: usize = 500;

/// Claims every fire of `wanted` in one statement (per 500), at `now`: answers, in order,
/// `Some` for each this call claimed and `None` for each claimed before (by this process or
/// another). Of any number of processes claiming the same fire at once, one gets `Some`.
pub async fn claim_many(
    db: &impl ConnectionTrait,
    wanted: &[Wanted<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Option<Claimed>>, Error> {
    let mut claimed = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(FIRES_PER_STATEMENT) {
        claimed.extend(claim_chunk(db, chunk, now).await?);
    }
    Ok(claimed)
}

async fn claim_chunk(
    db: &impl ConnectionTrait,
    wanted: &[Wanted<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Option<Claimed>>, Error> {
    use cron_fires::Column as C;
    let ids: Vec<Uuid> = wanted.iter().map(|_| Uuid::now_v7()).collect();
    let mut insert = Query::insert();
    insert.into_table(cron_fires::Entity).columns([
        C::Id,
        C::TenantId,
        C::CronJobId,
        C::ScheduledFor,
        C::Trigger,
        C::Status,
        C::ClaimedAt,
        C::StartedAt,
        C::FinishedAt,
        C::InstanceId,
        C::Error,
        C::Result,
        C::Attempt,
        C::RetryAt,
    ]);
    for (id, fire) in ids.iter().zip(wanted) {
        insert
            .values([
                (*id).into(),
                fire.job.tenant_id.into(),
                fire.job.id.into(),
                fire.scheduled_for.timestamp_micros().into(),
                fire.trigger.as_str().into(),
                FireStatus::Claimed.as_str().into(),
                now.timestamp_micros().into(),
                Option::<i64>::None.into(),
                Option::<i64>::None.into(),
                Option::<Uuid>::None.into(),
                Option::<String>::None.into(),
                Option::<Value>::None.into(),
                1i32.into(),
                Option::<i64>::None.into(),
            ])
            .map_err(|error| Error::Database(sea_orm::DbErr::Custom(error.to_string())))?;
    }
    insert
        .on_conflict(
            OnConflict::columns([C::CronJobId, C::ScheduledFor])
                .do_nothing()
                .to_owned(),
        )
        .returning_col(C::Id);
    let rows = db
        .query_all_raw(db.get_database_backend().build(&insert))
        .await?;
    let mut inserted = HashSet::with_capacity(rows.len());
    for row in rows {
        inserted.insert(row.try_get::<Uuid>("", "id")?);
    }
    Ok(ids
        .iter()
        .zip(wanted)
        .map(|(id, fire)| {
            inserted.contains(id).then(|| Claimed {
                fire_id: *id,
                scheduled_for: fire.scheduled_for,
                run_id: run_id_for(fire.job.id, fire.scheduled_for),
                attempt: 1,
            })
        })
        .collect())
}

/// Claims the fire of `job` at `scheduled_for` ([`claim_many`] of one).
pub async fn claim(
    db: &impl ConnectionTrait,
    job: &CronJob,
    scheduled_for: DateTime<Utc>,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, Error> {
    let wanted = Wanted {
        job,
        scheduled_for,
        trigger,
    };
    Ok(claim_many(db, &[wanted], now).await?.pop().flatten())
}

/// Moves the next fire time of each job of `job_ids` from `from` to `to`, in one statement,
/// except for jobs another process moved first (or that changed): answers how many it moved.
pub async fn advance_many(
    db: &impl ConnectionTrait,
    job_ids: &[Uuid],
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Result<u64, Error> {
    let moved = cron_jobs::Entity::update_many()
        .col_expr(
            cron_jobs::Column::NextFireAt,
            Expr::value(to.map(|t| t.timestamp_micros())),
        )
        .filter(cron_jobs::Column::Id.is_in(job_ids.iter().copied()))
        .filter(cron_jobs::Column::NextFireAt.eq(from.timestamp_micros()))
        .exec(db)
        .await?;
    Ok(moved.rows_affected)
}

/// Records that the targets of fires `started` (each a fire and the run it started, if any)
/// started at `at`, in one statement (per 500). A fire whose end was recorded first (a run
/// that ended before its launcher answered) keeps its final status, and its start is its end
/// if that came before `at`.
pub async fn started_many(
    db: &impl ConnectionTrait,
    started: &[(Uuid, Option<Uuid>)],
    at: DateTime<Utc>,
) -> Result<(), Error> {
    use cron_fires::Column as C;
    for chunk in started.chunks(FIRES_PER_STATEMENT) {
        let Some(((first_fire, first_run), rest)) = chunk.split_first() else {
            continue;
        };
        // `claimed` becomes `running`, a final status stays as it is.
        let status = Expr::case(
            C::Status.eq(FireStatus::Claimed.as_str()),
            FireStatus::Running.as_str(),
        )
        .finally(Expr::col(C::Status));
        let mut instance = Expr::case(C::Id.eq(*first_fire), Expr::value(*first_run));
        for (fire, run) in rest {
            instance = instance.case(C::Id.eq(*fire), Expr::value(*run));
        }
        let at = at.timestamp_micros();
        let start = Expr::case(C::FinishedAt.lt(at), Expr::col(C::FinishedAt)).finally(at);
        cron_fires::Entity::update_many()
            .col_expr(C::StartedAt, start.into())
            .col_expr(
                C::InstanceId,
                instance.finally(Expr::col(C::InstanceId)).into(),
            )
            .col_expr(C::Status, status.into())
            .filter(C::Id.is_in(chunk.iter().map(|(fire, _)| *fire)))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Records how fire `fire_id` ended at `now`. A failure with retries left under `retry` (the
/// job's policy) gets the time of its next attempt ([`retries_due`] finds it then).
pub async fn finished(
    db: &impl ConnectionTrait,
    fire_id: Uuid,
    status: FireStatus,
    error: Option<String>,
    result: Option<Value>,
    now: DateTime<Utc>,
    retry: RetryPolicy,
) -> Result<(), Error> {
    use cron_fires::Column as C;
    // Only a failure is retried: a timeout is the ceiling the job set (retrying would spend it
    // again), a skip is the job's own policy.
    let retry_at: SimpleExpr = match (status, retry.retries) {
        (FireStatus::Failed, retries) if retries > 0 => Expr::case(
            C::Attempt.lte(i64::from(retries)),
            (now + retry.delay).timestamp_micros(),
        )
        .finally(Expr::value(Option::<i64>::None))
        .into(),
        _ => Expr::value(Option::<i64>::None),
    };
    // The first end recorded stays (a recovered fire may be ended by two processes).
    cron_fires::Entity::update_many()
        .col_expr(C::Status, Expr::value(status.as_str()))
        .col_expr(C::FinishedAt, Expr::value(Some(now.timestamp_micros())))
        .col_expr(C::Error, Expr::value(error))
        .col_expr(C::Result, Expr::value(result))
        .col_expr(C::RetryAt, retry_at)
        .filter(C::Id.eq(fire_id))
        .filter(C::Status.is_in([FireStatus::Claimed.as_str(), FireStatus::Running.as_str()]))
        .exec(db)
        .await?;
    Ok(())
}

/// Failed fires whose next attempt is due by `now`, the most overdue first, at most `limit`.
pub async fn retries_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Fire>, Error> {
    oldest_first(
        db,
        FireStatus::Failed,
        cron_fires::Column::RetryAt,
        now,
        limit,
    )
    .await
}

/// The earliest time a retry is due, if one is.
pub async fn next_retry(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, Error> {
    let first = cron_fires::Entity::find()
        .filter(cron_fires::Column::RetryAt.is_not_null())
        .order_by_asc(cron_fires::Column::RetryAt)
        .one(db)
        .await?;
    Ok(first.and_then(|row| row.retry_at).map(instant))
}

/// Claims the next attempt of failed fire `fire` (of `job`) at `now`: `Some` when this call
/// claimed it, `None` when another process did first (or the retry was dropped). The row then
/// shows the new attempt, `claimed`; the run it starts has an id of its own
/// ([`run_id_for_attempt`]).
pub async fn claim_retry(
    db: &impl ConnectionTrait,
    fire: &Fire,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, Error> {
    use cron_fires::Column as C;
    let attempt = fire.attempt.saturating_add(1);
    let moved = cron_fires::Entity::update_many()
        .col_expr(C::Attempt, Expr::value(i64::from(attempt)))
        .col_expr(C::RetryAt, Expr::value(Option::<i64>::None))
        .col_expr(C::Status, Expr::value(FireStatus::Claimed.as_str()))
        .col_expr(C::ClaimedAt, Expr::value(now.timestamp_micros()))
        .col_expr(C::StartedAt, Expr::value(Option::<i64>::None))
        .col_expr(C::FinishedAt, Expr::value(Option::<i64>::None))
        .col_expr(C::InstanceId, Expr::value(Option::<Uuid>::None))
        .col_expr(C::Error, Expr::value(Option::<String>::None))
        .col_expr(C::Result, Expr::value(Option::<Value>::None))
        .filter(C::Id.eq(fire.id))
        .filter(C::Attempt.eq(i64::from(fire.attempt)))
        .filter(C::RetryAt.is_not_null())
        .exec(db)
        .await?;
    Ok((moved.rows_affected == 1).then(|| Claimed {
        fire_id: fire.id,
        scheduled_for: fire.scheduled_for,
        run_id: run_id_for_attempt(fire.cron_job_id, fire.scheduled_for, attempt),
        attempt,
    }))
}

/// Drops the retry due for fire `fire_id` (its job was disabled): it stays failed.
pub async fn drop_retry(db: &impl ConnectionTrait, fire_id: Uuid) -> Result<(), Error> {
    cron_fires::Entity::update_many()
        .col_expr(
            cron_fires::Column::RetryAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(cron_fires::Column::Id.eq(fire_id))
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
    let until = before - chrono::Duration::microseconds(1);
    oldest_first(
        db,
        FireStatus::Running,
        cron_fires::Column::StartedAt,
        until,
        limit,
    )
    .await
}

/// Fires claimed before `before` whose target never started (their process died between the
/// claim and the start), oldest first, at most `limit`.
pub async fn unstarted(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Fire>, Error> {
    let until = before - chrono::Duration::microseconds(1);
    oldest_first(
        db,
        FireStatus::Claimed,
        cron_fires::Column::ClaimedAt,
        until,
        limit,
    )
    .await
}

/// Fires in `status` whose `time` is at most `until`, the oldest `time` first, at most
/// `limit`: what the recovery, settling and retry passes work through.
async fn oldest_first(
    db: &impl ConnectionTrait,
    status: FireStatus,
    time: cron_fires::Column,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Fire>, Error> {
    Ok(cron_fires::Entity::find()
        .filter(cron_fires::Column::Status.eq(status.as_str()))
        .filter(time.lte(until.timestamp_micros()))
        .order_by_asc(time)
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
