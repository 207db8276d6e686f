//! Running queries: a saved one (`POST …/queries/{id}/run`, a workflow node, a listener action)
//! or an unsaved one against a saved datasource (`POST …/queries/test`).
//!
//! Running a saved query needs `dataquery:execute` on it, or the right to run the workflow,
//! app page, listener or cron job it runs for (delegated execution: the caller passes that
//! origin, and must only pass one that really references the query). Rights on the datasource
//! are not needed: that is the point of a saved query. Testing an unsaved query needs
//! `dataquery:test` and `read` on the datasource. Each tenant runs at most
//! [`RunnerConfig::per_tenant`] queries at once in this process; more are refused with
//! [`Error::Busy`] rather than queued. Nothing caches results: every run reaches the datasource.
//!
//! Connection tests and schema reads go through here too, under the same cap: a test of options
//! a client sent builds a connector of its own (dropped after the test), a test of a saved
//! datasource uses its live one and records the outcome on the row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rbac::{Action, Grants, Permit, Resource, Subject, Target};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::Error;
use crate::connector::{self, ConnectorEnv, ConnectorRegistry, QueryOutput};
use crate::datasource::ConnectionStatus;
use crate::options::OpenOptions;
use crate::secrets::KeyRing;
use crate::{datasource, inputs, query};

/// The runner's settings.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Queries of one tenant running at once in this process.
    pub per_tenant: usize,
    /// Limits, network policy, SQLite directory.
    pub env: ConnectorEnv,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            per_tenant: 16,
            env: ConnectorEnv::default(),
        }
    }
}

/// Runs queries. One per process, shared.
#[derive(Debug)]
pub struct Runner {
    ring: Arc<KeyRing>,
    config: RunnerConfig,
    connectors: ConnectorRegistry,
    running: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
}

/// Who runs a query, and for what.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The acting subject.
    pub subject: Subject,
    /// What it holds in the tenant.
    pub grants: &'a Grants,
    /// The workflow, app page, listener or cron job the run is part of, if any.
    pub origin: Option<Target>,
}

impl Runner {
    /// A runner sealing and opening with `ring`.
    pub fn new(ring: Arc<KeyRing>, config: RunnerConfig) -> Self {
        Runner {
            ring,
            config,
            connectors: ConnectorRegistry::default(),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The live connectors (for a datasource change to drop its own).
    pub fn connectors(&self) -> &ConnectorRegistry {
        &self.connectors
    }

    fn slot(&self, tenant_id: Uuid) -> Result<OwnedSemaphorePermit, Error> {
        let semaphore = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                running
                    .entry(tenant_id)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.config.per_tenant.max(1)))),
            )
        };
        semaphore.try_acquire_owned().map_err(|_| Error::Busy)
    }

    /// Runs saved query `query_id` of `tenant_id` with `input_values`.
    pub async fn run_saved(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        caller: Caller<'_>,
        query_id: Uuid,
        input_values: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let saved = query::get(db, tenant_id, query_id).await?;
        rbac::authorize_execution(
            tenant_id,
            caller.subject,
            caller.grants,
            &saved.target(),
            caller.origin.as_ref(),
        )?;
        if saved.is_disabled {
            return Err(Error::invalid("dataQueryID", "the query is disabled"));
        }
        self.execute_saved(db, tenant_id, &saved, input_values)
            .await
    }

    /// Tests saved query `query_id` with `input_values`: `permit` is for `dataquery:test` on it.
    /// A disabled query runs too (testing it is how one decides to enable it again).
    pub async fn test_saved_query(
        &self,
        db: &impl ConnectionTrait,
        permit: &Permit,
        query_id: Uuid,
        input_values: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let tenant_id = permit.tenant_id();
        permit.require_on(tenant_id, Resource::DataQuery, Action::Test, query_id)?;
        let saved = query::get(db, tenant_id, query_id).await?;
        self.execute_saved(db, tenant_id, &saved, input_values)
            .await
    }

    /// Runs unsaved query `options` against saved datasource `datasource_id`: `permit` is for
    /// `dataquery:test`; `read` on the datasource is checked here. A missing datasource is
    /// [`Error::NotFound`] (the caller knows whether its id came from a path or a body).
    pub async fn run_unsaved(
        &self,
        db: &impl ConnectionTrait,
        permit: &Permit,
        grants: &Grants,
        datasource_id: Uuid,
        options: &Value,
        input_values: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let tenant_id = permit.tenant_id();
        permit.require(tenant_id, Resource::DataQuery, Action::Test)?;
        let (record, opened) = datasource::open(db, &self.ring, tenant_id, datasource_id).await?;
        rbac::authorize_read(tenant_id, permit.subject(), grants, &record.target())?;
        let checked = query::check_options(record.datasource_type, options)?;
        self.execute(tenant_id, datasource_id, &opened, &checked, input_values)
            .await
    }

    /// Tests options a client sent (not saved, or a saved datasource's with its masks restored
    /// by the caller) with a connector built for this test alone.
    pub async fn test_options(&self, tenant_id: Uuid, options: &OpenOptions) -> Result<(), Error> {
        let _slot = self.slot(tenant_id)?;
        connector::connect(options, &self.config.env)
            .await?
            .test()
            .await
    }

    /// Tests saved datasource `datasource_id` (the caller has checked access to it) and
    /// records the outcome on its row; the test's error, if it failed.
    pub async fn test_saved(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        datasource_id: Uuid,
    ) -> Result<(), Error> {
        let (_, opened) = datasource::open(db, &self.ring, tenant_id, datasource_id).await?;
        // Busy is not a failed connection: refused before anything is recorded.
        let slot = self.slot(tenant_id)?;
        let outcome = async {
            self.connectors
                .get(datasource_id, &opened, &self.config.env)
                .await?
                .test()
                .await
        }
        .await;
        drop(slot);
        let status = match &outcome {
            Ok(()) => ConnectionStatus::Ok,
            Err(_) => ConnectionStatus::Failed,
        };
        datasource::record_connection_status(db, tenant_id, datasource_id, status).await?;
        outcome
    }

    /// The schema (tables and columns) of saved datasource `datasource_id`, where its type has
    /// one (the caller has checked access to it).
    pub async fn introspect(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        datasource_id: Uuid,
    ) -> Result<Value, Error> {
        let (_, opened) = datasource::open(db, &self.ring, tenant_id, datasource_id).await?;
        let _slot = self.slot(tenant_id)?;
        self.connectors
            .get(datasource_id, &opened, &self.config.env)
            .await?
            .introspect()
            .await
    }

    /// Runs `saved`: its options were checked against the datasource's type when saved (which
    /// cannot change), so only its input definitions are read again.
    async fn execute_saved(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        saved: &query::DataQuery,
        input_values: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let (_, opened) = datasource::open(db, &self.ring, tenant_id, saved.datasource_id).await?;
        let Value::Object(options) = &saved.options else {
            return Err(Error::invalid("dataQueryOptions", "an object"));
        };
        let checked = query::CheckedQuery {
            inputs: inputs::parse_definitions(options.get("inputDefinitions"))?,
            options: options.clone(),
        };
        self.execute(
            tenant_id,
            saved.datasource_id,
            &opened,
            &checked,
            input_values,
        )
        .await
    }

    async fn execute(
        &self,
        tenant_id: Uuid,
        datasource_id: Uuid,
        opened: &OpenOptions,
        checked: &query::CheckedQuery,
        input_values: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let resolved = inputs::resolve(&checked.inputs, input_values)?;
        let _slot = self.slot(tenant_id)?;
        let connector = self
            .connectors
            .get(datasource_id, opened, &self.config.env)
            .await?;
        connector.run(&checked.options, &resolved).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Key;

    fn runner(per_tenant: usize) -> Runner {
        let ring = KeyRing::new(Key::from_bytes([1; 32]), vec![]).unwrap_or_else(|_| panic!());
        Runner::new(
            Arc::new(ring),
            RunnerConfig {
                per_tenant,
                ..RunnerConfig::default()
            },
        )
    }

    #[test]
    fn a_tenant_over_its_cap_is_told_busy_and_others_are_not() {
        let runner = runner(2);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let first = runner.slot(a);
        let second = runner.slot(a);
        assert!(first.is_ok() && second.is_ok());
        assert!(matches!(runner.slot(a), Err(Error::Busy)));
        assert!(runner.slot(b).is_ok(), "another tenant has its own slots");
        drop(first);
        assert!(runner.slot(a).is_ok(), "a finished run frees its slot");
    }
}
