//! `/api/v1/tenants/{tenantID}/folders`: the folder tree of each asset type, and filing items.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::{Action, Permission, Target};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenancy::folders::{EntityType, Folder, FolderChange, MoveItems, NewFolder};
use uuid::Uuid;

use crate::http::envelope::ok;
use crate::http::error::ApiError;
use crate::http::json::nullable;
use crate::http::pagination::Paging;
use crate::http::tenant_member::{TenantBody, TenantMember, path_id, query};
use crate::state::AppState;

/// A folder as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FolderView {
    #[serde(rename = "folderID")]
    folder_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FolderQuery {
    entity_type: String,
    page: Option<u64>,
    page_size: Option<u64>,
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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFolder {
    folder_title: String,
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
    let folder = tenancy::folders::create(&state.db, &member.route_permit, new, Utc::now()).await?;
    Ok(HttpResponse::Created().json(json!({ "data": FolderView::from(folder) })))
}

/// `PATCH …/folders/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateFolder {
    #[serde(default)]
    folder_title: Option<String>,
    #[serde(rename = "parentFolderID", default, deserialize_with = "nullable")]
    parent_folder_id: Option<Option<Uuid>>,
}

/// `PATCH …/folders/{id}` (`folder:update`): rename and/or move (`parentFolderID: null` moves
/// to the root).
pub async fn update(
    request: TenantBody<UpdateFolder>,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let change = FolderChange {
        title: body.folder_title,
        parent_id: body.parent_folder_id,
    };
    let folder = tenancy::folders::update(
        &state.db,
        &member.route_permit,
        path_id(&req)?,
        change,
        Utc::now(),
    )
    .await?;
    Ok(ok(FolderView::from(folder)))
}

/// `DELETE …/folders/{id}` (`folder:delete`): children move up, items become unfiled.
pub async fn delete(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&req)?;
    tenancy::folders::delete(&state.db, &member.route_permit, id, Utc::now()).await?;
    Ok(ok(json!({"folderID": id, "deleted": true})))
}

/// `POST …/folders/move` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveRequest {
    entity_type: String,
    #[serde(rename = "entityIDs")]
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
    let update = Permission::new(entity_type.resource(), Action::Update)
        .ok_or_else(ApiError::server_error)?;
    for id in &body.entity_ids {
        let target = Target {
            resource: entity_type.resource(),
            id: *id,
            creator: None,
        };
        rbac::authorize(
            member.tenant_id(),
            member.subject(),
            &member.grants,
            update,
            Some(&target),
        )?;
    }
    let request = MoveItems {
        entity_type,
        entity_ids: body.entity_ids,
        folder_id: body.folder_id,
    };
    let moved =
        tenancy::folders::move_items(&state.db, &member.route_permit, request, Utc::now()).await?;
    Ok(ok(json!({ "moved": moved })))
}
