//! The policy check, and the [`Permit`] that proves it passed.
//!
//! Decisions are pure: the caller loads what a subject holds in a tenant ([`Grants`], the union
//! of its roles) and asks. Rules, in order:
//! 1. the **system** (cron and listener runs) may do anything within its tenant;
//! 2. a type-wide grant (`workflow:execute`) allows the action on every object of the type;
//! 3. an asset grant (`workflow:<id>:execute`) allows it on that one object;
//! 4. an object's **creator** has every right on it.
//!
//! **Delegated execution** ([`authorize_execution`]): running a workflow may run the data queries
//! its nodes reference. The caller needs `execute` on the target, or the right to run the
//! originating resource (workflow, app page, listener, cron job) that references it.
//!
//! A [`Permit`] can only be made here. Mutating domain functions take one and check that it
//! covers what they are about to do ([`Permit::covers`]), so a route that forgot its check does
//! not compile, and one that checked the wrong thing fails loudly.

use std::collections::HashSet;

use uuid::Uuid;

use crate::catalog::{Action, Permission, Resource};

/// Who is acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A signed-in user.
    User(Uuid),
    /// An API key, acting with its own roles.
    ApiKey(Uuid),
    /// The platform itself (cron and listener runs), within one tenant.
    System,
}

impl Subject {
    /// The `(creator_user_id, created_by_api_key_id)` columns of an object this subject creates.
    pub fn creator_columns(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            Subject::User(user) => (Some(user), None),
            Subject::ApiKey(key) => (None, Some(key)),
            Subject::System => (None, None),
        }
    }

    /// The creator recorded in an object's `(creator_user_id, created_by_api_key_id)` columns.
    pub fn from_creator_columns(user: Option<Uuid>, api_key: Option<Uuid>) -> Option<Subject> {
        user.map(Subject::User).or(api_key.map(Subject::ApiKey))
    }
}

/// An object a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Its type.
    pub resource: Resource,
    /// Its id.
    pub id: Uuid,
    /// Who created it, when known.
    pub creator: Option<Subject>,
}

/// What a subject holds in one tenant: the union of its roles' grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    permissions: HashSet<Permission>,
    assets: HashSet<(Resource, Uuid, Action)>,
}

impl Grants {
    /// Holds nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a type-wide permission.
    pub fn grant(&mut self, permission: Permission) {
        self.permissions.insert(permission);
    }

    /// Adds an asset permission: `action` on the object `id` of type `resource`.
    pub fn grant_asset(&mut self, resource: Resource, id: Uuid, action: Action) {
        self.assets.insert((resource, id, action));
    }

    /// Whether the type-wide permission is held.
    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Whether `permission` is held on the object `id` (type-wide or by an asset grant).
    pub fn holds_on(&self, permission: Permission, id: Uuid) -> bool {
        self.holds(permission)
            || self
                .assets
                .contains(&(permission.resource, id, permission.action))
    }

    /// Whether every permission of `other` is held here (no privilege escalation by granting).
    pub fn covers(&self, other: &Grants) -> bool {
        other.permissions.is_subset(&self.permissions)
            && other.assets.iter().all(|(resource, id, action)| {
                match Permission::new(*resource, *action) {
                    Some(permission) => self.holds_on(permission, *id),
                    None => false,
                }
            })
    }
}

/// Proof that `subject` may do `permission` in `tenant_id` (on `target`, when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    tenant_id: Uuid,
    subject: Subject,
    permission: Permission,
    target: Option<Uuid>,
    delegated_by: Option<Target>,
}

impl Permit {
    /// The tenant the permit is for.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// Who holds it.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// What it allows.
    pub fn permission(&self) -> Permission {
        self.permission
    }

    /// The object it was checked on, if any.
    pub fn target(&self) -> Option<Uuid> {
        self.target
    }

    /// The originating resource, when the permission was delegated.
    pub fn delegated_by(&self) -> Option<Target> {
        self.delegated_by
    }

    /// Whether this permit allows `permission` in `tenant_id`, on `target` if given: a permit
    /// checked on one object does not cover another.
    pub fn covers(&self, tenant_id: Uuid, permission: Permission, target: Option<Uuid>) -> bool {
        self.tenant_id == tenant_id
            && self.permission == permission
            && (self.target.is_none() || self.target == target)
    }
}

impl Permit {
    /// `Ok` when this permit allows `action` on `resource` type-wide in `tenant_id`; a mutating
    /// domain function calls this first, so a caller that checked something else fails loudly.
    pub fn require(
        &self,
        tenant_id: Uuid,
        resource: Resource,
        action: Action,
    ) -> Result<(), crate::Error> {
        let permission = Permission { resource, action };
        if self.covers(tenant_id, permission, None) {
            Ok(())
        } else {
            Err(crate::Error::PermitMismatch(permission))
        }
    }

    /// `Ok` when this permit allows `action` on `resource` in `tenant_id` on the object `id`:
    /// type-wide, or checked on that very object (an asset grant). A domain function acting on
    /// one object calls this first.
    pub fn require_on(
        &self,
        tenant_id: Uuid,
        resource: Resource,
        action: Action,
        id: Uuid,
    ) -> Result<(), crate::Error> {
        let permission = Permission { resource, action };
        if self.covers(tenant_id, permission, Some(id)) {
            Ok(())
        } else {
            Err(crate::Error::PermitMismatch(permission))
        }
    }
}

/// A refused check: what would have been needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("permission denied: requires {required}")]
pub struct Denied {
    /// The permission that was missing.
    pub required: Permission,
}

/// Checks `permission` for `subject` holding `grants` in `tenant_id`, on `target` if given.
pub fn authorize(
    tenant_id: Uuid,
    subject: Subject,
    grants: &Grants,
    permission: Permission,
    target: Option<&Target>,
) -> Result<Permit, Denied> {
    let permit = || Permit {
        tenant_id,
        subject,
        permission,
        target: target.map(|t| t.id),
        delegated_by: None,
    };
    if subject == Subject::System || grants.holds(permission) {
        return Ok(permit());
    }
    if let Some(target) = target {
        debug_assert_eq!(
            target.resource, permission.resource,
            "target of another type"
        );
        let is_creator = target.creator.is_some_and(|creator| creator == subject);
        if target.resource == permission.resource
            && (grants.holds_on(permission, target.id) || is_creator)
        {
            return Ok(permit());
        }
    }
    Err(Denied {
        required: permission,
    })
}

/// Checks that `subject` may read `target` (type-wide `read`, an asset grant on it, or its
/// creator): what copying an object, or building on it, requires.
pub fn authorize_read(
    tenant_id: Uuid,
    subject: Subject,
    grants: &Grants,
    target: &Target,
) -> Result<Permit, Denied> {
    let read = Permission {
        resource: target.resource,
        action: Action::Read,
    };
    authorize(tenant_id, subject, grants, read, Some(target))
}

/// What running `origin` requires: `execute` where the catalog has it, else `read` (app pages
/// and cron jobs are run by viewing or scheduling them).
fn run_permission(resource: Resource) -> Option<Permission> {
    Permission::new(resource, Action::Execute).or_else(|| Permission::new(resource, Action::Read))
}

/// Resources whose runs may execute other assets on the caller's behalf.
const ORIGINS: &[Resource] = &[
    Resource::Workflow,
    Resource::AppPage,
    Resource::Listener,
    Resource::CronJob,
];

/// Checks that `subject` may execute `target`, directly or as part of running `origin`.
pub fn authorize_execution(
    tenant_id: Uuid,
    subject: Subject,
    grants: &Grants,
    target: &Target,
    origin: Option<&Target>,
) -> Result<Permit, Denied> {
    let Some(execute) = Permission::new(target.resource, Action::Execute) else {
        return Err(Denied {
            required: Permission {
                resource: target.resource,
                action: Action::Execute,
            },
        });
    };
    let direct = authorize(tenant_id, subject, grants, execute, Some(target));
    let Some(origin) = origin.filter(|o| ORIGINS.contains(&o.resource)) else {
        return direct;
    };
    if direct.is_ok() {
        return direct;
    }
    let Some(run_origin) = run_permission(origin.resource) else {
        return direct;
    };
    authorize(tenant_id, subject, grants, run_origin, Some(origin))
        .map(|_| Permit {
            tenant_id,
            subject,
            permission: execute,
            target: Some(target.id),
            delegated_by: Some(*origin),
        })
        // Denied on both paths: report what the target itself needs.
        .map_err(|_| Denied { required: execute })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Permission {
        text.parse().unwrap()
    }

    #[test]
    fn the_rules_apply_in_order() {
        let tenant = Uuid::now_v7();
        let alice = Subject::User(Uuid::now_v7());
        let bob = Subject::User(Uuid::now_v7());
        let key = Subject::ApiKey(Uuid::now_v7());
        let flow = Uuid::now_v7();
        let other_flow = Uuid::now_v7();
        let workflow = |id, creator| Target {
            resource: Resource::Workflow,
            id,
            creator,
        };

        let mut editor = Grants::new();
        editor.grant(p("workflow:execute"));
        let mut one_asset = Grants::new();
        one_asset.grant_asset(Resource::Workflow, flow, Action::Execute);
        let nothing = Grants::new();

        /// name, subject, grants, permission, target, allowed
        type Case<'a> = (&'a str, Subject, &'a Grants, &'a str, Option<Target>, bool);
        let cases: Vec<Case<'_>> = vec![
            (
                "type-wide grant, no target",
                alice,
                &editor,
                "workflow:execute",
                None,
                true,
            ),
            (
                "type-wide grant, any target",
                alice,
                &editor,
                "workflow:execute",
                Some(workflow(flow, None)),
                true,
            ),
            (
                "other action not granted",
                alice,
                &editor,
                "workflow:delete",
                Some(workflow(flow, None)),
                false,
            ),
            (
                "asset grant on its object",
                alice,
                &one_asset,
                "workflow:execute",
                Some(workflow(flow, None)),
                true,
            ),
            (
                "asset grant, another object",
                alice,
                &one_asset,
                "workflow:execute",
                Some(workflow(other_flow, None)),
                false,
            ),
            (
                "asset grant is not type-wide",
                alice,
                &one_asset,
                "workflow:execute",
                None,
                false,
            ),
            (
                "asset grant is for one action",
                alice,
                &one_asset,
                "workflow:read",
                Some(workflow(flow, None)),
                false,
            ),
            (
                "creator has every right",
                alice,
                &nothing,
                "workflow:delete",
                Some(workflow(flow, Some(alice))),
                true,
            ),
            (
                "someone else's object",
                bob,
                &nothing,
                "workflow:delete",
                Some(workflow(flow, Some(alice))),
                false,
            ),
            (
                "a key is not its creator user",
                key,
                &nothing,
                "workflow:read",
                Some(workflow(flow, Some(alice))),
                false,
            ),
            (
                "a key that created it",
                key,
                &nothing,
                "workflow:read",
                Some(workflow(flow, Some(key))),
                true,
            ),
            (
                "the system, within its tenant",
                Subject::System,
                &nothing,
                "tenant:delete",
                None,
                true,
            ),
            ("nothing held", alice, &nothing, "role:create", None, false),
        ];
        for (name, subject, grants, permission, target, allowed) in cases {
            let outcome = authorize(tenant, subject, grants, p(permission), target.as_ref());
            assert_eq!(outcome.is_ok(), allowed, "{name}");
            if let Err(denied) = outcome {
                assert_eq!(denied.required, p(permission), "{name}");
            }
        }
    }

    #[test]
    fn delegated_execution_follows_the_originating_resource() {
        let tenant = Uuid::now_v7();
        let user = Subject::User(Uuid::now_v7());
        let query = Target {
            resource: Resource::DataQuery,
            id: Uuid::now_v7(),
            creator: None,
        };
        let flow = Target {
            resource: Resource::Workflow,
            id: Uuid::now_v7(),
            creator: None,
        };
        let page = Target {
            resource: Resource::AppPage,
            id: Uuid::now_v7(),
            creator: None,
        };
        let folder = Target {
            resource: Resource::Folder,
            id: Uuid::now_v7(),
            creator: None,
        };

        let mut runs_flow = Grants::new();
        runs_flow.grant_asset(Resource::Workflow, flow.id, Action::Execute);
        let mut reads_pages = Grants::new();
        reads_pages.grant(p("apppage:read"));
        let mut runs_queries = Grants::new();
        runs_queries.grant(p("dataquery:execute"));
        let nothing = Grants::new();

        let cases: Vec<(&str, &Grants, Option<Target>, bool)> = vec![
            ("execute on the query itself", &runs_queries, None, true),
            ("nothing, no origin", &nothing, None, false),
            (
                "the workflow that references it",
                &runs_flow,
                Some(flow),
                true,
            ),
            (
                "the app page that references it",
                &reads_pages,
                Some(page),
                true,
            ),
            (
                "an origin the caller cannot run",
                &nothing,
                Some(flow),
                false,
            ),
            ("a folder is no origin", &runs_flow, Some(folder), false),
        ];
        for (name, grants, origin, allowed) in cases {
            let outcome = authorize_execution(tenant, user, grants, &query, origin.as_ref());
            assert_eq!(outcome.is_ok(), allowed, "{name}");
            match outcome {
                Ok(permit) => {
                    assert_eq!(permit.permission(), p("dataquery:execute"));
                    assert_eq!(permit.target(), Some(query.id));
                }
                Err(denied) => assert_eq!(denied.required, p("dataquery:execute"), "{name}"),
            }
        }
        let delegated = authorize_execution(tenant, user, &runs_flow, &query, Some(&flow)).unwrap();
        assert_eq!(delegated.delegated_by(), Some(flow));
    }

    #[test]
    fn a_permit_covers_only_what_was_checked() {
        let tenant = Uuid::now_v7();
        let object = Uuid::now_v7();
        let mut grants = Grants::new();
        grants.grant(p("role:update"));
        let on_object = authorize(
            tenant,
            Subject::User(Uuid::now_v7()),
            &grants,
            p("role:update"),
            Some(&Target {
                resource: Resource::Role,
                id: object,
                creator: None,
            }),
        )
        .unwrap();
        assert!(on_object.covers(tenant, p("role:update"), Some(object)));
        assert!(!on_object.covers(tenant, p("role:update"), Some(Uuid::now_v7())));
        assert!(!on_object.covers(tenant, p("role:delete"), Some(object)));
        assert!(!on_object.covers(Uuid::now_v7(), p("role:update"), Some(object)));
    }

    #[test]
    fn granting_more_than_one_holds_is_detectable() {
        let mut mine = Grants::new();
        mine.grant(p("workflow:read"));
        let flow = Uuid::now_v7();
        let mut asked = Grants::new();
        asked.grant_asset(Resource::Workflow, flow, Action::Read);
        assert!(
            mine.covers(&asked),
            "a type-wide grant covers an asset grant"
        );
        asked.grant(p("workflow:delete"));
        assert!(!mine.covers(&asked));
    }
}
