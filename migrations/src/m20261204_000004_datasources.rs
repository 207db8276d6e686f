//! Datasources and data queries.
//!
//! A datasource's options are stored in two columns: `options` holds the plain fields of its
//! type's schema, `secrets` the secret fields, each sealed on its own (AES-256-GCM, envelope
//! `{v, kid, nonce, ct}`), all under the key named by `secrets_key_id`. Key rotation selects the
//! rows whose `secrets_key_id` is not the active key, so it resumes where it stopped.
//!
//! A data query belongs to one datasource (`ON DELETE CASCADE` is a backstop: the datasource
//! crate refuses to delete a datasource with queries unless forced, and then deletes them in the
//! same transaction) and may be filed in a folder (`ON DELETE SET NULL`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000004_datasources"
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
enum Datasources {
    Table,
    Id,
    TenantId,
    Title,
    Description,
    DatasourceType,
    Options,
    Secrets,
    SecretsKeyId,
    Tags,
    ConnectionStatus,
    CreatorUserId,
    CreatedByApiKeyId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DataQueries {
    Table,
    Id,
    TenantId,
    DatasourceId,
    FolderId,
    Title,
    Description,
    Options,
    RunOnLoad,
    IsDisabled,
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
                    .table(Datasources::Table)
                    .col(pk_uuid(Datasources::Id))
                    .col(uuid(Datasources::TenantId))
                    .col(string_len(Datasources::Title, 200))
                    .col(text_null(Datasources::Description))
                    .col(string_len(Datasources::DatasourceType, 32))
                    .col(json_binary(Datasources::Options))
                    .col(json_binary(Datasources::Secrets))
                    .col(string_len_null(Datasources::SecretsKeyId, 64))
                    .col(json_binary(Datasources::Tags))
                    .col(string_len(Datasources::ConnectionStatus, 16))
                    .col(uuid_null(Datasources::CreatorUserId))
                    .col(uuid_null(Datasources::CreatedByApiKeyId))
                    .col(timestamp_with_time_zone(Datasources::CreatedAt))
                    .col(timestamp_with_time_zone(Datasources::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Datasources::Table, Datasources::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_datasources_tenant_title")
                    .table(Datasources::Table)
                    .col(Datasources::TenantId)
                    .col(Datasources::Title)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_datasources_secrets_key")
                    .table(Datasources::Table)
                    .col(Datasources::SecretsKeyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataQueries::Table)
                    .col(pk_uuid(DataQueries::Id))
                    .col(uuid(DataQueries::TenantId))
                    .col(uuid(DataQueries::DatasourceId))
                    .col(uuid_null(DataQueries::FolderId))
                    .col(string_len(DataQueries::Title, 200))
                    .col(text_null(DataQueries::Description))
                    .col(json_binary(DataQueries::Options))
                    .col(boolean(DataQueries::RunOnLoad))
                    .col(boolean(DataQueries::IsDisabled))
                    .col(uuid_null(DataQueries::CreatorUserId))
                    .col(uuid_null(DataQueries::CreatedByApiKeyId))
                    .col(timestamp_with_time_zone(DataQueries::CreatedAt))
                    .col(timestamp_with_time_zone(DataQueries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DataQueries::Table, DataQueries::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DataQueries::Table, DataQueries::DatasourceId)
                            .to(Datasources::Table, Datasources::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DataQueries::Table, DataQueries::FolderId)
                            .to(Folders::Table, Folders::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (
                "ix_data_queries_tenant_datasource",
                DataQueries::DatasourceId,
            ),
            ("ix_data_queries_tenant_folder", DataQueries::FolderId),
            ("ix_data_queries_tenant_title", DataQueries::Title),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DataQueries::Table)
                        .col(DataQueries::TenantId)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DataQueries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Datasources::Table).to_owned())
            .await
    }
}
