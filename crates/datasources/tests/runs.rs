//! Running saved and unsaved queries through the runner, on a real platform database (SQLite and
//! PostgreSQL) against a SQLite datasource file: delegated execution, the disabled
//! flag, and the live connector rebuilt when the datasource's options change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use chrono::Utc;
use datasources::Error;
use datasources::connector::{ConnectorEnv, QueryOutput};
use datasources::datasource::{self, ConnectionStatus, DatasourceChange, NewDatasource};
use datasources::options;
use datasources::query::{self, NewDataQuery};
use datasources::run::{Caller, Runner, RunnerConfig};
use datasources::secrets::{Key, KeyRing};
use datasources::types::DatasourceType;
use rbac::{Action, Grants, Permission, Resource, Subject, Target};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value, json};
use support::{object, system_permit, tenant};
use test_support::{Backend, TestDatabase, db_test};
use uuid::Uuid;

struct Fixture {
    _guard: TestDatabase,
    _files: tempfile::TempDir,
    db: DatabaseConnection,
    runner: Runner,
    ring: Arc<KeyRing>,
    tenant: Uuid,
    datasource: Uuid,
    query: Uuid,
}

/// A SQLite file holding `t (n)` with one row, `value`.
async fn sqlite_file(dir: &std::path::Path, name: &str, value: i64) {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(name))
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE t (n INTEGER); INSERT INTO t VALUES ({value});"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let (guard, db) = test_support::migrated(backend).await?;
    rbac::store::sync_catalog(&db).await.unwrap();
    let files = tempfile::tempdir().unwrap();
    sqlite_file(files.path(), "one.db", 1).await;
    sqlite_file(files.path(), "two.db", 2).await;
    let ring = Arc::new(KeyRing::new(Key::from_bytes([7; 32]), vec![]).unwrap());
    let env = ConnectorEnv {
        sqlite_dir: files.path().to_path_buf(),
        ..ConnectorEnv::default()
    };
    let runner = Runner::new(Arc::clone(&ring), RunnerConfig { per_tenant: 4, env });
    let tenant_id = tenant(&db, "owner").await;
    let created = datasource::create(
        &db,
        &ring,
        &system_permit(tenant_id, Resource::Datasource, Action::Create),
        NewDatasource {
            title: "Local".into(),
            description: None,
            options: options::prepare(DatasourceType::Sqlite, &json!({"path": "one.db"}), None)
                .unwrap(),
            tags: vec![],
            connection_status: ConnectionStatus::Unknown,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let saved = query::create(
        &db,
        &system_permit(tenant_id, Resource::DataQuery, Action::Create),
        &Grants::new(),
        NewDataQuery {
            datasource_id: created.id,
            title: "Plus".into(),
            description: None,
            options: json!({
                "query": "SELECT n + {{inputs.add}} AS total FROM t",
                "inputDefinitions": [{"key": "add", "type": "integer", "required": true}]
            }),
            run_on_load: false,
            folder_id: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    Some(Fixture {
        _guard: guard,
        _files: files,
        db,
        runner,
        ring,
        tenant: tenant_id,
        datasource: created.id,
        query: saved.id,
    })
}

fn total(output: QueryOutput) -> Value {
    match output {
        QueryOutput::Sql(result) => result.to_json()["rows"][0]["total"].clone(),
        QueryOutput::Document(other) => panic!("rows expected, got {other}"),
    }
}

fn add(n: i64) -> Map<String, Value> {
    object(json!({"add": n}))
}

async fn saved_queries_need_execute_or_a_delegating_origin(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let user = Subject::User(Uuid::now_v7());
    let nothing = Grants::new();
    let caller = |grants, origin| Caller {
        subject: user,
        grants,
        origin,
    };

    let denied = f
        .runner
        .run_saved(&f.db, f.tenant, caller(&nothing, None), f.query, &add(1))
        .await
        .unwrap_err();
    assert!(matches!(denied, Error::Denied(_)), "{denied:?}");

    let mut on_the_query = Grants::new();
    on_the_query.grant_asset(Resource::DataQuery, f.query, Action::Execute);
    let ran = f
        .runner
        .run_saved(
            &f.db,
            f.tenant,
            caller(&on_the_query, None),
            f.query,
            &add(41),
        )
        .await
        .unwrap();
    assert_eq!(
        total(ran),
        json!(42),
        "no right on the datasource is needed"
    );

    let workflow = Target {
        resource: Resource::Workflow,
        id: Uuid::now_v7(),
        creator: None,
    };
    let mut runs_the_workflow = Grants::new();
    runs_the_workflow.grant_asset(Resource::Workflow, workflow.id, Action::Execute);
    let delegated = f
        .runner
        .run_saved(
            &f.db,
            f.tenant,
            caller(&runs_the_workflow, Some(workflow)),
            f.query,
            &add(2),
        )
        .await
        .unwrap();
    assert_eq!(total(delegated), json!(3));

    let other_tenant = tenant(&f.db, "stranger").await;
    let hidden = f
        .runner
        .run_saved(
            &f.db,
            other_tenant,
            caller(&on_the_query, None),
            f.query,
            &add(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(hidden, Error::NotFound), "{hidden:?}");

    let missing_input = f
        .runner
        .run_saved(
            &f.db,
            f.tenant,
            caller(&on_the_query, None),
            f.query,
            &Map::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(missing_input, Error::Invalid { .. }),
        "{missing_input:?}"
    );
}
db_test!(saved_queries_need_execute_or_a_delegating_origin);

async fn unsaved_queries_need_test_and_read_on_the_datasource(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let options = json!({"query": "SELECT n * 10 AS total FROM t"});
    let user = Subject::User(Uuid::now_v7());
    let tester = rbac::authorize(
        f.tenant,
        user,
        &{
            let mut g = Grants::new();
            g.grant(Permission {
                resource: Resource::DataQuery,
                action: Action::Test,
            });
            g
        },
        Permission {
            resource: Resource::DataQuery,
            action: Action::Test,
        },
        None,
    )
    .unwrap();
    let mut test_only = Grants::new();
    test_only.grant(tester.permission());
    let refused = f
        .runner
        .run_unsaved(
            &f.db,
            &tester,
            &test_only,
            f.datasource,
            &options,
            &Map::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Denied(_)), "{refused:?}");

    let mut with_read = test_only.clone();
    with_read.grant_asset(Resource::Datasource, f.datasource, Action::Read);
    let ran = f
        .runner
        .run_unsaved(
            &f.db,
            &tester,
            &with_read,
            f.datasource,
            &options,
            &Map::new(),
        )
        .await
        .unwrap();
    assert_eq!(total(ran), json!(10));

    let unknown = f
        .runner
        .run_unsaved(
            &f.db,
            &tester,
            &with_read,
            Uuid::now_v7(),
            &options,
            &Map::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::NotFound), "{unknown:?}");
}
db_test!(unsaved_queries_need_test_and_read_on_the_datasource);

async fn disabled_queries_do_not_run_and_changed_options_rebuild(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let caller = Caller {
        subject: Subject::System,
        grants: &Grants::new(),
        origin: None,
    };
    let first = f
        .runner
        .run_saved(&f.db, f.tenant, caller, f.query, &add(0))
        .await
        .unwrap();
    assert_eq!(total(first), json!(1));
    assert_eq!(f.runner.connectors().len(), 1);

    datasource::update(
        &f.db,
        &f.ring,
        &system_permit(f.tenant, Resource::Datasource, Action::Update),
        f.datasource,
        DatasourceChange {
            options: Some(
                options::prepare(DatasourceType::Sqlite, &json!({"path": "two.db"}), None).unwrap(),
            ),
            ..DatasourceChange::default()
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let after = f
        .runner
        .run_saved(&f.db, f.tenant, caller, f.query, &add(0))
        .await
        .unwrap();
    assert_eq!(
        total(after),
        json!(2),
        "the new file is read, not the pooled old one"
    );
    assert_eq!(
        f.runner.connectors().len(),
        1,
        "the stale connector was replaced"
    );

    query::update(
        &f.db,
        &system_permit(f.tenant, Resource::DataQuery, Action::Update),
        f.query,
        query::DataQueryChange {
            is_disabled: Some(true),
            ..query::DataQueryChange::default()
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let disabled = f
        .runner
        .run_saved(&f.db, f.tenant, caller, f.query, &add(0))
        .await
        .unwrap_err();
    assert!(matches!(disabled, Error::Invalid { .. }), "{disabled:?}");
}
db_test!(disabled_queries_do_not_run_and_changed_options_rebuild);
