//! The change bus's overflow table: a message too large for one PostgreSQL `NOTIFY` (8,000 bytes)
//! is stored here and the notification carries its id; receivers load it. Rows are pruned by age
//! (`change-bus` deletes those older than its retention when it stores a new one). Unused on
//! SQLite, where the bus is in-process, but created on both so the schemas stay the same.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000003_change_bus"
    }
}

#[derive(DeriveIden)]
enum ChangeBusPayloads {
    Table,
    Id,
    Topic,
    Payload,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeBusPayloads::Table)
                    .col(pk_uuid(ChangeBusPayloads::Id))
                    .col(string_len(ChangeBusPayloads::Topic, 200))
                    .col(text(ChangeBusPayloads::Payload))
                    .col(timestamp_with_time_zone(ChangeBusPayloads::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_change_bus_payloads_created_at")
                    .table(ChangeBusPayloads::Table)
                    .col(ChangeBusPayloads::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChangeBusPayloads::Table).to_owned())
            .await
    }
}
