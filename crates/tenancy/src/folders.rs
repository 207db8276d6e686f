//! Folders: one tree per tenant and asset type.
//!
//! Rules: a folder's parent has the same tenant and type; moving a folder under itself or one of
//! its descendants is refused (no cycles); trees are at most [`MAX_DEPTH`] deep; sibling titles
//! are unique ignoring case. Deleting a folder moves its children up to its parent and unfiles
//! its items. Every change locks the tenant row first, so two concurrent moves cannot build a
//! cycle between them.
//!
//! Items (workflows, data queries, …) belong to the crates that own them; folders reach them
//! through the [`FolderItemRegistry`] those crates register in. Moving an item that does not
//! exist in the tenant (or of a type nobody registered) is an unknown reference: nothing moves.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use db_entity::folders;
use rbac::{Action, Grants, Permission, Permit, Resource, Target};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::Error;
use crate::folder_items::FolderItemRegistry;
use rbac::tenant_lock::lock_writable_tenant;

/// Deepest allowed tree (a root folder has depth 1).
pub const MAX_DEPTH: usize = 32;
/// Most items moved in one request.
pub const MAX_MOVE_ITEMS: usize = 1_000;

/// The asset types folders organise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityType {
    /// Widgets.
    Widget,
    /// Workflows.
    Workflow,
    /// Data queries.
    DataQuery,
    /// Cron jobs.
    CronJob,
    /// App pages.
    AppPage,
    /// Listeners.
    Listener,
}

impl EntityType {
    /// Every type.
    pub const ALL: [EntityType; 6] = [
        EntityType::Widget,
        EntityType::Workflow,
        EntityType::DataQuery,
        EntityType::CronJob,
        EntityType::AppPage,
        EntityType::Listener,
    ];

    /// As in the API (`dataQuery`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Widget => "widget",
            EntityType::Workflow => "workflow",
            EntityType::DataQuery => "dataQuery",
            EntityType::CronJob => "cronJob",
            EntityType::AppPage => "appPage",
            EntityType::Listener => "listener",
        }
    }

    /// Parses the API spelling; the error names the accepted values.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| Error::Invalid {
                field: "entityType",
                message: format!(
                    "must be one of {}",
                    Self::ALL.map(EntityType::as_str).join(", ")
                ),
            })
    }

    /// The permission resource of the items.
    pub fn resource(self) -> Resource {
        match self {
            EntityType::Widget => Resource::Widget,
            EntityType::Workflow => Resource::Workflow,
            EntityType::DataQuery => Resource::DataQuery,
            EntityType::CronJob => Resource::CronJob,
            EntityType::AppPage => Resource::AppPage,
            EntityType::Listener => Resource::Listener,
        }
    }
}

/// A folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// What it holds.
    pub entity_type: EntityType,
    /// Parent; `None` at the root.
    pub parent_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

fn from_row(row: folders::Model, entity_type: EntityType) -> Folder {
    Folder {
        id: row.id,
        tenant_id: row.tenant_id,
        entity_type,
        parent_id: row.parent_id,
        title: row.title,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The folders of `entity_type` in `tenant_id`, by title.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    entity_type: EntityType,
) -> Result<Vec<Folder>, Error> {
    Ok(folders::Entity::find()
        .filter(folders::Column::TenantId.eq(tenant_id))
        .filter(folders::Column::EntityType.eq(entity_type.as_str()))
        .order_by_asc(folders::Column::Title)
        .order_by_asc(folders::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| from_row(row, entity_type))
        .collect())
}

async fn find_row(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(folders::Model, EntityType), Error> {
    let row = folders::Entity::find_by_id(id)
        .filter(folders::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound)?;
    let entity_type = EntityType::parse(&row.entity_type)?;
    Ok((row, entity_type))
}

/// One folder of `tenant_id`.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<Folder, Error> {
    let (row, entity_type) = find_row(db, tenant_id, id).await?;
    Ok(from_row(row, entity_type))
}

fn valid_title(title: &str) -> Result<String, Error> {
    Ok(db_entity::title::valid_title("folderTitle", title)?)
}

/// The tree of one tenant and type, for checks: parent and title by id.
struct Tree {
    nodes: HashMap<Uuid, (Option<Uuid>, String)>,
}

impl Tree {
    async fn load(
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        entity_type: EntityType,
    ) -> Result<Tree, Error> {
        let nodes = list(db, tenant_id, entity_type)
            .await?
            .into_iter()
            .map(|f| (f.id, (f.parent_id, f.title)))
            .collect();
        Ok(Tree { nodes })
    }

    /// Depth of `id` (root folders are 1); `None` when the chain is broken or cyclic.
    fn depth(&self, id: Uuid) -> Option<usize> {
        let mut depth = 0;
        let mut current = Some(id);
        while let Some(node) = current {
            depth += 1;
            if depth > self.nodes.len() + 1 {
                return None;
            }
            current = self.nodes.get(&node)?.0;
        }
        Some(depth)
    }

    /// Whether `ancestor` is `id` or above it.
    fn is_ancestor_or_self(&self, ancestor: Uuid, id: Uuid) -> bool {
        let mut current = Some(id);
        let mut steps = 0;
        while let Some(node) = current {
            if node == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.nodes.len() {
                return false;
            }
            current = self.nodes.get(&node).and_then(|(parent, _)| *parent);
        }
        false
    }

    /// Height of the subtree under `id` (a leaf is 1).
    fn height(&self, id: Uuid) -> usize {
        let children: Vec<Uuid> = self
            .nodes
            .iter()
            .filter(|(_, (parent, _))| *parent == Some(id))
            .map(|(child, _)| *child)
            .collect();
        1 + children
            .into_iter()
            .map(|child| self.height(child))
            .max()
            .unwrap_or(0)
    }

    fn title_taken(&self, parent: Option<Uuid>, title: &str, except: Option<Uuid>) -> bool {
        let wanted = title.to_lowercase();
        self.nodes
            .iter()
            .any(|(id, (p, t))| *p == parent && Some(*id) != except && t.to_lowercase() == wanted)
    }

    /// Checks that `folder` (with its subtree of `height`) may sit under `parent`.
    fn check_placement(
        &self,
        folder: Option<Uuid>,
        parent: Option<Uuid>,
        height: usize,
    ) -> Result<(), Error> {
        let Some(parent) = parent else {
            return Ok(());
        };
        if !self.nodes.contains_key(&parent) {
            return Err(Error::UnknownReference {
                field: "parentFolderID",
                message: "no such folder of this type in this tenant".into(),
            });
        }
        if folder.is_some_and(|id| self.is_ancestor_or_self(id, parent)) {
            return Err(Error::Invalid {
                field: "parentFolderID",
                message: "a folder cannot move into itself or its descendants".into(),
            });
        }
        let depth = self.depth(parent).unwrap_or(usize::MAX);
        if depth.saturating_add(height) > MAX_DEPTH {
            return Err(Error::Invalid {
                field: "parentFolderID",
                message: format!("folders nest at most {MAX_DEPTH} deep"),
            });
        }
        Ok(())
    }
}

/// What a new folder needs.
#[derive(Debug, Clone)]
pub struct NewFolder {
    /// Its type.
    pub entity_type: EntityType,
    /// Title.
    pub title: String,
    /// Parent (same type); `None` for the root.
    pub parent_id: Option<Uuid>,
}

/// Creates a folder in the permit's tenant.
pub async fn create(
    db: &DatabaseConnection,
    permit: &Permit,
    new: NewFolder,
    now: DateTime<Utc>,
) -> Result<Folder, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::Folder, Action::Create)?;
    let title = valid_title(&new.title)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let tree = Tree::load(&txn, tenant_id, new.entity_type).await?;
    tree.check_placement(None, new.parent_id, 1)?;
    if tree.title_taken(new.parent_id, &title, None) {
        return Err(Error::Conflict(format!(
            "a folder titled `{title}` exists here"
        )));
    }
    let (creator_user_id, created_by_api_key_id) = permit.subject().creator_columns();
    let id = Uuid::now_v7();
    folders::Entity::insert(folders::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        entity_type: Set(new.entity_type.as_str().to_string()),
        parent_id: Set(new.parent_id),
        title: Set(title),
        creator_user_id: Set(creator_user_id),
        created_by_api_key_id: Set(created_by_api_key_id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let folder = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(folder)
}

/// A rename or move; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct FolderChange {
    /// New title.
    pub title: Option<String>,
    /// New parent (`Some(None)`: to the root).
    pub parent_id: Option<Option<Uuid>>,
}

/// Renames or moves a folder.
pub async fn update(
    db: &DatabaseConnection,
    permit: &Permit,
    id: Uuid,
    change: FolderChange,
    now: DateTime<Utc>,
) -> Result<Folder, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Folder, Action::Update, id)?;
    let title = change.title.as_deref().map(valid_title).transpose()?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let (row, entity_type) = find_row(&txn, tenant_id, id).await?;
    let tree = Tree::load(&txn, tenant_id, entity_type).await?;
    let parent = change.parent_id.unwrap_or(row.parent_id);
    if change.parent_id.is_some() {
        tree.check_placement(Some(id), parent, tree.height(id))?;
    }
    let title = title.unwrap_or(row.title.clone());
    if tree.title_taken(parent, &title, Some(id)) {
        return Err(Error::Conflict(format!(
            "a folder titled `{title}` exists here"
        )));
    }
    let mut update: folders::ActiveModel = row.into();
    update.title = Set(title);
    update.parent_id = Set(parent);
    update.updated_at = Set(now);
    folders::Entity::update(update).exec(&txn).await?;
    let folder = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(folder)
}

/// Deletes a folder: its children move up to its parent, its items become unfiled.
pub async fn delete(
    db: &DatabaseConnection,
    items: &FolderItemRegistry,
    permit: &Permit,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Folder, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let (row, entity_type) = find_row(&txn, tenant_id, id).await?;
    folders::Entity::update_many()
        .col_expr(folders::Column::ParentId, Expr::value(row.parent_id))
        .col_expr(folders::Column::UpdatedAt, Expr::value(now))
        .filter(folders::Column::TenantId.eq(tenant_id))
        .filter(folders::Column::ParentId.eq(id))
        .exec(&txn)
        .await?;
    if let Some(items) = items.get(entity_type) {
        items.unfile_all(&txn, tenant_id, id, now).await?;
    }
    folders::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Items to file.
#[derive(Debug, Clone)]
pub struct MoveItems {
    /// Their type.
    pub entity_type: EntityType,
    /// Their ids.
    pub entity_ids: Vec<Uuid>,
    /// Target folder (same type); `None` unfiles them.
    pub folder_id: Option<Uuid>,
}

/// Files items into a folder (or unfiles them). The permit is for `folder:update`; the permit's
/// holder, holding `grants`, must also hold `<type>:update` on every item (type-wide or by an
/// asset grant). Items not in the tenant: `UnknownReference` on `entityIDs`, nothing moved.
pub async fn move_items(
    db: &DatabaseConnection,
    items: &FolderItemRegistry,
    permit: &Permit,
    grants: &Grants,
    request: MoveItems,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::Folder, Action::Update)?;
    if request.entity_ids.len() > MAX_MOVE_ITEMS {
        return Err(Error::Invalid {
            field: "entityIDs",
            message: format!("at most {MAX_MOVE_ITEMS} per request"),
        });
    }
    let resource = request.entity_type.resource();
    let update = Permission::new(resource, Action::Update).ok_or(Error::Invalid {
        field: "entityType",
        message: "its items cannot be updated".into(),
    })?;
    for id in &request.entity_ids {
        let target = Target {
            resource,
            id: *id,
            creator: None,
        };
        rbac::authorize(tenant_id, permit.subject(), grants, update, Some(&target))?;
    }
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    if let Some(folder_id) = request.folder_id {
        let (_, folder_type) = match find_row(&txn, tenant_id, folder_id).await {
            Err(Error::NotFound) => {
                return Err(Error::UnknownReference {
                    field: "folderID",
                    message: "no such folder in this tenant".into(),
                });
            }
            found => found?,
        };
        if folder_type != request.entity_type {
            return Err(Error::Invalid {
                field: "folderID",
                message: format!("must be a {} folder", request.entity_type.as_str()),
            });
        }
    }
    let mut ids = request.entity_ids;
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(0);
    }
    let unknown = || Error::UnknownReference {
        field: "entityIDs",
        message: format!(
            "not every id is a {} of this tenant",
            request.entity_type.as_str()
        ),
    };
    // A type nobody registered has no items.
    let items = items.get(request.entity_type).ok_or_else(unknown)?;
    let moved = items
        .file(&txn, tenant_id, &ids, request.folder_id, now)
        .await?;
    if moved != ids.len() as u64 {
        // Dropping the transaction rolls back: nothing moves.
        return Err(unknown());
    }
    txn.commit().await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_types_round_trip_and_unknown_ones_name_the_choices() {
        for t in EntityType::ALL {
            assert_eq!(EntityType::parse(t.as_str()).unwrap(), t);
        }
        let error = EntityType::parse("dashboard").unwrap_err().to_string();
        assert!(error.contains("dataQuery"), "{error}");
    }

    #[test]
    fn trees_refuse_cycles_and_depth() {
        let ids: Vec<Uuid> = (0..MAX_DEPTH).map(|_| Uuid::now_v7()).collect();
        let mut nodes = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            let parent = i.checked_sub(1).map(|p| ids[p]);
            nodes.insert(*id, (parent, format!("f{i}")));
        }
        let tree = Tree { nodes };
        assert_eq!(tree.depth(ids[MAX_DEPTH - 1]), Some(MAX_DEPTH));
        assert_eq!(tree.height(ids[0]), MAX_DEPTH);
        // The root under its own grandchild: a cycle.
        assert!(tree.check_placement(Some(ids[0]), Some(ids[2]), 1).is_err());
        // A new leaf under the deepest folder: too deep.
        assert!(
            tree.check_placement(None, Some(ids[MAX_DEPTH - 1]), 1)
                .is_err()
        );
        assert!(
            tree.check_placement(None, Some(ids[MAX_DEPTH - 2]), 1)
                .is_ok()
        );
        assert!(tree.title_taken(Some(ids[0]), "F1", None));
        assert!(!tree.title_taken(Some(ids[0]), "F1", Some(ids[1])));
    }
}
