//! The ticker: fires what is due, in every process at once, each fire time once.
//!
//! A pass ([`Ticker::tick`]) reads the enabled jobs whose next fire time has come, works out
//! what each owes ([`crate::due`]), claims each fire ([`fires::claim`]: the one process whose
//! insert wins launches it), then moves the job's next fire time on with a compare-and-set
//! ([`fires::advance`]). Every step is safe to repeat, so any number of processes run the same
//! passes: a claim lost to another process is skipped, a move already made is left alone, and
//! a process that dies mid-pass leaves nothing another pass does not finish: its unmoved
//! next fire time is handled again (the claims already made are found and skipped), its
//! claimed but unlaunched fires are launched by [`Ticker::recover`] (the run id is derived from
//! the claim, so a launch that did happen is not repeated), and fires left `running` by a
//! process that stopped following them get their end from [`Ticker::settle`].
//!
//! Between passes the ticker sleeps until the earliest next fire time of all jobs, or until it
//! is woken (a job was saved, enabled or disabled: the server relays the change bus).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use db_entity::{cron_fires, cron_jobs};
use futures_util::StreamExt;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::due::due;
use crate::fires::{self, Claimed, FireStatus, Trigger};
use crate::jobs::{CronJob, Overlap};
use crate::{Error, jobs};

/// Starts a fire's target. The server implements it: it owns the engine and the query runner.
#[async_trait]
pub trait Launcher: Send + Sync {
    /// Starts `job`'s target for the claimed fire and answers the run it started (workflows:
    /// started with `claimed.run_id`, and a run that already has that id counts as started),
    /// or `None` for a target that is not a run. The launcher records how the fire ends
    /// ([`fires::finished`]) when it ends; an `Err` is recorded as the fire's failure.
    async fn launch(&self, job: &CronJob, claimed: &Claimed) -> Result<Option<Uuid>, String>;

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

/// What the ticker needs to know.
#[derive(Debug, Clone)]
pub struct TickerConfig {
    /// A fire time older than this when its pass comes is missed (misfire policy).
    pub grace: chrono::Duration,
    /// Fires one job may owe in one pass (the oldest first; the rest in the next pass).
    pub max_fires_per_job: usize,
    /// Jobs one pass reads.
    pub batch: u64,
    /// Jobs launched at once.
    pub concurrency: usize,
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
            concurrency: 32,
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

    /// One pass at `now`: every due job's fires claimed, launched and its next fire time moved.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Pass, Error> {
        let due_jobs = cron_jobs::Entity::find()
            .filter(cron_jobs::Column::IsEnabled.eq(true))
            .filter(cron_jobs::Column::NextFireAt.lte(now.timestamp_micros()))
            .order_by_asc(cron_jobs::Column::NextFireAt)
            .limit(self.config.batch)
            .all(&self.db)
            .await?;
        let passes: Vec<Result<Pass, Error>> = futures_util::stream::iter(due_jobs)
            .map(|row| async move {
                let job = CronJob::from_row(row)?;
                self.fire_job(&job, now).await
            })
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        let mut total = Pass::default();
        for pass in passes {
            match pass {
                Ok(pass) => {
                    total.launched += pass.launched;
                    total.skipped += pass.skipped;
                    total.lost += pass.lost;
                }
                // One job's failure does not stop the others; its fire time stays and the
                // next pass tries again.
                Err(error) => tracing::warn!(%error, "cron: a job's fires failed"),
            }
        }
        Ok(total)
    }

    async fn fire_job(&self, job: &CronJob, now: DateTime<Utc>) -> Result<Pass, Error> {
        let Some(pending) = job.next_fire_at else {
            return Ok(Pass::default());
        };
        let schedule = job.schedule()?;
        let owed = due(
            &schedule,
            pending,
            now,
            self.config.grace,
            job.spec.misfire,
            self.config.max_fires_per_job,
        );
        let mut pass = Pass::default();
        for fire in &owed.fires {
            let trigger = if fire.makes_up {
                Trigger::MakeUp
            } else {
                Trigger::Scheduled
            };
            match fires::claim(&self.db, job, fire.scheduled_for, trigger, now).await? {
                None => pass.lost += 1,
                Some(claimed) => {
                    if self.launch_or_skip(job, &claimed, now).await? {
                        pass.launched += 1;
                    } else {
                        pass.skipped += 1;
                    }
                }
            }
        }
        fires::advance(&self.db, job.id, pending, owed.next).await?;
        Ok(pass)
    }

    /// Launches a claimed fire, or records it as skipped when the job does not overlap and an
    /// earlier fire still runs: `false` when skipped.
    async fn launch_or_skip(
        &self,
        job: &CronJob,
        claimed: &Claimed,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        if job.spec.overlap == Overlap::Skip && self.earlier_fire_runs(job, claimed).await? {
            fires::finished(
                &self.db,
                claimed.fire_id,
                FireStatus::Skipped,
                Some("the previous fire was still running (overlap: skip)".into()),
                None,
                now,
            )
            .await?;
            return Ok(false);
        }
        self.launch(job, claimed).await?;
        Ok(true)
    }

    async fn launch(&self, job: &CronJob, claimed: &Claimed) -> Result<(), Error> {
        launch(&self.db, self.launcher.as_ref(), job, claimed).await
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
                run_id: fires::run_id_for(job.id, fire.scheduled_for),
            };
            self.launch(&job, &claimed).await?;
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
                )
                .await?;
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// The earliest next fire time of every enabled job.
    async fn earliest(&self) -> Result<Option<DateTime<Utc>>, Error> {
        let first = cron_jobs::Entity::find()
            .filter(cron_jobs::Column::IsEnabled.eq(true))
            .filter(cron_jobs::Column::NextFireAt.is_not_null())
            .order_by_asc(cron_jobs::Column::NextFireAt)
            .one(&self.db)
            .await?;
        Ok(first
            .and_then(|row| row.next_fire_at)
            .and_then(DateTime::from_timestamp_micros))
    }
}

/// Launches a claimed fire through `launcher` and records its start, or its failure to start.
async fn launch(
    db: &DatabaseConnection,
    launcher: &dyn Launcher,
    job: &CronJob,
    claimed: &Claimed,
) -> Result<(), Error> {
    // Taken before the launch: a target that ends before the launcher returns has its end
    // recorded first, and its start must not come after it.
    let began = Utc::now();
    match launcher.launch(job, claimed).await {
        Ok(run) => fires::started(db, claimed.fire_id, run, began).await,
        Err(error) => {
            fires::finished(
                db,
                claimed.fire_id,
                FireStatus::Failed,
                Some(error),
                None,
                Utc::now(),
            )
            .await
        }
    }
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
    launch(db, launcher, job, &claimed).await?;
    fires::get(db, job.tenant_id, claimed.fire_id)
        .await
        .map(Some)
}
