//! The ticker: fires what is due, in every process at once, each fire time once.
//!
//! A pass ([`Ticker::tick`]) reads the enabled jobs whose next fire time has come, works out
//! what each owes ([`crate::due`](mod@crate::due)), claims all their fires in one statement
//! ([`fires::claim_many`]: of the processes inserting a fire, one gets it and launches it),
//! moves the jobs' next fire times on with a compare-and-set ([`fires::advance_many`], one
//! statement per distinct move), and hands what it claimed to the launcher in one call (one
//! transaction for hundreds of workflow runs due on the same second). Every step is safe to
//! repeat, so any number of processes run the same passes: a claim lost to another process is
//! skipped, a move already made is left alone, and a process that dies mid-pass leaves nothing
//! another pass does not finish: its unmoved next fire time is handled again (the claims
//! already made are found and skipped), its claimed but unlaunched fires are launched by
//! [`Ticker::recover`] (the run id is derived from the claim, so a launch that did happen is
//! not repeated), and fires left `running` by a process that stopped following them get their
//! end from [`Ticker::settle`]. A pass also launches the failed fires whose retry is due
//! ([`Ticker::retry`]: each attempt claimed by a compare-and-set on the fire's attempt).
//!
//! Between passes the ticker sleeps until the earliest next fire time of all jobs or retry, or
//! until it is woken (a job was saved, enabled or disabled: the server relays the change bus).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use db_entity::{cron_fires, cron_jobs};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::due::{Due, due};
use crate::fires::{self, Claimed, FireStatus, RetryPolicy, Trigger};
use crate::jobs::{CronJob, Overlap};
use crate::{Error, jobs};

/// One claimed fire to launch.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// The job.
    pub job: &'a CronJob,
    /// Its claim.
    pub claimed: &'a Claimed,
}

/// Starts fires' targets. The server implements it: it owns the engine and the query runner.
#[async_trait]
pub trait Launcher: Send + Sync {
    /// Starts the target of each fire of `fires` (claimed together: usually one pass's) and
    /// answers, in order, the run each started (workflows: started with `claimed.run_id`, and
    /// a run that already has that id counts as started), `None` for a target that is not a
    /// run, or why it could not start. The launcher records how each fire ends
    /// ([`fires::finished`]) when it ends; an `Err` is recorded as the fire's failure. A fire
    /// left without an answer stays claimed and [`Ticker::recover`] launches it again later.
    async fn launch(&self, fires: &[Launch<'_>]) -> Vec<Result<Option<Uuid>, String>>;

    /// How `fire`'s target ended, if it did, or `None` while it goes on (or when the launcher
    /// cannot tell). Asked of fires `running` for longer than [`TickerConfig::stale_claim`]:
    /// the process that followed the run may have stopped, and the run finished elsewhere.
    async fn ended(&self, job: &CronJob, fire: &fires::Fire) -> Option<Ended> {
        let _ = (job, fire);
        None
    }
}

/// How a fire's target ended (see [`Launcher::ended`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    /// `completed`, `failed` or `timedOut`.
    pub status: FireStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// What it gave back.
    pub result: Option<serde_json::Value>,
}

/// A move of jobs' next fire time: from the fire time they owed, to the next one (`None`: the
/// schedule has no more).
type Move = (DateTime<Utc>, Option<DateTime<Utc>>);

/// What the ticker needs to know.
#[derive(Debug, Clone)]
pub struct TickerConfig {
    /// A fire time older than this when its pass comes is missed (misfire policy).
    pub grace: chrono::Duration,
    /// Fires one job may owe in one pass (the oldest first; the rest in the next pass).
    pub max_fires_per_job: usize,
    /// Jobs one pass reads.
    pub batch: u64,
    /// Fires handed to the launcher in one call (a pass with more calls it again).
    pub launch_batch: usize,
    /// The longest sleep between passes (a floor against a lost wake-up).
    pub idle: Duration,
    /// A claim this old and still unlaunched is launched by [`Ticker::recover`].
    pub stale_claim: chrono::Duration,
}

impl Default for TickerConfig {
    fn default() -> Self {
        TickerConfig {
            grace: chrono::Duration::seconds(60),
            max_fires_per_job: 100,
            batch: 1_000,
            launch_batch: 500,
            idle: Duration::from_secs(60),
            stale_claim: chrono::Duration::seconds(30),
        }
    }
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Fires this process claimed and launched (or recorded as failed to launch).
    pub launched: usize,
    /// Fires this process claimed and recorded as skipped (overlap policy).
    pub skipped: usize,
    /// Fires found claimed by another process (or an earlier pass).
    pub lost: usize,
    /// Failed fires this process tried again (their retry was due).
    pub retried: usize,
}

/// One process's ticker.
pub struct Ticker {
    db: DatabaseConnection,
    launcher: Arc<dyn Launcher>,
    config: TickerConfig,
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Ticker {
    /// A ticker over `db`'s jobs that starts targets through `launcher`.
    pub fn new(db: DatabaseConnection, launcher: Arc<dyn Launcher>, config: TickerConfig) -> Self {
        Ticker {
            db,
            launcher,
            config,
        }
    }

    /// Runs passes until `stop`: at each job's fire time, when `wake` is notified, and at
    /// least every [`TickerConfig::idle`]; claims left unlaunched are looked for at most every
    /// third of [`TickerConfig::stale_claim`] (not on every pass: a job firing each second
    /// would pay a query a second for it).
    pub async fn run(self, wake: Arc<Notify>, stop: CancellationToken) {
        let mut recovered_at: Option<DateTime<Utc>> = None;
        loop {
            let now = Utc::now();
            if recovered_at.is_none_or(|at| now - at >= self.config.stale_claim / 3) {
                recovered_at = Some(now);
                if let Err(error) = self.recover(now).await {
                    tracing::warn!(%error, "cron: could not recover unlaunched fires");
                }
                if let Err(error) = self.settle(now).await {
                    tracing::warn!(%error, "cron: could not settle long-running fires");
                }
            }
            let sleep = match self.tick(now).await {
                Ok(_) => match self.earliest().await {
                    Ok(Some(next)) => (next - Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .min(self.config.idle),
                    Ok(None) => self.config.idle,
                    Err(error) => {
                        tracing::warn!(%error, "cron: could not read the next fire time");
                        Duration::from_secs(1)
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "cron: a pass failed");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// One pass at `now`: every due job's fires claimed, its next fire time moved, and what
    /// this process claimed launched.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Pass, Error> {
        let jobs = self.due_jobs(now).await?;
        let wanted: Vec<fires::Wanted<'_>> = jobs
            .iter()
            .flat_map(|(job, owed)| {
                owed.fires.iter().map(move |fire| fires::Wanted {
                    job,
                    scheduled_for: fire.scheduled_for,
                    trigger: if fire.makes_up {
                        Trigger::MakeUp
                    } else {
                        Trigger::Scheduled
                    },
                })
            })
            .collect();
        // Claimed before the moves: a process dying between the two leaves fire times that
        // the next pass finds claimed, never fire times moved past without a claim.
        let claiming = Utc::now();
        let claims = fires::claim_many(&self.db, &wanted, claiming).await?;
        let moving = Utc::now();
        self.advance(&jobs).await;
        let mut pass = Pass::default();
        let mut to_launch = Vec::with_capacity(claims.len());
        for (fire, claim) in wanted.iter().zip(&claims) {
            let Some(claimed) = claim else {
                pass.lost += 1;
                continue;
            };
            let fire = Launch {
                job: fire.job,
                claimed,
            };
            if self.skips(fire, now).await? {
                pass.skipped += 1;
            } else {
                to_launch.push(fire);
            }
        }
        let launching = Utc::now();
        for batch in to_launch.chunks(self.config.launch_batch.max(1)) {
            launch(&self.db, self.launcher.as_ref(), batch, now).await?;
            pass.launched += batch.len();
        }
        pass.retried = self.retry(now).await?;
        tracing::debug!(
            read_ms = (claiming - now).num_milliseconds(),
            claim_ms = (moving - claiming).num_milliseconds(),
            move_ms = (launching - moving).num_milliseconds(),
            launch_ms = (Utc::now() - launching).num_milliseconds(),
            launched = pass.launched,
            retried = pass.retried,
            skipped = pass.skipped,
            lost = pass.lost,
            "cron: a pass"
        );
        Ok(pass)
    }

    /// The enabled jobs whose next fire time has come by `now`, each with what it owes. A job
    /// that cannot be read or whose schedule is unusable is left out (and logged): one job's
    /// failure does not stop the others.
    async fn due_jobs(&self, now: DateTime<Utc>) -> Result<Vec<(CronJob, Due)>, Error> {
        let rows = cron_jobs::Entity::find()
            .filter(cron_jobs::Column::IsEnabled.eq(true))
            .filter(cron_jobs::Column::NextFireAt.lte(now.timestamp_micros()))
            .order_by_asc(cron_jobs::Column::NextFireAt)
            .limit(self.config.batch)
            .all(&self.db)
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in rows {
            let job = match CronJob::from_row(row) {
                Ok(job) => job,
                Err(error) => {
                    tracing::warn!(%error, "cron: a job could not be read");
                    continue;
                }
            };
            let Some(pending) = job.next_fire_at else {
                continue;
            };
            let schedule = match job.schedule() {
                Ok(schedule) => schedule,
                Err(error) => {
                    tracing::warn!(job = %job.id, %error, "cron: a job's schedule is unusable");
                    continue;
                }
            };
            let owed = due(
                &schedule,
                pending,
                now,
                self.config.grace,
                job.spec.misfire,
                self.config.max_fires_per_job,
            );
            jobs.push((job, owed));
        }
        Ok(jobs)
    }

    /// Moves every job's next fire time past what it owed, unless another process did: jobs
    /// moving from the same fire time to the same next one move in one statement (all the
    /// jobs on one schedule do). A failed move is logged; the fires claimed are launched all
    /// the same, and the next pass finds them claimed and moves the jobs on.
    async fn advance(&self, jobs: &[(CronJob, Due)]) {
        let mut moves: BTreeMap<Move, Vec<Uuid>> = BTreeMap::new();
        for (job, owed) in jobs {
            if let Some(pending) = job.next_fire_at {
                moves.entry((pending, owed.next)).or_default().push(job.id);
            }
        }
        for ((from, to), job_ids) in &moves {
            if let Err(error) = fires::advance_many(&self.db, job_ids, *from, *to).await {
                tracing::warn!(%error, "cron: could not move jobs' next fire times");
            }
        }
    }

    /// Records `fire` as skipped when its job does not overlap and an earlier fire still
    /// runs: `true` when skipped.
    async fn skips(&self, fire: Launch<'_>, now: DateTime<Utc>) -> Result<bool, Error> {
        if fire.job.spec.overlap != Overlap::Skip
            || !self.earlier_fire_runs(fire.job, fire.claimed).await?
        {
            return Ok(false);
        }
        fires::finished(
            &self.db,
            fire.claimed.fire_id,
            FireStatus::Skipped,
            Some("the previous fire was still running (overlap: skip)".into()),
            None,
            now,
            RetryPolicy::NONE,
        )
        .await?;
        Ok(true)
    }

    async fn earlier_fire_runs(&self, job: &CronJob, claimed: &Claimed) -> Result<bool, Error> {
        let open = cron_fires::Entity::find()
            .filter(cron_fires::Column::CronJobId.eq(job.id))
            .filter(cron_fires::Column::ScheduledFor.lt(claimed.scheduled_for.timestamp_micros()))
            .filter(
                cron_fires::Column::Status
                    .is_in([FireStatus::Claimed.as_str(), FireStatus::Running.as_str()]),
            )
            .one(&self.db)
            .await?;
        Ok(open.is_some())
    }

    /// Tries again the failed fires whose retry is due by `now` (the job's `retries` and
    /// `retryDelaySecs`): each retry is claimed by a compare-and-set on the fire's attempt, so
    /// one process makes it, and launched like a fire, with a run id of its own. A disabled
    /// job's retries are dropped. Answers how many this process launched.
    pub async fn retry(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let limit = u64::try_from(self.config.launch_batch).unwrap_or(u64::MAX);
        let due = fires::retries_due(&self.db, now, limit).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut claimed = Vec::with_capacity(due.len());
        for fire in due {
            let Some(job) = jobs::find_any(&self.db, fire.cron_job_id).await? else {
                continue;
            };
            if !job.spec.enabled {
                fires::drop_retry(&self.db, fire.id).await?;
                continue;
            }
            if let Some(claim) = fires::claim_retry(&self.db, &fire, Utc::now()).await? {
                claimed.push((job, claim));
            }
        }
        let launches: Vec<Launch<'_>> = claimed
            .iter()
            .map(|(job, claimed)| Launch { job, claimed })
            .collect();
        if !launches.is_empty() {
            launch(&self.db, self.launcher.as_ref(), &launches, now).await?;
        }
        Ok(launches.len())
    }

    /// Launches fires claimed more than [`TickerConfig::stale_claim`] before `now` and never
    /// launched (their process died between the claim and the launch).
    pub async fn recover(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let stale = fires::unstarted(&self.db, now - self.config.stale_claim, 100).await?;
        let mut launched = 0;
        for fire in stale {
            let job = match jobs::find_any(&self.db, fire.cron_job_id).await? {
                Some(job) => job,
                None => continue,
            };
            let claimed = Claimed {
                fire_id: fire.id,
                scheduled_for: fire.scheduled_for,
                run_id: fires::run_id_for_attempt(job.id, fire.scheduled_for, fire.attempt),
                attempt: fire.attempt,
            };
            launch(
                &self.db,
                self.launcher.as_ref(),
                &[Launch {
                    job: &job,
                    claimed: &claimed,
                }],
                now,
            )
            .await?;
            launched += 1;
        }
        Ok(launched)
    }

    /// Records the end of fires `running` since before `now - stale_claim` whose target has
    /// ended (the launcher says so): a process that stopped (a deploy, `kill -9`) leaves its
    /// fires `running` while their runs finish on another process. Answers how many it settled.
    /// A fire whose follower is alive and records the end too keeps the first end recorded.
    pub async fn settle(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let running = fires::long_running(&self.db, now - self.config.stale_claim, 100).await?;
        let mut settled = 0;
        for fire in running {
            let Some(job) = jobs::find_any(&self.db, fire.cron_job_id).await? else {
                continue;
            };
            if let Some(ended) = self.launcher.ended(&job, &fire).await {
                fires::finished(
                    &self.db,
                    fire.id,
                    ended.status,
                    ended.error,
                    ended.result,
                    now,
                    job.retry_policy(),
                )
                .await?;
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// The earliest next fire time of every enabled job, or retry due.
    async fn earliest(&self) -> Result<Option<DateTime<Utc>>, Error> {
        let first = cron_jobs::Entity::find()
            .filter(cron_jobs::Column::IsEnabled.eq(true))
            .filter(cron_jobs::Column::NextFireAt.is_not_null())
            .order_by_asc(cron_jobs::Column::NextFireAt)
            .one(&self.db)
            .await?;
        let fire = first
            .and_then(|row| row.next_fire_at)
            .and_then(DateTime::from_timestamp_micros);
        let retry = fires::next_retry(&self.db).await?;
        Ok(match (fire, retry) {
            (Some(fire), Some(retry)) => Some(fire.min(retry)),
            (fire, retry) => fire.or(retry),
        })
    }
}

/// Launches claimed fires through `launcher` and records their starts (one statement), or
/// each one's failure to start.
async fn launch(
    db: &DatabaseConnection,
    launcher: &dyn Launcher,
    fires: &[Launch<'_>],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let outcomes = launcher.launch(fires).await;
    // The targets started (their runs are stored) by the time the launcher answers.
    let started_at = Utc::now();
    let mut started = Vec::with_capacity(fires.len());
    for (fire, outcome) in fires.iter().zip(outcomes) {
        match outcome {
            Ok(run) => started.push((fire.claimed.fire_id, run)),
            Err(error) => {
                fires::finished(
                    db,
                    fire.claimed.fire_id,
                    FireStatus::Failed,
                    Some(error),
                    None,
                    now,
                    fire.job.retry_policy(),
                )
                .await?
            }
        }
    }
    fires::started_many(db, &started, started_at).await
}

/// Fires `job` by hand at `now` (enabled or not): claims a `manual` fire, launches it like a
/// scheduled one, and answers the fire as recorded; `None` when a fire of this job was claimed
/// for this very instant already.
pub async fn fire_now(
    db: &DatabaseConnection,
    launcher: &dyn Launcher,
    job: &CronJob,
    now: DateTime<Utc>,
) -> Result<Option<fires::Fire>, Error> {
    let Some(claimed) = fires::claim(db, job, now, Trigger::Manual, now).await? else {
        return Ok(None);
    };
    launch(
        db,
        launcher,
        &[Launch {
            job,
            claimed: &claimed,
        }],
        now,
    )
    .await?;
    fires::get(db, job.tenant_id, claimed.fire_id)
        .await
        .map(Some)
}
