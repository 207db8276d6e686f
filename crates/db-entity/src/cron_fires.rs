//! `cron_fires`: one row per fire of a cron job: its claim (unique per job and fire time) and
//! its history.

use sea_orm::entity::prelude::*;

/// A fire.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cron_fires")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The job.
    pub cron_job_id: Uuid,
    /// The fire time it stands for, µs since the epoch (the trigger time for a manual one).
    pub scheduled_for: i64,
    /// `scheduled`, `makeUp` (one fire for missed ones) or `manual`.
    pub trigger: String,
    /// `claimed`, `running`, `completed`, `failed`, `skipped` or `timedOut`.
    pub status: String,
    /// When it was claimed, µs.
    pub claimed_at: i64,
    /// When its target started, µs.
    pub started_at: Option<i64>,
    /// When its target ended, µs.
    pub finished_at: Option<i64>,
    /// The run it started (workflow targets).
    pub instance_id: Option<Uuid>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// What the target gave back (a run's output, a query's result summary).
    pub result: Option<Json>,
    /// Which attempt the row shows: 1, then one more for each retry.
    pub attempt: i32,
    /// When the failed fire is tried again, µs; NULL when no retry is due.
    pub retry_at: Option<i64>,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
