//! Webhook triggers (`crates/webhooks`) and the delivery ids they have seen.
//!
//! - `webhooks`: one row per endpoint `POST /api/v1/hooks/{id}`: the workflow it starts, its
//!   auth mode (`none`, `basic`, `bearer`, `header`, `hmac`) with the header or user name the
//!   mode needs (`auth_name`) and its secret sealed like a datasource's (`secret`, an envelope
//!   bound to the tenant, the hook and the field; NULL for `none`), its limits (body size,
//!   deliveries per minute) and the rate window's counter (`rate_window`, the minute since the
//!   epoch, and `rate_count`), updated in one statement so every process shares the limit.
//!   The id is random (v4): for mode `none` the URL is all a sender needs.
//! - `webhook_deliveries`: the delivery ids a hook accepted, kept for the signature window so
//!   a replay is refused; the primary key `(webhook_id, delivery_id)` makes the second insert
//!   of an id fail whichever process receives it. `received_at` is microseconds since the
//!   epoch (`BIGINT`, exact on both databases).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000008_webhooks"
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Workflows {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    TenantId,
    WorkflowId,
    Title,
    AuthMode,
    AuthName,
    Secret,
    SecretHint,
    IsEnabled,
    MaxBodyBytes,
    RatePerMinute,
    RateWindow,
    RateCount,
    CreatorUserId,
    CreatedByApiKeyId,
    SecretRotatedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    WebhookId,
    DeliveryId,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(pk_uuid(Webhooks::Id))
                    .col(uuid(Webhooks::TenantId))
                    .col(uuid(Webhooks::WorkflowId))
                    .col(string_len(Webhooks::Title, 200))
                    .col(string_len(Webhooks::AuthMode, 16))
                    .col(string_len_null(Webhooks::AuthName, 200))
                    .col(text_null(Webhooks::Secret))
                    .col(string_len_null(Webhooks::SecretHint, 16))
                    .col(boolean(Webhooks::IsEnabled))
                    .col(integer(Webhooks::MaxBodyBytes))
                    .col(integer(Webhooks::RatePerMinute))
                    .col(big_integer(Webhooks::RateWindow))
                    .col(integer(Webhooks::RateCount))
                    .col(uuid_null(Webhooks::CreatorUserId))
                    .col(uuid_null(Webhooks::CreatedByApiKeyId))
                    .col(timestamp_with_time_zone_null(Webhooks::SecretRotatedAt))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .col(timestamp_with_time_zone(Webhooks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhooks::Table, Webhooks::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhooks::Table, Webhooks::WorkflowId)
                            .to(Workflows::Table, Workflows::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhooks_tenant_workflow")
                    .table(Webhooks::Table)
                    .col(Webhooks::TenantId)
                    .col(Webhooks::WorkflowId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::WebhookId))
                    .col(string_len(WebhookDeliveries::DeliveryId, 200))
                    .col(big_integer(WebhookDeliveries::ReceivedAt))
                    .primary_key(
                        Index::create()
                            .col(WebhookDeliveries::WebhookId)
                            .col(WebhookDeliveries::DeliveryId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The pruning of ids older than the window, across every hook.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_received_at")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}
