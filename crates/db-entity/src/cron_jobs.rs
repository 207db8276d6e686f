//! `cron_jobs`: a tenant's scheduled jobs (their fires are in `cron_fires`).

use sea_orm::entity::prelude::*;

/// A cron job.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cron_jobs")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The folder it is filed in.
    pub folder_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The cron expression (five fields, or six with seconds first).
    pub schedule: String,
    /// The IANA zone the expression is read in.
    pub time_zone: String,
    /// `workflow` or `dataQuery`.
    pub target_kind: String,
    /// The workflow or data query.
    pub target_id: Uuid,
    /// What the target is given.
    pub input_values: Json,
    /// A disabled job does not fire (it can still be triggered by hand).
    pub is_enabled: bool,
    /// How long a fire's target may run.
    pub timeout_secs: Option<i64>,
    /// Further attempts after a failure.
    pub retries: i32,
    /// Seconds between attempts.
    pub retry_delay_secs: i32,
    /// `allow` or `skip` (while the previous fire runs).
    pub overlap: String,
    /// `skip` or `runOnce` (fire times missed by more than the grace).
    pub misfire: String,
    /// The first fire time not handled yet, µs since the epoch; `None` while disabled.
    pub next_fire_at: Option<i64>,
    /// Creator (user).
    pub creator_user_id: Option<Uuid>,
    /// Creator (API key).
    pub created_by_api_key_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
