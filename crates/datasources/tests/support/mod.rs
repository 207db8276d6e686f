//! What the tests share: running a query through a connector, the injection probes every SQL
//! connector must return as literal values, and tenants and permits on a platform database.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::Utc;
use datasources::Error;
use datasources::connector::{self, ConnectorEnv, QueryOutput};
use datasources::options::OpenOptions;
use rbac::{Action, Grants, Permission, Permit, Resource, Subject};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value, json};
use tenancy::tenants::{self, NewTenant};
use tenancy::users::{SignedInUser, sync_signed_in_user};
use uuid::Uuid;

/// A JSON object literal as a map.
pub fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

/// Runs `sql` with `inputs` on a fresh connector for `options`; the SQL result as JSON.
pub async fn run(
    options: &OpenOptions,
    env: &ConnectorEnv,
    sql: &str,
    inputs: Value,
) -> Result<Value, Error> {
    let connector = connector::connect(options, env).await?;
    match connector
        .run(&object(json!({"query": sql})), &object(inputs))
        .await?
    {
        QueryOutput::Sql(result) => Ok(result.to_json()),
        QueryOutput::Document(other) => panic!("rows expected, got {other}"),
    }
}

/// Values that would change data if they were ever statement text: quotes, comments,
/// placeholders, Unicode quotes, and a 1 MB string.
pub fn injection_probes() -> Vec<String> {
    vec![
        "'; DROP TABLE t; --".to_string(),
        "1 OR 1=1".into(),
        "\\'; DROP TABLE t; #".into(),
        "$1".into(),
        "?".into(),
        "\u{2019}; DROP TABLE t; \u{2018}".into(),
        "x".repeat(1 << 20),
    ]
}

/// Inserts every probe into `t (name)` with `INSERT … RETURNING` and checks each comes back as
/// the literal value; the probes inserted.
pub async fn insert_probes(options: &OpenOptions, env: &ConnectorEnv) -> Vec<String> {
    let probes = injection_probes();
    for probe in &probes {
        let out = run(
            options,
            env,
            "INSERT INTO t (name) VALUES ({{inputs.v}}) RETURNING name",
            json!({"v": probe}),
        )
        .await
        .unwrap();
        assert_eq!(out["rows"][0]["name"], probe.as_str());
    }
    probes
}

/// A new tenant, created by a new user signed in as `subject`.
pub async fn tenant(db: &DatabaseConnection, subject: &str) -> Uuid {
    let user = sync_signed_in_user(
        db,
        &SignedInUser {
            subject: subject.into(),
            email: Some(format!("{subject}@example.com")),
            email_verified: true,
            name: None,
            picture: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let new = NewTenant {
        title: "T".into(),
        logo_url: None,
    };
    tenants::create(db, user.id, new, Utc::now())
        .await
        .unwrap()
        .tenant
        .id
}

/// A permit of the platform itself for `resource:action` in `tenant_id`.
pub fn system_permit(tenant_id: Uuid, resource: Resource, action: Action) -> Permit {
    rbac::authorize(
        tenant_id,
        Subject::System,
        &Grants::new(),
        Permission { resource, action },
        None,
    )
    .unwrap()
}
