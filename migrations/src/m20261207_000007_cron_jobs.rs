//! Cron jobs (`crates/cron-jobs`) and the history of their fires.
//!
//! - `cron_jobs`: one row per job: its schedule (`schedule`, read in `time_zone`, an IANA
//!   name), its target (`target_kind` `workflow` or `dataQuery`, `target_id`, `input_values`),
//!   its policies (`overlap`: `allow` | `skip`; `misfire`: `skip` | `runOnce`; `timeout_secs`,
//!   `retries`, `retry_delay_secs`) and `next_fire_at`, the first fire time not handled yet
//!   (NULL while disabled or when the schedule has no more): the ticker's index, advanced with
//!   a compare-and-set on its old value so two processes never both advance it.
//! - `cron_fires`: the claim and the history in one row. A fire is claimed by inserting its
//!   row; the unique `(cron_job_id, scheduled_for)` makes a second claim of the same fire time
//!   fail, whichever process tries. The row then records how the fire went: `status`, the run
//!   it started (`instance_id`), its `error` or `result`, and its times.
//!
//! Fire times are microseconds since the Unix epoch in `BIGINT` columns: exact, so the claim's
//! key compares alike on both databases (SQLite keeps timestamps as text).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000007_cron_jobs"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Folders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CronJobs {
    Table,
    Id,
    TenantId,
    FolderId,
    Title,
    Description,
    Schedule,
    TimeZone,
    TargetKind,
    TargetId,
    InputValues,
    IsEnabled,
    TimeoutSecs,
    Retries,
    RetryDelaySecs,
    Overlap,
    Misfire,
    NextFireAt,
    CreatorUserId,
    CreatedByApiKeyId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CronFires {
    Table,
    Id,
    TenantId,
    CronJobId,
    ScheduledFor,
    Trigger,
    Status,
    ClaimedAt,
    StartedAt,
    FinishedAt,
    InstanceId,
    Error,
    Result,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CronJobs::Table)
                    .col(pk_uuid(CronJobs::Id))
                    .col(uuid(CronJobs::TenantId))
                    .col(uuid_null(CronJobs::FolderId))
                    .col(string_len(CronJobs::Title, 200))
                    .col(text_null(CronJobs::Description))
                    .col(string_len(CronJobs::Schedule, 200))
                    .col(string_len(CronJobs::TimeZone, 64))
                    .col(string_len(CronJobs::TargetKind, 16))
                    .col(uuid(CronJobs::TargetId))
                    .col(json_binary(CronJobs::InputValues))
                    .col(boolean(CronJobs::IsEnabled))
                    .col(big_integer_null(CronJobs::TimeoutSecs))
                    .col(integer(CronJobs::Retries))
                    .col(integer(CronJobs::RetryDelaySecs))
                    .col(string_len(CronJobs::Overlap, 16))
                    .col(string_len(CronJobs::Misfire, 16))
                    .col(big_integer_null(CronJobs::NextFireAt))
                    .col(uuid_null(CronJobs::CreatorUserId))
                    .col(uuid_null(CronJobs::CreatedByApiKeyId))
                    .col(timestamp_with_time_zone(CronJobs::CreatedAt))
                    .col(timestamp_with_time_zone(CronJobs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CronJobs::Table, CronJobs::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CronJobs::Table, CronJobs::FolderId)
                            .to(Folders::Table, Folders::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_cron_jobs_tenant_title", CronJobs::Title),
            ("ix_cron_jobs_tenant_folder", CronJobs::FolderId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(CronJobs::Table)
                        .col(CronJobs::TenantId)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        // The ticker's question, across every tenant: which job fires first?
        manager
            .create_index(
                Index::create()
                    .name("ix_cron_jobs_next_fire_at")
                    .table(CronJobs::Table)
                    .col(CronJobs::NextFireAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CronFires::Table)
                    .col(pk_uuid(CronFires::Id))
                    .col(uuid(CronFires::TenantId))
                    .col(uuid(CronFires::CronJobId))
                    .col(big_integer(CronFires::ScheduledFor))
                    .col(string_len(CronFires::Trigger, 16))
                    .col(string_len(CronFires::Status, 16))
                    .col(big_integer(CronFires::ClaimedAt))
                    .col(big_integer_null(CronFires::StartedAt))
                    .col(big_integer_null(CronFires::FinishedAt))
                    .col(uuid_null(CronFires::InstanceId))
                    .col(text_null(CronFires::Error))
                    .col(json_binary_null(CronFires::Result))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CronFires::Table, CronFires::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CronFires::Table, CronFires::CronJobId)
                            .to(CronJobs::Table, CronJobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The claim: one row per fire time of a job. It also pages a job's history.
        manager
            .create_index(
                Index::create()
                    .name("ux_cron_fires_job_scheduled_for")
                    .table(CronFires::Table)
                    .col(CronFires::CronJobId)
                    .col(CronFires::ScheduledFor)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Fires not finished yet (claimed, running), found after a crash.
        manager
            .create_index(
                Index::create()
                    .name("ix_cron_fires_status_claimed_at")
                    .table(CronFires::Table)
                    .col(CronFires::Status)
                    .col(CronFires::ClaimedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CronFires::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CronJobs::Table).to_owned())
            .await
    }
}
