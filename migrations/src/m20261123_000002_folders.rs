//! Folders: a per-tenant tree per asset type (widgets, workflows, data queries, cron jobs, app
//! pages, listeners).
//!
//! `parent_id` points at a folder of the same tenant and type (checked by `tenancy::folders`).
//! Deleting a folder moves its children up in code first; the `SET NULL` foreign key is only a
//! backstop so a stray delete can never leave a dangling parent. Asset tables of later
//! migrations carry a nullable `folder_id` with `ON DELETE SET NULL`, so deleted folders unfile
//! their items.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000002_folders"
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
    TenantId,
    EntityType,
    ParentId,
    Title,
    CreatorUserId,
    CreatedByApiKeyId,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Folders::Table)
                    .col(pk_uuid(Folders::Id))
                    .col(uuid(Folders::TenantId))
                    .col(string_len(Folders::EntityType, 32))
                    .col(uuid_null(Folders::ParentId))
                    .col(string_len(Folders::Title, 200))
                    .col(uuid_null(Folders::CreatorUserId))
                    .col(uuid_null(Folders::CreatedByApiKeyId))
                    .col(timestamp_with_time_zone(Folders::CreatedAt))
                    .col(timestamp_with_time_zone(Folders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Folders::Table, Folders::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Folders::Table, Folders::ParentId)
                            .to(Folders::Table, Folders::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_folders_tenant_type")
                    .table(Folders::Table)
                    .col(Folders::TenantId)
                    .col(Folders::EntityType)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Folders::Table).to_owned())
            .await
    }
}
