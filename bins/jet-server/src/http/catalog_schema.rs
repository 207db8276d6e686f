//! API-description schemas generated from the permission catalog (`rbac::catalog`), so the
//! document lists exactly the permissions and asset grants the server accepts: a client (or a
//! fuzzer) reading it cannot build a role the server refuses for an unknown permission.

use std::borrow::Cow;

use rbac::Permission;
use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::http::routes::roles::AssetPermission;

fn string_enum<I: IntoIterator<Item = String>>(values: I) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .enum_values(Some(values))
}

/// A catalog permission, `resource:action` (schema only; values travel as strings).
#[derive(Debug)]
pub struct PermissionName;

impl PartialSchema for PermissionName {
    fn schema() -> RefOr<Schema> {
        string_enum(Permission::all().map(|p| p.to_string()))
            .description(Some(
                "A permission of the catalog (`GET …/roles/permissions`).",
            ))
            .into()
    }
}

impl ToSchema for PermissionName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PermissionName")
    }
}

impl PartialSchema for AssetPermission {
    /// One alternative per resource type, each with the actions that type supports.
    fn schema() -> RefOr<Schema> {
        let mut resources: Vec<rbac::Resource> = Vec::new();
        for permission in Permission::all() {
            if !resources.contains(&permission.resource) {
                resources.push(permission.resource);
            }
        }
        let one_of = resources
            .into_iter()
            .fold(OneOfBuilder::new(), |one_of, resource| {
                let actions = resource.actions().iter().map(|a| a.as_str().to_string());
                one_of.item(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::new(Type::Object))
                        .property("resourceType", string_enum([resource.as_str().to_string()]))
                        .property(
                            "resourceID",
                            ObjectBuilder::new()
                                .schema_type(SchemaType::new(Type::String))
                                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                        )
                        .property("action", string_enum(actions))
                        .required("resourceType")
                        .required("resourceID")
                        .required("action")
                        .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                )
            });
        one_of
            .description(Some(
                "`action` on the one object `resourceID` of type `resourceType`.",
            ))
            .into()
    }
}

impl ToSchema for AssetPermission {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AssetPermission")
    }
}
