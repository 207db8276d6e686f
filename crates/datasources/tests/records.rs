//! Datasource records on a real database: masking, sealing per row, tenant scope, deletion
//! with queries, and key rotation (including a rotation stopped half-way).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Utc;
use datasources::Error;
use datasources::datasource::{self, ConnectionStatus, DatasourceChange, NewDatasource};
use datasources::options::{self, MASK};
use datasources::secrets::{Key, KeyRing};
use datasources::types::DatasourceType;
use datasources::{query, rotation};
use db_entity::{data_queries, datasources as rows};
use rbac::{Action, Grants, Permission, Permit, Resource, Subject};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use support::{system_permit, tenant};
use test_support::{Backend, TestDatabase, db_test};
use uuid::Uuid;

const CANARY: &str = "canary-Pa55-word";
const T: DatasourceType = DatasourceType::Postgresql;

fn ring(byte: u8, previous: &[u8]) -> KeyRing {
    KeyRing::new(
        Key::from_bytes([byte; 32]),
        previous.iter().map(|b| Key::from_bytes([*b; 32])).collect(),
    )
    .unwrap()
}

async fn fresh(backend: Backend) -> Option<(TestDatabase, DatabaseConnection)> {
    let (test_db, db) = test_support::migrated(backend).await?;
    rbac::store::sync_catalog(&db).await.unwrap();
    Some((test_db, db))
}

fn permit(tenant_id: Uuid, action: Action) -> Permit {
    let permission = Permission {
        resource: Resource::Datasource,
        action,
    };
    rbac::authorize(tenant_id, Subject::System, &Grants::new(), permission, None).unwrap()
}

fn new_postgres(password: &str) -> NewDatasource {
    let sent = json!({"host": "db.internal", "port": 5432, "user": "app", "password": password});
    NewDatasource {
        title: "Orders".into(),
        description: None,
        options: options::prepare(T, &sent, None).unwrap(),
        tags: vec!["prod".into()],
        connection_status: ConnectionStatus::Unknown,
    }
}

async fn stored_row(db: &DatabaseConnection, id: Uuid) -> rows::Model {
    rows::Entity::find_by_id(id).one(db).await.unwrap().unwrap()
}

async fn secrets_are_sealed_masked_and_scoped(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let (a, b) = (tenant(&db, "a").await, tenant(&db, "b").await);
    let keys = ring(1, &[]);
    let created = datasource::create(
        &db,
        &keys,
        &permit(a, Action::Create),
        new_postgres(CANARY),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(created.options["password"], MASK);
    assert_eq!(created.options["host"], "db.internal");

    let row = stored_row(&db, created.id).await;
    let stored = serde_json::to_string(&(&row.options, &row.secrets)).unwrap();
    assert!(
        !stored.contains(CANARY),
        "the secret is sealed at rest: {stored}"
    );
    assert_eq!(
        row.secrets_key_id.as_deref(),
        Some(keys.active().id().0.as_str())
    );

    let listed = datasource::list(&db, a, None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!format!("{listed:?}").contains(CANARY));
    assert_eq!(
        datasource::list(&db, a, Some("prod")).await.unwrap().len(),
        1
    );
    assert!(
        datasource::list(&db, a, Some("nothing"))
            .await
            .unwrap()
            .is_empty()
    );

    // Another tenant sees nothing, whatever it asks.
    assert!(datasource::list(&db, b, None).await.unwrap().is_empty());
    assert!(matches!(
        datasource::get(&db, b, created.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        datasource::open(&db, &keys, b, created.id).await,
        Err(Error::NotFound)
    ));

    // An update sending the mask keeps the stored secret; the rest changes.
    let (_, stored_options) = datasource::open(&db, &keys, a, created.id).await.unwrap();
    assert_eq!(stored_options.text("password"), Some(CANARY));
    let sent = json!({"host": "db2.internal", "password": MASK});
    let change = DatasourceChange {
        options: Some(options::prepare(T, &sent, Some(&stored_options)).unwrap()),
        title: Some("  Orders v2 ".into()),
        ..Default::default()
    };
    let updated = datasource::update(
        &db,
        &keys,
        &permit(a, Action::Update),
        created.id,
        change,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(updated.title, "Orders v2");
    assert_eq!(
        updated.options,
        json!({"host": "db2.internal", "password": MASK})
    );
    let (_, reopened) = datasource::open(&db, &keys, a, created.id).await.unwrap();
    assert_eq!(reopened.text("password"), Some(CANARY));

    // A permit for tenant A cannot change anything of tenant B's, nor another object.
    let stray = DatasourceChange {
        title: Some("x".into()),
        ..Default::default()
    };
    let denied = datasource::update(
        &db,
        &keys,
        &permit(b, Action::Update),
        created.id,
        stray,
        Utc::now(),
    )
    .await;
    assert!(matches!(denied, Err(Error::NotFound)), "{denied:?}");
}
db_test!(secrets_are_sealed_masked_and_scoped);

async fn a_clone_is_sealed_for_its_own_row(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let a = tenant(&db, "a").await;
    let keys = ring(1, &[]);
    let source = datasource::create(
        &db,
        &keys,
        &permit(a, Action::Create),
        new_postgres(CANARY),
        Utc::now(),
    )
    .await
    .unwrap();
    let copy = datasource::clone_datasource(
        &db,
        &keys,
        &permit(a, Action::Create),
        &Grants::new(),
        source.id,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(copy.title, "Orders (copy)");
    let (_, opened) = datasource::open(&db, &keys, a, copy.id).await.unwrap();
    assert_eq!(opened.text("password"), Some(CANARY));
    assert_ne!(
        stored_row(&db, copy.id).await.secrets,
        stored_row(&db, source.id).await.secrets
    );

    // A ciphertext copied into another row does not open there, and the error names the row.
    let source_row = stored_row(&db, source.id).await;
    rows::Entity::update(rows::ActiveModel {
        id: Set(copy.id),
        secrets: Set(source_row.secrets),
        ..Default::default()
    })
    .exec(&db)
    .await
    .unwrap();
    let error = datasource::open(&db, &keys, a, copy.id).await.unwrap_err();
    assert!(matches!(&error, Error::Unopenable { datasource_id, .. } if *datasource_id == copy.id));
    assert!(!error.to_string().contains(CANARY));
}
db_test!(a_clone_is_sealed_for_its_own_row);

async fn insert_query(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    datasource_id: Uuid,
    title: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    let now = Utc::now();
    data_queries::Entity::insert(data_queries::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        datasource_id: Set(datasource_id),
        folder_id: Set(None),
        title: Set(title.into()),
        description: Set(None),
        options: Set(json!({"query": "SELECT 1"})),
        run_on_load: Set(false),
        is_disabled: Set(false),
        creator_user_id: Set(None),
        created_by_api_key_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    id
}

async fn deleting_a_used_datasource_needs_force(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let a = tenant(&db, "a").await;
    let keys = ring(1, &[]);
    let used = datasource::create(
        &db,
        &keys,
        &permit(a, Action::Create),
        new_postgres("pw"),
        Utc::now(),
    )
    .await
    .unwrap();
    let query = insert_query(&db, a, used.id, "Recent orders").await;
    let refused = datasource::delete(&db, &permit(a, Action::Delete), used.id, false).await;
    match refused {
        Err(Error::InUse { queries }) => {
            assert_eq!(queries, vec![(query, "Recent orders".to_string())])
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    datasource::delete(&db, &permit(a, Action::Delete), used.id, true)
        .await
        .unwrap();
    assert!(matches!(
        datasource::get(&db, a, used.id).await,
        Err(Error::NotFound)
    ));
    assert!(
        data_queries::Entity::find_by_id(query)
            .one(&db)
            .await
            .unwrap()
            .is_none()
    );
}
db_test!(deleting_a_used_datasource_needs_force);

async fn rotation_reseals_every_row_and_resumes(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let a = tenant(&db, "a").await;
    let old = ring(1, &[]);
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = datasource::create(
            &db,
            &old,
            &permit(a, Action::Create),
            new_postgres(&format!("pw-{n}")),
            Utc::now(),
        )
        .await
        .unwrap();
        ids.push(created.id);
    }
    // One row without secrets: nothing to rotate there.
    let plain = NewDatasource {
        options: options::prepare(T, &json!({"host": "h"}), None).unwrap(),
        ..new_postgres("unused")
    };
    datasource::create(&db, &old, &permit(a, Action::Create), plain, Utc::now())
        .await
        .unwrap();

    let rotated = ring(2, &[1]);
    // Stopped after one batch of two, as if killed: it says more remain.
    let first = rotation::rotate(&db, &rotated, 2, Some(1)).await.unwrap();
    assert_eq!((first.rotated, first.more), (2, true));
    // Run again: it resumes and finishes; a third run finds nothing.
    let rest = rotation::rotate(&db, &rotated, 2, None).await.unwrap();
    assert_eq!((rest.rotated, rest.more, rest.failed.len()), (3, false, 0));
    assert_eq!(
        rotation::rotate(&db, &rotated, 2, None)
            .await
            .unwrap()
            .rotated,
        0
    );

    // Every row now opens with the new key alone.
    let new_only = ring(2, &[]);
    for (n, id) in ids.iter().enumerate() {
        let (_, opened) = datasource::open(&db, &new_only, a, *id).await.unwrap();
        assert_eq!(opened.text("password"), Some(format!("pw-{n}").as_str()));
    }
    assert!(datasource::open(&db, &old, a, ids[0]).await.is_err());
}
db_test!(rotation_reseals_every_row_and_resumes);

async fn rotation_reports_rows_it_cannot_open(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let a = tenant(&db, "a").await;
    let forgotten = ring(7, &[]);
    let lost = datasource::create(
        &db,
        &forgotten,
        &permit(a, Action::Create),
        new_postgres("pw"),
        Utc::now(),
    )
    .await
    .unwrap();
    let kept = datasource::create(
        &db,
        &ring(1, &[]),
        &permit(a, Action::Create),
        new_postgres("pw"),
        Utc::now(),
    )
    .await
    .unwrap();
    let report = rotation::rotate(&db, &ring(2, &[1]), 10, None)
        .await
        .unwrap();
    assert_eq!(report.rotated, 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, lost.id);
    assert!(report.failed[0].1.contains(&lost.id.to_string()));
    let (_, opened) = datasource::open(&db, &ring(2, &[]), a, kept.id)
        .await
        .unwrap();
    assert_eq!(opened.values.get("password"), Some(&Value::from("pw")));
}
db_test!(rotation_reports_rows_it_cannot_open);

async fn data_queries_are_checked_scoped_and_filed(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let (a, b) = (tenant(&db, "a").await, tenant(&db, "b").await);
    let keys = ring(1, &[]);
    let ds = datasource::create(
        &db,
        &keys,
        &permit(a, Action::Create),
        new_postgres("pw"),
        Utc::now(),
    )
    .await
    .unwrap();
    let other_ds = datasource::create(
        &db,
        &keys,
        &permit(b, Action::Create),
        new_postgres("pw"),
        Utc::now(),
    )
    .await
    .unwrap();
    let folder = tenancy::folders::create(
        &db,
        &system_permit(a, Resource::Folder, Action::Create),
        tenancy::folders::NewFolder {
            entity_type: tenancy::folders::EntityType::DataQuery,
            title: "Reports".into(),
            parent_id: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let create = system_permit(a, Resource::DataQuery, Action::Create);
    let new = |datasource_id, folder_id| query::NewDataQuery {
        datasource_id,
        title: "Recent orders".into(),
        description: None,
        options: json!({"query": "SELECT * FROM orders WHERE id > {{inputs.after}}", "inputDefinitions": [{"key": "after", "type": "integer", "default": 0}]}),
        run_on_load: false,
        folder_id,
    };
    let created = query::create(
        &db,
        &create,
        &Grants::new(),
        new(ds.id, Some(folder.id)),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(created.folder_id, Some(folder.id));

    // Another tenant's datasource or folder is an unknown reference; a bad query is refused.
    let foreign = query::create(
        &db,
        &create,
        &Grants::new(),
        new(other_ds.id, None),
        Utc::now(),
    )
    .await;
    assert!(
        matches!(
            foreign,
            Err(Error::UnknownReference {
                field: "datasourceID",
                ..
            })
        ),
        "{foreign:?}"
    );
    let no_folder = query::create(
        &db,
        &create,
        &Grants::new(),
        new(ds.id, Some(Uuid::now_v7())),
        Utc::now(),
    )
    .await;
    assert!(
        matches!(
            no_folder,
            Err(Error::UnknownReference {
                field: "folderID",
                ..
            })
        ),
        "{no_folder:?}"
    );
    let mut literal = new(ds.id, None);
    literal.options =
        json!({"query": "SELECT '{{inputs.after}}'", "inputDefinitions": [{"key": "after"}]});
    assert!(matches!(
        query::create(&db, &create, &Grants::new(), literal, Utc::now()).await,
        Err(Error::Invalid { .. })
    ));

    // A user who may create queries but not read the datasource is refused.
    let user = Subject::User(Uuid::now_v7());
    let mut grants = Grants::new();
    grants.grant(Permission {
        resource: Resource::DataQuery,
        action: Action::Create,
    });
    let user_permit = rbac::authorize(
        a,
        user,
        &grants,
        Permission {
            resource: Resource::DataQuery,
            action: Action::Create,
        },
        None,
    )
    .unwrap();
    let denied = query::create(&db, &user_permit, &grants, new(ds.id, None), Utc::now()).await;
    assert!(matches!(denied, Err(Error::Denied(_))), "{denied:?}");

    assert_eq!(
        query::list(&db, a, Some("recent"), Some(Some(folder.id)))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        query::list(&db, a, None, Some(None))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(query::list(&db, b, None, None).await.unwrap().is_empty());
    assert!(matches!(
        query::get(&db, b, created.id).await,
        Err(Error::NotFound)
    ));

    let change = query::DataQueryChange {
        options: Some(json!({"query": "SELECT 1"})),
        folder_id: Some(None),
        is_disabled: Some(true),
        ..Default::default()
    };
    let updated = query::update(
        &db,
        &system_permit(a, Resource::DataQuery, Action::Update),
        created.id,
        change,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!((updated.folder_id, updated.is_disabled), (None, true));
    let copy = query::clone_query(&db, &create, &Grants::new(), created.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(copy.title, "Recent orders (copy)");
    query::delete(
        &db,
        &system_permit(a, Resource::DataQuery, Action::Delete),
        created.id,
    )
    .await
    .unwrap();
    assert_eq!(query::list(&db, a, None, None).await.unwrap().len(), 1);
    let stray = query::delete(
        &db,
        &system_permit(b, Resource::DataQuery, Action::Delete),
        copy.id,
    )
    .await;
    assert!(matches!(stray, Err(Error::NotFound)));
}
db_test!(data_queries_are_checked_scoped_and_filed);
