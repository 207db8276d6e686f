//! The workflow engine's durable store (`crates/workflow-store`): runs, their event logs and
//! the task queue.
//!
//! - `engine_runs`: one row per run; `version` is the sequence number of its last event and
//!   the compare-and-swap guard of every commit. `namespace` is the engine's opaque namespace
//!   (the platform puts the tenant id there).
//! - `engine_events`: the append-only log, primary key `(run_id, seq)`, so two writers can
//!   never both append sequence n.
//! - `engine_tasks`: queued work. `claimable_at` is when the task can be claimed: its due time
//!   while unleased, the end of its lease while leased, so one index serves both "due" and
//!   "lease lapsed".
//!
//! Times are microseconds since the Unix epoch in `BIGINT` columns: exact, and ordered the same
//! way on both databases (SQLite keeps timestamps as text).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000005_engine_store"
    }
}

#[derive(DeriveIden)]
enum EngineRuns {
    Table,
    Id,
    Namespace,
    Workflow,
    ParentRun,
    ParentNode,
    ParentActivation,
    Depth,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EngineEvents {
    Table,
    RunId,
    Seq,
    At,
    Body,
}

#[derive(DeriveIden)]
enum EngineTasks {
    Table,
    Id,
    RunId,
    Namespace,
    Due,
    Kind,
    LeaseOwner,
    ClaimableAt,
    Deliveries,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EngineRuns::Table)
                    .col(pk_uuid(EngineRuns::Id))
                    .col(string_len(EngineRuns::Namespace, 200))
                    .col(json_binary(EngineRuns::Workflow))
                    .col(uuid_null(EngineRuns::ParentRun))
                    .col(text_null(EngineRuns::ParentNode))
                    .col(integer_null(EngineRuns::ParentActivation))
                    .col(integer(EngineRuns::Depth))
                    .col(string_len(EngineRuns::Status, 16))
                    .col(big_integer(EngineRuns::Version))
                    .col(big_integer(EngineRuns::CreatedAt))
                    .col(big_integer(EngineRuns::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, first, second) in [
            (
                "ix_engine_runs_namespace_created",
                EngineRuns::Namespace,
                EngineRuns::CreatedAt,
            ),
            (
                "ix_engine_runs_status_updated",
                EngineRuns::Status,
                EngineRuns::UpdatedAt,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(EngineRuns::Table)
                        .col(first)
                        .col(second)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(EngineEvents::Table)
                    .col(uuid(EngineEvents::RunId))
                    .col(big_integer(EngineEvents::Seq))
                    .col(big_integer(EngineEvents::At))
                    .col(json_binary(EngineEvents::Body))
                    .primary_key(
                        Index::create()
                            .col(EngineEvents::RunId)
                            .col(EngineEvents::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EngineEvents::Table, EngineEvents::RunId)
                            .to(EngineRuns::Table, EngineRuns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EngineTasks::Table)
                    .col(text(EngineTasks::Id).primary_key())
                    .col(uuid(EngineTasks::RunId))
                    .col(string_len(EngineTasks::Namespace, 200))
                    .col(big_integer(EngineTasks::Due))
                    .col(json_binary(EngineTasks::Kind))
                    .col(text_null(EngineTasks::LeaseOwner))
                    .col(big_integer(EngineTasks::ClaimableAt))
                    .col(integer(EngineTasks::Deliveries))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EngineTasks::Table, EngineTasks::RunId)
                            .to(EngineRuns::Table, EngineRuns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_engine_tasks_claimable", EngineTasks::ClaimableAt),
            ("ix_engine_tasks_run", EngineTasks::RunId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(EngineTasks::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EngineTasks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EngineEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EngineRuns::Table).to_owned())
            .await
    }
}
