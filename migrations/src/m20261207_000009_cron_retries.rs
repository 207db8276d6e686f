//! Retries of failed cron fires: `cron_fires.attempt` (1 for the first, +1 for each retry: a
//! retry is claimed by moving it on with a compare-and-set, so one process makes it) and
//! `cron_fires.retry_at` (µs since the epoch: when a failed fire with retries left is tried
//! again; NULL when none is due), indexed for the ticker's "what retry is due" and "when is
//! the next one" reads.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000009_cron_retries"
    }
}

#[derive(DeriveIden)]
enum CronFires {
    Table,
    Attempt,
    RetryAt,
}

const RETRY_INDEX: &str = "ix_cron_fires_retry_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CronFires::Table)
                    .add_column(integer(CronFires::Attempt).default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CronFires::Table)
                    .add_column(big_integer_null(CronFires::RetryAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(RETRY_INDEX)
                    .table(CronFires::Table)
                    .col(CronFires::RetryAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(RETRY_INDEX)
                    .table(CronFires::Table)
                    .to_owned(),
            )
            .await?;
        for column in [CronFires::RetryAt, CronFires::Attempt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CronFires::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
