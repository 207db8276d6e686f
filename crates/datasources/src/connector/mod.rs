//! Connectors: one module per family behind one trait.
//!
//! A [`Connector`] is built from a datasource's opened options and the operator's
//! [`ConnectorEnv`] (limits, network policy, SQLite directory). It tests the connection, runs a
//! query with bound inputs, and introspects the schema where the family has one. Every error
//! it returns has passed through the datasource's [`Scrubber`](crate::scrub::Scrubber).

mod amqp;
mod bind;
mod graphql;
mod http;
mod limits;
mod mqtt;
mod mysql;
mod nats;
mod pg_numeric;
mod postgres;
mod publish;
mod redis;
mod registry;
mod rest;
mod sql_result;
mod sql_run;
mod sqlite;

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use limits::{ConnectorEnv, RunLimits};
pub use registry::ConnectorRegistry;
pub use sql_result::{Column, SqlResult};
pub use sqlite::resolve_file as resolve_sqlite_file;

use crate::Error;
use crate::options::OpenOptions;
use crate::types::Family;

/// What a connector can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `introspect` answers.
    pub introspect: bool,
    /// Queries return rows (SQL) rather than a document or an acknowledgement.
    pub rows: bool,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutput {
    /// SQL rows.
    Sql(SqlResult),
    /// A JSON document (REST, GraphQL, Redis replies, publish acknowledgements).
    Document(Value),
}

impl QueryOutput {
    /// As the API shows it.
    pub fn to_json(&self) -> Value {
        match self {
            QueryOutput::Sql(result) => result.to_json(),
            QueryOutput::Document(value) => value.clone(),
        }
    }
}

/// A live connection (or pool) to one datasource.
#[async_trait]
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// Connects and runs the cheapest round trip.
    async fn test(&self) -> Result<(), Error>;

    /// Runs `query` (the data query's options) with `inputs` (resolved, coerced).
    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error>;

    /// The schema (tables and columns), where the family has one.
    async fn introspect(&self) -> Result<Value, Error> {
        Err(Error::Unsupported(
            "this datasource type has no schema to read".into(),
        ))
    }

    /// What it can do.
    fn capabilities(&self) -> Capabilities;
}

/// Builds the connector for `options`. Connecting is lazy: the first test or run connects.
pub async fn connect(
    options: &OpenOptions,
    env: &ConnectorEnv,
) -> Result<Box<dyn Connector>, Error> {
    match options.datasource_type.family() {
        Family::Postgres => Ok(Box::new(postgres::Postgres::new(options, env).await?)),
        Family::Mysql => Ok(Box::new(mysql::Mysql::new(options, env).await?)),
        Family::Sqlite => Ok(Box::new(sqlite::Sqlite::new(options, env)?)),
        Family::Rest => Ok(Box::new(rest::Rest::new(options, env)?)),
        Family::Graphql => Ok(Box::new(graphql::Graphql::new(options, env)?)),
        Family::Redis => Ok(Box::new(redis::Redis::new(options, env).await?)),
        Family::Amqp => Ok(Box::new(amqp::Amqp::new(options, env).await?)),
        Family::Mqtt => Ok(Box::new(mqtt::Mqtt::new(options, env).await?)),
        Family::Nats => Ok(Box::new(nats::Nats::new(options, env).await?)),
    }
}

/// The query text of a SQL query's options.
pub(crate) fn sql_text(query: &Map<String, Value>) -> Result<&str, Error> {
    query
        .get("query")
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| Error::invalid("dataQueryOptions.query", "the SQL text is required"))
}
