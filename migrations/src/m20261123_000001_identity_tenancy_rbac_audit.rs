//! The first schema: users, tenants and memberships, roles and permissions, API keys, audit.
//!
//! Design notes:
//! - A membership (`tenant_members`) is a row of its own with an id, so an invitation can exist
//!   before its user does (`user_id` null, `invited_email` set) and roles can be attached to it.
//! - `permissions` holds the catalog (`resource:action` ids) so role grants are foreign keys, not
//!   free text; asset grants (`workflow:<id>:execute`) live in `role_asset_grants`.
//! - API keys keep only a SHA-256 hash and a short non-secret lookup prefix.
//! - `audit_logs` has no foreign keys on purpose: the trail must outlive what it talks about.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_identity_tenancy_rbac_audit"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    FirebaseId,
    Email,
    EmailVerified,
    DisplayName,
    PhotoUrl,
    IsDisabled,
    LastSeenAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Title,
    LogoUrl,
    CreatorUserId,
    CreatedByApiKeyId,
    IsDisabled,
    DisabledAt,
    DisableReason,
    Metadata,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum TenantMembers {
    Table,
    Id,
    TenantId,
    UserId,
    InvitedEmail,
    Relationship,
    Status,
    InvitedByUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserTenantConfigs {
    Table,
    TenantId,
    UserId,
    Config,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    TenantId,
    Title,
    Description,
    Builtin,
    CreatedByUserId,
    CreatedByApiKeyId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Permissions {
    Table,
    Id,
    Resource,
    Action,
    Description,
}

#[derive(DeriveIden)]
enum RolePermissions {
    Table,
    RoleId,
    PermissionId,
}

#[derive(DeriveIden)]
enum RoleAssetGrants {
    Table,
    Id,
    TenantId,
    RoleId,
    ResourceType,
    ResourceId,
    Action,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TenantMemberRoles {
    Table,
    TenantId,
    MemberId,
    RoleId,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    Title,
    KeyPrefix,
    KeyHash,
    IsDisabled,
    CreatorUserId,
    CreatedByApiKeyId,
    LastUsedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum ApiKeyRoles {
    Table,
    ApiKeyId,
    RoleId,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    TenantId,
    UserId,
    ApiKeyId,
    Kind,
    Method,
    Route,
    Path,
    Status,
    Success,
    DurationMs,
    ClientIp,
    UserAgent,
    RequestBody,
    Metadata,
    CreatedAt,
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

fn index(table: impl IntoIden, name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if unique {
        statement.unique();
    }
    statement.to_owned()
}

fn tables() -> Vec<TableCreateStatement> {
    use ForeignKeyAction::{Cascade, SetNull};
    vec![
        Table::create()
            .table(Users::Table)
            .col(pk_uuid(Users::Id))
            .col(string_len_uniq(Users::FirebaseId, 128))
            .col(string_len_null(Users::Email, 320))
            .col(boolean(Users::EmailVerified).default(false))
            .col(text_null(Users::DisplayName))
            .col(text_null(Users::PhotoUrl))
            .col(boolean(Users::IsDisabled).default(false))
            .col(timestamp_with_time_zone(Users::LastSeenAt))
            .col(timestamp_with_time_zone(Users::CreatedAt))
            .col(timestamp_with_time_zone(Users::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(Tenants::Table)
            .col(pk_uuid(Tenants::Id))
            .col(string_len(Tenants::Title, 200))
            .col(text_null(Tenants::LogoUrl))
            .col(uuid_null(Tenants::CreatorUserId))
            .col(uuid_null(Tenants::CreatedByApiKeyId))
            .col(boolean(Tenants::IsDisabled).default(false))
            .col(timestamp_with_time_zone_null(Tenants::DisabledAt))
            .col(text_null(Tenants::DisableReason))
            .col(json_binary(Tenants::Metadata))
            .col(timestamp_with_time_zone(Tenants::CreatedAt))
            .col(timestamp_with_time_zone(Tenants::UpdatedAt))
            .col(timestamp_with_time_zone_null(Tenants::DeletedAt))
            .foreign_key(&mut fk(
                (Tenants::Table, Tenants::CreatorUserId),
                (Users::Table, Users::Id),
                SetNull,
            ))
            .to_owned(),
        Table::create()
            .table(TenantMembers::Table)
            .col(pk_uuid(TenantMembers::Id))
            .col(uuid(TenantMembers::TenantId))
            .col(uuid_null(TenantMembers::UserId))
            .col(string_len_null(TenantMembers::InvitedEmail, 320))
            .col(string_len(TenantMembers::Relationship, 16))
            .col(string_len(TenantMembers::Status, 16))
            .col(uuid_null(TenantMembers::InvitedByUserId))
            .col(timestamp_with_time_zone(TenantMembers::CreatedAt))
            .col(timestamp_with_time_zone(TenantMembers::UpdatedAt))
            .foreign_key(&mut fk(
                (TenantMembers::Table, TenantMembers::TenantId),
                (Tenants::Table, Tenants::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (TenantMembers::Table, TenantMembers::UserId),
                (Users::Table, Users::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (TenantMembers::Table, TenantMembers::InvitedByUserId),
                (Users::Table, Users::Id),
                SetNull,
            ))
            .to_owned(),
        Table::create()
            .table(UserTenantConfigs::Table)
            .col(uuid(UserTenantConfigs::TenantId))
            .col(uuid(UserTenantConfigs::UserId))
            .col(json_binary(UserTenantConfigs::Config))
            .col(timestamp_with_time_zone(UserTenantConfigs::UpdatedAt))
            .primary_key(
                Index::create()
                    .col(UserTenantConfigs::TenantId)
                    .col(UserTenantConfigs::UserId),
            )
            .foreign_key(&mut fk(
                (UserTenantConfigs::Table, UserTenantConfigs::TenantId),
                (Tenants::Table, Tenants::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (UserTenantConfigs::Table, UserTenantConfigs::UserId),
                (Users::Table, Users::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Roles::Table)
            .col(pk_uuid(Roles::Id))
            .col(uuid_null(Roles::TenantId))
            .col(string_len(Roles::Title, 200))
            .col(text_null(Roles::Description))
            .col(string_len_null(Roles::Builtin, 16))
            .col(uuid_null(Roles::CreatedByUserId))
            .col(uuid_null(Roles::CreatedByApiKeyId))
            .col(timestamp_with_time_zone(Roles::CreatedAt))
            .col(timestamp_with_time_zone(Roles::UpdatedAt))
            .foreign_key(&mut fk(
                (Roles::Table, Roles::TenantId),
                (Tenants::Table, Tenants::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (Roles::Table, Roles::CreatedByUserId),
                (Users::Table, Users::Id),
                SetNull,
            ))
            .to_owned(),
        Table::create()
            .table(Permissions::Table)
            .col(string_len(Permissions::Id, 96).primary_key())
            .col(string_len(Permissions::Resource, 48))
            .col(string_len(Permissions::Action, 48))
            .col(text(Permissions::Description))
            .to_owned(),
        Table::create()
            .table(RolePermissions::Table)
            .col(uuid(RolePermissions::RoleId))
            .col(string_len(RolePermissions::PermissionId, 96))
            .primary_key(
                Index::create()
                    .col(RolePermissions::RoleId)
                    .col(RolePermissions::PermissionId),
            )
            .foreign_key(&mut fk(
                (RolePermissions::Table, RolePermissions::RoleId),
                (Roles::Table, Roles::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (RolePermissions::Table, RolePermissions::PermissionId),
                (Permissions::Table, Permissions::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(RoleAssetGrants::Table)
            .col(pk_uuid(RoleAssetGrants::Id))
            .col(uuid(RoleAssetGrants::TenantId))
            .col(uuid(RoleAssetGrants::RoleId))
            .col(string_len(RoleAssetGrants::ResourceType, 48))
            .col(uuid(RoleAssetGrants::ResourceId))
            .col(string_len(RoleAssetGrants::Action, 48))
            .col(timestamp_with_time_zone(RoleAssetGrants::CreatedAt))
            .foreign_key(&mut fk(
                (RoleAssetGrants::Table, RoleAssetGrants::TenantId),
                (Tenants::Table, Tenants::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (RoleAssetGrants::Table, RoleAssetGrants::RoleId),
                (Roles::Table, Roles::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(TenantMemberRoles::Table)
            .col(uuid(TenantMemberRoles::TenantId))
            .col(uuid(TenantMemberRoles::MemberId))
            .col(uuid(TenantMemberRoles::RoleId))
            .primary_key(
                Index::create()
                    .col(TenantMemberRoles::MemberId)
                    .col(TenantMemberRoles::RoleId),
            )
            .foreign_key(&mut fk(
                (TenantMemberRoles::Table, TenantMemberRoles::TenantId),
                (Tenants::Table, Tenants::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (TenantMemberRoles::Table, TenantMemberRoles::MemberId),
                (TenantMembers::Table, TenantMembers::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (TenantMemberRoles::Table, TenantMemberRoles::RoleId),
                (Roles::Table, Roles::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(ApiKeys::Table)
            .col(pk_uuid(ApiKeys::Id))
            .col(uuid(ApiKeys::TenantId))
            .col(string_len(ApiKeys::Title, 200))
            .col(string_len(ApiKeys::KeyPrefix, 16))
            .col(string_len(ApiKeys::KeyHash, 64))
            .col(boolean(ApiKeys::IsDisabled).default(false))
            .col(uuid_null(ApiKeys::CreatorUserId))
            .col(uuid_null(ApiKeys::CreatedByApiKeyId))
            .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
            .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
            .col(timestamp_with_time_zone(ApiKeys::UpdatedAt))
            .col(timestamp_with_time_zone_null(ApiKeys::DeletedAt))
            .foreign_key(&mut fk(
                (ApiKeys::Table, ApiKeys::TenantId),
                (Tenants::Table, Tenants::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (ApiKeys::Table, ApiKeys::CreatorUserId),
                (Users::Table, Users::Id),
                SetNull,
            ))
            .to_owned(),
        Table::create()
            .table(ApiKeyRoles::Table)
            .col(uuid(ApiKeyRoles::ApiKeyId))
            .col(uuid(ApiKeyRoles::RoleId))
            .primary_key(
                Index::create()
                    .col(ApiKeyRoles::ApiKeyId)
                    .col(ApiKeyRoles::RoleId),
            )
            .foreign_key(&mut fk(
                (ApiKeyRoles::Table, ApiKeyRoles::ApiKeyId),
                (ApiKeys::Table, ApiKeys::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (ApiKeyRoles::Table, ApiKeyRoles::RoleId),
                (Roles::Table, Roles::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(AuditLogs::Table)
            .col(pk_uuid(AuditLogs::Id))
            .col(uuid_null(AuditLogs::TenantId))
            .col(uuid_null(AuditLogs::UserId))
            .col(uuid_null(AuditLogs::ApiKeyId))
            .col(string_len(AuditLogs::Kind, 32))
            .col(string_len(AuditLogs::Method, 10))
            .col(string_len(AuditLogs::Route, 255))
            .col(text(AuditLogs::Path))
            .col(small_integer(AuditLogs::Status))
            .col(boolean(AuditLogs::Success))
            .col(integer(AuditLogs::DurationMs))
            .col(string_len_null(AuditLogs::ClientIp, 64))
            .col(text_null(AuditLogs::UserAgent))
            .col(text_null(AuditLogs::RequestBody))
            .col(json_binary(AuditLogs::Metadata))
            .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
            .to_owned(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(Users::Table, "ix_users_email", &["email"], false),
        index(
            Tenants::Table,
            "ix_tenants_creator",
            &["creator_user_id"],
            false,
        ),
        index(
            TenantMembers::Table,
            "ux_tenant_members_user",
            &["tenant_id", "user_id"],
            true,
        ),
        index(
            TenantMembers::Table,
            "ux_tenant_members_invite",
            &["tenant_id", "invited_email"],
            true,
        ),
        index(
            TenantMembers::Table,
            "ix_tenant_members_by_user",
            &["user_id"],
            false,
        ),
        index(
            TenantMembers::Table,
            "ix_tenant_members_by_email",
            &["invited_email"],
            false,
        ),
        index(
            UserTenantConfigs::Table,
            "ix_user_tenant_configs_user",
            &["user_id"],
            false,
        ),
        index(
            Roles::Table,
            "ux_roles_tenant_title",
            &["tenant_id", "title"],
            true,
        ),
        index(
            RoleAssetGrants::Table,
            "ux_role_asset_grants",
            &["role_id", "resource_type", "resource_id", "action"],
            true,
        ),
        index(
            RoleAssetGrants::Table,
            "ix_role_asset_grants_resource",
            &["tenant_id", "resource_type", "resource_id"],
            false,
        ),
        index(
            TenantMemberRoles::Table,
            "ix_tenant_member_roles_role",
            &["tenant_id", "role_id"],
            false,
        ),
        index(
            ApiKeys::Table,
            "ix_api_keys_tenant",
            &["tenant_id", "created_at"],
            false,
        ),
        index(ApiKeys::Table, "ix_api_keys_prefix", &["key_prefix"], false),
        index(
            ApiKeyRoles::Table,
            "ix_api_key_roles_role",
            &["role_id"],
            false,
        ),
        index(
            AuditLogs::Table,
            "ix_audit_logs_tenant_time",
            &["tenant_id", "created_at"],
            false,
        ),
        index(
            AuditLogs::Table,
            "ix_audit_logs_tenant_user",
            &["tenant_id", "user_id", "created_at"],
            false,
        ),
        index(
            AuditLogs::Table,
            "ix_audit_logs_tenant_key",
            &["tenant_id", "api_key_id", "created_at"],
            false,
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Reverse creation order so no foreign key points at a dropped table.
        let names = [
            "audit_logs",
            "api_key_roles",
            "api_keys",
            "tenant_member_roles",
            "role_asset_grants",
            "role_permissions",
            "permissions",
            "roles",
            "user_tenant_configs",
            "tenant_members",
            "tenants",
            "users",
        ];
        for name in names {
            manager
                .drop_table(Table::drop().table(Alias::new(name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
