//! Workflow definitions (`crates/workflows`) and what the platform needs to find runs by them.
//!
//! - `workflows`: one row per workflow; `version` counts the saves of its graph (each save
//!   replaces every node and edge in one transaction and bumps it); `deleted_at` marks a soft
//!   delete: the row stays so runs in flight, their sub-workflow lookups' refusal and the
//!   instance list keep a name to show, while every route treats it as gone.
//! - `workflow_nodes`, `workflow_edges`: the graph, in the order the client sent it
//!   (`position`). A node keeps its engine config (`config`), its engine settings (timeout,
//!   retry, error handling, join mode: `settings`) and what only the editor reads (`ui`:
//!   position on the canvas, size, …) apart, so the engine's definition never carries UI data.
//! - `engine_runs.workflow_id` / `workflow_version`: copied by the engine store from the run's
//!   definition when the run is created, in the same transaction, so instances are listed by
//!   workflow (index `(namespace, workflow_id, created_at)`; the fifth migration's
//!   `(namespace, created_at)` serves the unfiltered list) and the version a run executes is
//!   known without reading its definition.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000006_workflows"
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
enum Workflows {
    Table,
    Id,
    TenantId,
    FolderId,
    Title,
    Description,
    Options,
    IsDisabled,
    Version,
    CreatorUserId,
    CreatedByApiKeyId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum WorkflowNodes {
    Table,
    WorkflowId,
    NodeId,
    Position,
    NodeType,
    Config,
    Settings,
    Ui,
}

#[derive(DeriveIden)]
enum WorkflowEdges {
    Table,
    WorkflowId,
    Position,
    EdgeId,
    Source,
    Target,
    SourceHandle,
    TargetHandle,
    Ui,
}

#[derive(DeriveIden)]
enum EngineRuns {
    Table,
    Namespace,
    WorkflowId,
    WorkflowVersion,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Workflows::Table)
                    .col(pk_uuid(Workflows::Id))
                    .col(uuid(Workflows::TenantId))
                    .col(uuid_null(Workflows::FolderId))
                    .col(string_len(Workflows::Title, 200))
                    .col(text_null(Workflows::Description))
                    .col(json_binary(Workflows::Options))
                    .col(boolean(Workflows::IsDisabled))
                    .col(big_integer(Workflows::Version))
                    .col(uuid_null(Workflows::CreatorUserId))
                    .col(uuid_null(Workflows::CreatedByApiKeyId))
                    .col(timestamp_with_time_zone(Workflows::CreatedAt))
                    .col(timestamp_with_time_zone(Workflows::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Workflows::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Workflows::Table, Workflows::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Workflows::Table, Workflows::FolderId)
                            .to(Folders::Table, Folders::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_workflows_tenant_title", Workflows::Title),
            ("ix_workflows_tenant_folder", Workflows::FolderId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Workflows::Table)
                        .col(Workflows::TenantId)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(WorkflowNodes::Table)
                    .col(uuid(WorkflowNodes::WorkflowId))
                    .col(string_len(WorkflowNodes::NodeId, 200))
                    .col(integer(WorkflowNodes::Position))
                    .col(string_len(WorkflowNodes::NodeType, 64))
                    .col(json_binary(WorkflowNodes::Config))
                    .col(json_binary(WorkflowNodes::Settings))
                    .col(json_binary(WorkflowNodes::Ui))
                    .primary_key(
                        Index::create()
                            .col(WorkflowNodes::WorkflowId)
                            .col(WorkflowNodes::NodeId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WorkflowNodes::Table, WorkflowNodes::WorkflowId)
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WorkflowEdges::Table)
                    .col(uuid(WorkflowEdges::WorkflowId))
                    .col(integer(WorkflowEdges::Position))
                    .col(string_len_null(WorkflowEdges::EdgeId, 200))
                    .col(string_len(WorkflowEdges::Source, 200))
                    .col(string_len(WorkflowEdges::Target, 200))
                    .col(string_len_null(WorkflowEdges::SourceHandle, 200))
                    .col(string_len_null(WorkflowEdges::TargetHandle, 200))
                    .col(json_binary(WorkflowEdges::Ui))
                    .primary_key(
                        Index::create()
                            .col(WorkflowEdges::WorkflowId)
                            .col(WorkflowEdges::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WorkflowEdges::Table, WorkflowEdges::WorkflowId)
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EngineRuns::Table)
                    .add_column(string_len_null(EngineRuns::WorkflowId, 200))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EngineRuns::Table)
                    .add_column(big_integer_null(EngineRuns::WorkflowVersion))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_engine_runs_namespace_workflow")
                    .table(EngineRuns::Table)
                    .col(EngineRuns::Namespace)
                    .col(EngineRuns::WorkflowId)
                    .col(EngineRuns::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_engine_runs_namespace_workflow")
                    .table(EngineRuns::Table)
                    .to_owned(),
            )
            .await?;
        for column in [EngineRuns::WorkflowVersion, EngineRuns::WorkflowId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(EngineRuns::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(WorkflowEdges::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WorkflowNodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Workflows::Table).to_owned())
            .await
    }
}
