//! Rooms a realtime client may subscribe to, and who may: each is authorized like the HTTP read
//! it mirrors, through the same check every tenant route makes ([`admit`]).
//!
//! | room | carries | needs (like) |
//! |---|---|---|
//! | `run:{instanceID}` | every event of the run, replayed after `afterSeq` | `workflow:read` on its workflow (`GET …/instances/{id}`) |
//! | `workflow:{workflowID}` | every event of its runs, live | `workflow:read` on it (`GET …/workflows/{id}`) |
//! | `tenant:{tenantID}` | the status events of every run, live | `workflow:list` and type-wide `workflow:read` (the unfiltered run list) |
//!
//! A room naming an object of a tenant where the principal holds nothing is "not found", the
//! same answer as an object that does not exist.

use std::fmt;

use rbac::{Action, Resource};
use uuid::Uuid;
use workflow_engine::RunId;

use crate::http::access::TenantRule;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::tenant_member::admit;
use crate::realtime::hub::FeedScope;
use crate::state::AppState;

/// A room, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Room {
    /// One run.
    Run(RunId),
    /// Every run of a workflow.
    Workflow(Uuid),
    /// The status feed of a tenant's runs.
    Tenant(Uuid),
}

impl Room {
    /// Parses `run:{uuid}`, `workflow:{uuid}` or `tenant:{uuid}`.
    pub fn parse(raw: &str) -> Result<Room, ApiError> {
        let invalid = || {
            ApiError::new(
                ErrorCode::ValidationError,
                "room: expected run:{instanceID}, workflow:{workflowID} or tenant:{tenantID}",
            )
            .with_detail("field", "room")
        };
        let (kind, id) = raw.split_once(':').ok_or_else(invalid)?;
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        match kind {
            "run" => Ok(Room::Run(RunId(id))),
            "workflow" => Ok(Room::Workflow(id)),
            "tenant" => Ok(Room::Tenant(id)),
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Room::Run(run) => write!(f, "run:{}", run.0),
            Room::Workflow(id) => write!(f, "workflow:{id}"),
            Room::Tenant(id) => write!(f, "tenant:{id}"),
        }
    }
}

/// What an authorized subscription follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A run's log.
    Run(RunId),
    /// A live feed.
    Feed(FeedScope),
}

/// Checks that `principal` may listen to `room`, and says what to follow.
pub async fn authorize(
    state: &AppState,
    principal: &Principal,
    room: Room,
) -> Result<Source, ApiError> {
    let reads = |action| TenantRule::reads(Resource::Workflow, action);
    match room {
        Room::Run(run) => {
            let origin = workflow_store::run_origin(&state.db, run)
                .await
                .map_err(|e| ApiError::internal(&e))?
                .ok_or_else(ApiError::not_found)?;
            let tenant_id =
                Uuid::parse_str(&origin.namespace).map_err(|_| ApiError::not_found())?;
            let rule = reads(Action::Read).on_run("instanceID");
            admit(state, principal.clone(), tenant_id, rule, Some(run.0)).await?;
            Ok(Source::Run(run))
        }
        Room::Workflow(id) => {
            let tenant_id = workflows::definitions::tenant_of(&state.db, id)
                .await
                .map_err(ApiError::from)?;
            let rule = reads(Action::Read).on_object("workflowID");
            admit(state, principal.clone(), tenant_id, rule, Some(id)).await?;
            Ok(Source::Feed(FeedScope::Workflow {
                namespace: tenant_id.to_string(),
                workflow_id: id.to_string(),
            }))
        }
        Room::Tenant(tenant_id) => {
            for action in [Action::List, Action::Read] {
                admit(state, principal.clone(), tenant_id, reads(action), None).await?;
            }
            Ok(Source::Feed(FeedScope::Statuses {
                namespace: tenant_id.to_string(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_parse_and_print_back() {
        let id = Uuid::now_v7();
        for raw in [
            format!("run:{id}"),
            format!("workflow:{id}"),
            format!("tenant:{id}"),
        ] {
            let room = Room::parse(&raw).map(|r| r.to_string()).ok();
            assert_eq!(room.as_deref(), Some(raw.as_str()));
        }
        for bad in [
            "",
            "run",
            "run:",
            "run:x",
            "widget:{id}",
            &format!("other:{id}"),
        ] {
            assert!(Room::parse(bad).is_err(), "{bad}");
        }
    }
}
