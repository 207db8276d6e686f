//! Data-query records: list, read, create, update, clone, delete, and the check of a query's
//! options against its datasource's type.
//!
//! A query is checked when it is saved, so a run never meets a malformed one: its fields against
//! the type's query schema (no unknown field, required ones present), its input definitions, and
//! every `{{inputs.x}}` template (only defined keys; in SQL, compiled once to prove no template
//! sits in a literal, a comment or an identifier). Creating or cloning a query needs `read` on
//! its datasource as well as `dataquery:create`; a query holds no secrets.

use chrono::{DateTime, Utc};
use db_entity::title::valid_title;
use db_entity::{data_queries, datasources, folders};
use rbac::tenant_lock::lock_writable_tenant;
use rbac::{Action, Grants, Permit, Resource, Subject, Target};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Error;
use crate::description::valid_description;
use crate::inputs::{self, InputDefinition};
use crate::sql::{self, Dialect};
use crate::template;
use crate::types::{DatasourceType, Family};

const FIELD: &str = "dataQueryOptions";
/// The folder type of data queries.
pub const FOLDER_ENTITY_TYPE: &str = "dataQuery";

/// A checked query: its options and input definitions.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedQuery {
    /// The options as saved.
    pub options: Map<String, Value>,
    /// The input definitions.
    pub inputs: Vec<InputDefinition>,
}

/// Checks `options` for a datasource of `datasource_type` (see the module documentation).
pub fn check_options(
    datasource_type: DatasourceType,
    options: &Value,
) -> Result<CheckedQuery, Error> {
    let Value::Object(map) = options else {
        return Err(Error::invalid(FIELD, "an object"));
    };
    let schema = datasource_type.query_schema();
    let known = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(unknown) = map.keys().find(|k| !known.contains_key(k.as_str())) {
        let names: Vec<_> = known.keys().map(String::as_str).collect();
        return Err(Error::invalid(
            format!(
                "{FIELD}.{}",
                unknown
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect::<String>()
            ),
            format!("unknown field; known: {}", names.join(", ")),
        ));
    }
    for required in schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if map.get(required).is_none_or(Value::is_null) {
            return Err(Error::invalid(format!("{FIELD}.{required}"), "required"));
        }
    }
    for (name, property) in &known {
        if let (Some(value), Some(allowed)) = (map.get(name), property["enum"].as_array())
            && !allowed.contains(value)
        {
            return Err(Error::invalid(
                format!("{FIELD}.{name}"),
                "not one of the allowed values",
            ));
        }
    }
    let definitions = inputs::parse_definitions(map.get("inputDefinitions"))?;
    let defined: Vec<&str> = definitions.iter().map(|d| d.key.as_str()).collect();
    for (name, value) in map
        .iter()
        .filter(|(name, _)| name.as_str() != "inputDefinitions")
    {
        check_templates(&format!("{FIELD}.{name}"), value, &defined)?;
    }
    let dialect = match datasource_type.family() {
        Family::Postgres => Some(Dialect::Postgres),
        Family::Mysql => Some(Dialect::Mysql),
        Family::Sqlite => Some(Dialect::Sqlite),
        _ => None,
    };
    if let Some(dialect) = dialect {
        let text = map
            .get("query")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid(format!("{FIELD}.query"), "the SQL text, a string"))?;
        sql::compile(dialect, text)?;
    }
    if datasource_type.family() == Family::Graphql {
        for name in ["query", "operationName"] {
            let text = map.get(name).and_then(Value::as_str).unwrap_or_default();
            if !template::keys(name, text)?.is_empty() {
                return Err(Error::invalid(
                    format!("{FIELD}.{name}"),
                    "values go in `variables`: write `$name` in the query and \
                     `{{inputs.x}}` in `variables`",
                ));
            }
        }
    }
    Ok(CheckedQuery {
        options: map.clone(),
        inputs: definitions,
    })
}

/// Every string inside `value` may hold templates of defined keys only.
fn check_templates(field: &str, value: &Value, defined: &[&str]) -> Result<(), Error> {
    match value {
        Value::String(text) => {
            for key in template::keys(field, text)? {
                if !defined.contains(&key) {
                    return Err(Error::invalid(
                        field,
                        format!(
                            "`{{{{inputs.{key}}}}}` names an input that inputDefinitions does not define"
                        ),
                    ));
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_templates(field, item, defined)),
        Value::Object(map) => map
            .values()
            .try_for_each(|item| check_templates(field, item, defined)),
        _ => Ok(()),
    }
}

/// A data query.
#[derive(Debug, Clone, PartialEq)]
pub struct DataQuery {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The datasource it runs against.
    pub datasource_id: Uuid,
    /// The folder it is filed in.
    pub folder_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The query.
    pub options: Value,
    /// Whether app pages run it when they load.
    pub run_on_load: bool,
    /// A disabled query does not run.
    pub is_disabled: bool,
    /// Who created it.
    pub creator: Option<Subject>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl DataQuery {
    fn from_row(row: data_queries::Model) -> Self {
        DataQuery {
            id: row.id,
            tenant_id: row.tenant_id,
            datasource_id: row.datasource_id,
            folder_id: row.folder_id,
            title: row.title,
            description: row.description,
            options: row.options,
            run_on_load: row.run_on_load,
            is_disabled: row.is_disabled,
            creator: Subject::from_creator_columns(row.creator_user_id, row.created_by_api_key_id),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// The query as a policy target (creator rights).
    pub fn target(&self) -> Target {
        Target {
            resource: Resource::DataQuery,
            id: self.id,
            creator: self.creator,
        }
    }
}

/// The tenant's queries by title; `search` (lower case) filters titles and descriptions,
/// `folder` keeps one folder's (`Some(None)`: the unfiled ones).
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    search: Option<&str>,
    folder: Option<Option<Uuid>>,
) -> Result<Vec<DataQuery>, Error> {
    let mut select =
        data_queries::Entity::find().filter(data_queries::Column::TenantId.eq(tenant_id));
    match folder {
        Some(Some(id)) => select = select.filter(data_queries::Column::FolderId.eq(id)),
        Some(None) => select = select.filter(data_queries::Column::FolderId.is_null()),
        None => {}
    }
    let rows = select
        .order_by_asc(data_queries::Column::Title)
        .order_by_asc(data_queries::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(DataQuery::from_row)
        .filter(|q| {
            search.is_none_or(|needle| {
                q.title.to_lowercase().contains(needle)
                    || q.description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(needle))
            })
        })
        .collect())
}

/// One query of the tenant.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<DataQuery, Error> {
    data_queries::Entity::find_by_id(id)
        .filter(data_queries::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .map(DataQuery::from_row)
        .ok_or(Error::NotFound)
}

/// The type of datasource `id` of the tenant, with its policy target; an unknown id (or
/// another tenant's) is an unknown reference in `datasourceID`.
async fn datasource_of(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(DatasourceType, Target), Error> {
    let row = datasources::Entity::find_by_id(id)
        .filter(datasources::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::UnknownReference {
            field: "datasourceID",
            message: "no such datasource in this tenant".into(),
        })?;
    let target = Target {
        resource: Resource::Datasource,
        id,
        creator: Subject::from_creator_columns(row.creator_user_id, row.created_by_api_key_id),
    };
    Ok((DatasourceType::parse(&row.datasource_type)?, target))
}

/// The datasource type of query `id`'s datasource, for checking an update or running it.
pub async fn datasource_type_of(
    db: &impl ConnectionTrait,
    query: &DataQuery,
) -> Result<DatasourceType, Error> {
    Ok(datasource_of(db, query.tenant_id, query.datasource_id)
        .await?
        .0)
}

async fn check_folder(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    folder: Option<Uuid>,
) -> Result<(), Error> {
    let Some(folder) = folder else {
        return Ok(());
    };
    match folders::files(db, tenant_id, folder, FOLDER_ENTITY_TYPE).await? {
        true => Ok(()),
        false => Err(Error::UnknownReference {
            field: "folderID",
            message: "no data-query folder with this id in this tenant".into(),
        }),
    }
}

/// What a create stores.
#[derive(Debug, Clone)]
pub struct NewDataQuery {
    /// The datasource (same tenant).
    pub datasource_id: Uuid,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The query options, checked against the datasource's type here.
    pub options: Value,
    /// Run when an app page loads.
    pub run_on_load: bool,
    /// The folder.
    pub folder_id: Option<Uuid>,
}

/// Creates a query: `dataquery:create`, and `read` on its datasource (`grants` decide, or
/// creator rights).
pub async fn create(
    db: &DatabaseConnection,
    permit: &Permit,
    grants: &Grants,
    new: NewDataQuery,
    now: DateTime<Utc>,
) -> Result<DataQuery, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::DataQuery, Action::Create)?;
    let title = valid_title("dataQueryTitle", &new.title)?;
    let description = valid_description("dataQueryDescription", new.description)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let (datasource_type, target) = datasource_of(&txn, tenant_id, new.datasource_id).await?;
    rbac::authorize_read(tenant_id, permit.subject(), grants, &target)?;
    let checked = check_options(datasource_type, &new.options)?;
    check_folder(&txn, tenant_id, new.folder_id).await?;
    let id = Uuid::now_v7();
    let (creator_user_id, created_by_api_key_id) = permit.subject().creator_columns();
    data_queries::Entity::insert(data_queries::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        datasource_id: Set(new.datasource_id),
        folder_id: Set(new.folder_id),
        title: Set(title),
        description: Set(description),
        options: Set(Value::Object(checked.options)),
        run_on_load: Set(new.run_on_load),
        is_disabled: Set(false),
        creator_user_id: Set(creator_user_id),
        created_by_api_key_id: Set(created_by_api_key_id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let query = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(query)
}

/// A change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DataQueryChange {
    /// New title.
    pub title: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New options, checked against the datasource's type.
    pub options: Option<Value>,
    /// Run on load.
    pub run_on_load: Option<bool>,
    /// Disabled.
    pub is_disabled: Option<bool>,
    /// New folder (`Some(None)`: unfiled).
    pub folder_id: Option<Option<Uuid>>,
}

/// Changes a query.
pub async fn update(
    db: &DatabaseConnection,
    permit: &Permit,
    id: Uuid,
    change: DataQueryChange,
    now: DateTime<Utc>,
) -> Result<DataQuery, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::DataQuery, Action::Update, id)?;
    let title = change
        .title
        .as_deref()
        .map(|t| valid_title("dataQueryTitle", t))
        .transpose()?;
    let description = change
        .description
        .map(|d| valid_description("dataQueryDescription", d))
        .transpose()?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let current = get(&txn, tenant_id, id).await?;
    let mut active = data_queries::ActiveModel {
        id: Set(id),
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(options) = change.options {
        let datasource_type = datasource_type_of(&txn, &current).await?;
        active.options = Set(Value::Object(
            check_options(datasource_type, &options)?.options,
        ));
    }
    if let Some(folder) = change.folder_id {
        check_folder(&txn, tenant_id, folder).await?;
        active.folder_id = Set(folder);
    }
    if let Some(title) = title {
        active.title = Set(title);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(flag) = change.run_on_load {
        active.run_on_load = Set(flag);
    }
    if let Some(flag) = change.is_disabled {
        active.is_disabled = Set(flag);
    }
    data_queries::Entity::update(active).exec(&txn).await?;
    let query = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(query)
}

/// Copies a query: `dataquery:create`, `read` on the source and on its datasource.
pub async fn clone_query(
    db: &DatabaseConnection,
    permit: &Permit,
    grants: &Grants,
    source_id: Uuid,
    now: DateTime<Utc>,
) -> Result<DataQuery, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::DataQuery, Action::Create)?;
    let source = get(db, tenant_id, source_id).await?;
    rbac::authorize_read(tenant_id, permit.subject(), grants, &source.target())?;
    let title = valid_title("dataQueryTitle", &format!("{} (copy)", source.title))
        .unwrap_or_else(|_| source.title.clone());
    let new = NewDataQuery {
        datasource_id: source.datasource_id,
        title,
        description: source.description,
        options: source.options,
        run_on_load: source.run_on_load,
        folder_id: source.folder_id,
    };
    create(db, permit, grants, new, now).await
}

/// Deletes a query.
pub async fn delete(db: &DatabaseConnection, permit: &Permit, id: Uuid) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::DataQuery, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    get(&txn, tenant_id, id).await?;
    data_queries::Entity::delete_many()
        .filter(data_queries::Column::TenantId.eq(tenant_id))
        .filter(data_queries::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sql_queries_are_checked_when_saved() {
        let pg = DatasourceType::Postgresql;
        let ok = check_options(pg, &json!({"query": "SELECT * FROM t WHERE id = {{inputs.id}}", "inputDefinitions": [{"key": "id", "type": "integer"}]})).unwrap();
        assert_eq!(ok.inputs.len(), 1);
        for (bad, needle) in [
            (
                json!({"query": "SELECT '{{inputs.id}}'", "inputDefinitions": [{"key": "id"}]}),
                "string literal",
            ),
            (
                json!({"query": "SELECT {{inputs.nope}}"}),
                "does not define",
            ),
            (json!({"query": "SELECT 1", "extra": 1}), "unknown field"),
            (json!({"inputDefinitions": []}), "required"),
            (
                json!({"query": "SELECT * FROM {{inputs.t}}", "inputDefinitions": [{"key": "t"}]}),
                "identifiers",
            ),
            (json!(["SELECT 1"]), "an object"),
        ] {
            let error = check_options(pg, &bad).unwrap_err().to_string();
            assert!(error.contains(needle), "{bad}: {error}");
        }
    }

    #[test]
    fn other_families_check_fields_enums_and_templates() {
        let rest = DatasourceType::Restapi;
        check_options(rest, &json!({"method": "GET", "path": "/users/{{inputs.id}}", "inputDefinitions": [{"key": "id"}]})).unwrap();
        assert!(check_options(rest, &json!({"method": "FETCH"})).is_err());
        assert!(
            check_options(
                rest,
                &json!({"method": "GET", "headers": [{"key": "X", "value": "{{process.env.X}}"}]})
            )
            .is_err()
        );
        let redis = DatasourceType::Redis;
        check_options(redis, &json!({"command": "GET", "args": ["{{inputs.k}}"], "inputDefinitions": [{"key": "k"}]})).unwrap();
        assert!(check_options(redis, &json!({"command": "FLUSHALL"})).is_err());
    }
}
