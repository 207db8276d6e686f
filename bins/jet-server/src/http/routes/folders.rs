//! `/api/v1/tenants/{tenantID}/folders`: the folder tree of each asset type, and filing items.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use tenancy::folders::{EntityType, Folder, FolderChange, MoveItems, NewFolder};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::nullable;
use crate::http::pagination::Paging;
use crate::http::route::Route;
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/folders";
    const ONE: &str = "/api/v1/tenants/{tenantID}/folders/{folderID}";
    let writes = |action| TenantRule::writes(Resource::Folder, action);
    vec![
        Route::get(
            ALL,
            Access::Tenant(TenantRule::reads(Resource::Folder, Action::List)),
            list,
        )
        .doc(
            "listFolders",
            "Folders",
            "One asset type's folders, flat with `parentFolderID` (clients build the tree)",
        )
        .query::<FolderQuery>()
        .page::<FolderView>(),
        Route::post(ALL, Access::Tenant(writes(Action::Create)), create)
            .doc("createFolder", "Folders", "Creates a folder")
            .body::<CreateFolder>()
            .created::<FolderView>()
            .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::post(
            "/api/v1/tenants/{tenantID}/folders/move",
            Access::Tenant(writes(Action::Update)),
            move_items,
        )
        .doc(
            "moveFolderItems",
            "Folders",
            "Files items into a folder, or unfiles them (`folderID: null`)",
        )
        .describe("Needs `folder:update`, and `<type>:update` on every item.")
        .body::<MoveRequest>()
        .ok::<ItemsMoved>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::patch(
            ONE,
            Access::Tenant(writes(Action::Update).on_object("folderID")),
            update,
        )
        .doc(
            "updateFolder",
            "Folders",
            "Renames and/or moves a folder (`parentFolderID: null`: to the root)",
        )
        .body::<UpdateFolder>()
        .ok::<FolderView>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::delete(
            ONE,
            Access::Tenant(writes(Action::Delete).on_object("folderID")),
            delete,
        )
        .doc(
            "deleteFolder",
            "Folders",
            "Deletes a folder: its children move up, its items become unfiled",
        )
        .ok::<FolderDeleted>(),
    ]
}

/// The types of item folders hold, for the API description (the domain's `EntityType`; a test
/// keeps the two equal).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only: values arrive as strings and are parsed by the domain
pub enum EntityTypeName {
    Widget,
    Workflow,
    DataQuery,
    CronJob,
    AppPage,
    Listener,
}

/// A folder as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FolderView {
    #[serde(rename = "folderID")]
    folder_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    #[schema(value_type = EntityTypeName)]
    entity_type: &'static str,
    #[serde(rename = "parentFolderID")]
    parent_folder_id: Option<Uuid>,
    folder_title: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Folder> for FolderView {
    fn from(folder: Folder) -> Self {
        FolderView {
            folder_id: folder.id,
            tenant_id: folder.tenant_id,
            entity_type: folder.entity_type.as_str(),
            parent_folder_id: folder.parent_id,
            folder_title: folder.title,
            created_at: folder.created_at,
            updated_at: folder.updated_at,
        }
    }
}

/// `GET …/folders` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FolderQuery {
    /// The type of item the folders hold.
    #[param(value_type = EntityTypeName)]
    entity_type: String,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
    /// Only folders whose title contains this, ignoring case.
    search: Option<String>,
}

/// `GET …/folders?entityType=workflow` (`folder:list`): the type's folders, flat with
/// `parentFolderID` (clients build the tree), paged, `search` in titles.
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: FolderQuery = query(&req)?;
    let paging = Paging::new(query.page, query.page_size)?;
    let search = query
        .search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let entity_type = EntityType::parse(&query.entity_type)?;
    let folders = tenancy::folders::list(&state.db, member.tenant_id(), entity_type).await?;
    let views: Vec<FolderView> = folders.into_iter().map(FolderView::from).collect();
    Ok(paging.respond_filtered(views, search.as_deref(), |f| f.folder_title.clone()))
}

/// `POST …/folders` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFolder {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    folder_title: String,
    #[schema(value_type = EntityTypeName)]
    entity_type: String,
    #[serde(rename = "parentFolderID", default)]
    parent_folder_id: Option<Uuid>,
}

/// `POST …/folders` (`folder:create`).
pub async fn create(
    request: TenantBody<CreateFolder>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let new = NewFolder {
        entity_type: EntityType::parse(&body.entity_type)?,
        title: body.folder_title,
        parent_id: body.parent_folder_id,
    };
    let folder = tenancy::folders::create(&state.db, member.permit()?, new, Utc::now()).await?;
    Ok(created(FolderView::from(folder)))
}

/// `PATCH …/folders/{folderID}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateFolder {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    folder_title: Option<String>,
    #[serde(rename = "parentFolderID", default, deserialize_with = "nullable")]
    parent_folder_id: Option<Option<Uuid>>,
}

/// `PATCH …/folders/{folderID}` (`folder:update`): rename and/or move (`parentFolderID: null`
/// moves to the root).
pub async fn update(
    request: TenantBody<UpdateFolder>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let change = FolderChange {
        title: body.folder_title,
        parent_id: body.parent_folder_id,
    };
    let folder = tenancy::folders::update(
        &state.db,
        member.permit()?,
        member.object_id()?,
        change,
        Utc::now(),
    )
    .await?;
    Ok(ok(FolderView::from(folder)))
}

/// `DELETE …/folders/{folderID}` (`folder:delete`): children move up, items become unfiled.
pub async fn delete(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    tenancy::folders::delete(
        &state.db,
        &state.folder_items,
        member.permit()?,
        id,
        Utc::now(),
    )
    .await?;
    Ok(ok(FolderDeleted {
        folder_id: id,
        deleted: true,
    }))
}

/// The answer to a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct FolderDeleted {
    #[serde(rename = "folderID")]
    folder_id: Uuid,
    deleted: bool,
}

/// The answer to a move.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsMoved {
    /// How many items were filed.
    moved: u64,
}

/// `POST …/folders/move` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveRequest {
    #[schema(value_type = EntityTypeName)]
    entity_type: String,
    #[serde(rename = "entityIDs")]
    #[schema(max_items = 1000)]
    entity_ids: Vec<Uuid>,
    #[serde(rename = "folderID", default)]
    folder_id: Option<Uuid>,
}

/// `POST …/folders/move` (`folder:update`, and `<type>:update` on every item).
pub async fn move_items(
    request: TenantBody<MoveRequest>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let entity_type = EntityType::parse(&body.entity_type)?;
    let request = MoveItems {
        entity_type,
        entity_ids: body.entity_ids,
        folder_id: body.folder_id,
    };
    let moved = tenancy::folders::move_items(
        &state.db,
        &state.folder_items,
        member.permit()?,
        &member.grants,
        request,
        Utc::now(),
    )
    .await?;
    Ok(ok(ItemsMoved { moved }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn the_documented_entity_types_are_the_domain_s() {
        let schema = serde_json::to_value(EntityTypeName::schema()).unwrap();
        let documented: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let domain: Vec<&str> = EntityType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(documented, domain);
    }
}
