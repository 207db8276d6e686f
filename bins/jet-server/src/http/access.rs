//! Route access policies: what a route demands of its caller, declared as data next to the route.
//!
//! Every [`Route`](crate::http::route::Route) carries one [`Access`]. The registration attaches it
//! to the actix resource, and the extractors ([`TenantMember`](crate::http::tenant_member),
//! [`Caller`](crate::http::auth::Caller)) read it from there: nothing scans a table per request,
//! and "public" ([`Access::Public`]) can no longer be confused with "forgot the permission"
//! (a tenant rule without a permission does not type-check).
//!
//! The isolation matrix, the OpenAPI document (security and error responses) and the cache
//! invalidation all read the same declarations.

use actix_web::HttpRequest;
use actix_web::http::Method;
use rbac::{Action, Permission, Resource};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials (health checks, the API description).
    Public,
    /// A signed-in user, outside any tenant (their own profile, their tenant list). API keys are
    /// refused: a key acts only on its tenant's routes.
    User,
    /// A signed-in user or an API key, outside any tenant: the realtime socket, which then
    /// authorizes each subscription in its tenant as the matching tenant route would.
    Principal,
    /// A principal acting in the tenant named by the path's `{tenantID}`.
    Tenant(TenantRule),
    /// A webhook delivery (`POST /api/v1/hooks/{hookID}`): no user or API key; the hook the
    /// path names checks the delivery by its own auth mode (`webhooks::auth`), and the run it
    /// starts acts as the hook.
    Hook,
}

/// What a tenant route demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantRule {
    /// The permission, or plain membership.
    pub need: Need,
    /// The path parameter naming the object the permission applies to: an asset grant on that
    /// one object (`role:<id>:update`) then satisfies the rule, and the checked object id
    /// travels with the permit.
    pub object: Option<&'static str>,
    /// What the object parameter names: the object itself, or a run whose workflow the
    /// permission applies to.
    pub object_of: ObjectOf,
    /// The path parameter naming an object the route *reads* to make a new one (a clone): the
    /// permission stays type-wide (`apikey:create`), and the domain function, given the id,
    /// checks `read` on that object.
    pub source: Option<&'static str>,
    /// How a disabled tenant treats the route.
    pub effect: Effect,
    /// A successful call changes who holds what (roles, grants, memberships, keys, the tenant's
    /// status) or the tenant's role list: the tenant's cached access data (`access_sync`) is
    /// invalidated after it, in every process, by the registration.
    pub changes_access: bool,
    /// The path parameter naming a part of the object (a workflow's webhook): parts have no
    /// permissions of their own, the object's apply (creating, changing or deleting a part is
    /// updating the object), and the domain function looks the part up within the object, so
    /// another object's part is not found.
    pub part: Option<&'static str>,
}

/// What a rule's object parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectOf {
    /// The object the permission applies to.
    Itself,
    /// A workflow run ("instance"): the permission applies to the workflow it runs, so an
    /// asset grant on the workflow covers its runs; a run of an unsaved graph (a test run)
    /// needs the type-wide permission. A run of another tenant is the same 404 as none.
    RunOfWorkflow,
}

/// The permission a tenant route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// This permission (type-wide, or on the route's object).
    Permission(Permission),
    /// Membership alone: the user's own data in the tenant (preferences). API keys are refused.
    Membership,
}

/// What a route does, for the disabled-tenant rule: a disabled tenant refuses every request but
/// reads by its own admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only (any method: running a saved query or testing a connection reads too).
    Reads,
    /// Changes something: refused on a disabled tenant.
    Writes,
    /// Changes the tenant itself; its admins may call it on a disabled tenant, and the domain
    /// function allows nothing there but re-enabling.
    ReEnables,
}

impl TenantRule {
    fn new(need: Need, effect: Effect) -> Self {
        TenantRule {
            need,
            object: None,
            object_of: ObjectOf::Itself,
            source: None,
            effect,
            changes_access: false,
            part: None,
        }
    }

    /// A read needing `action` on `resource`.
    pub fn reads(resource: Resource, action: Action) -> Self {
        Self::new(
            Need::Permission(permission(resource, action)),
            Effect::Reads,
        )
    }

    /// A change needing `action` on `resource`.
    pub fn writes(resource: Resource, action: Action) -> Self {
        Self::new(
            Need::Permission(permission(resource, action)),
            Effect::Writes,
        )
    }

    /// A change to the tenant itself that may re-enable it (see [`Effect::ReEnables`]).
    pub fn re_enables(resource: Resource, action: Action) -> Self {
        Self::new(
            Need::Permission(permission(resource, action)),
            Effect::ReEnables,
        )
    }

    /// A member reading their own data.
    pub fn member_reads() -> Self {
        Self::new(Need::Membership, Effect::Reads)
    }

    /// A member changing their own data.
    pub fn member_writes() -> Self {
        Self::new(Need::Membership, Effect::Writes)
    }

    /// The permission applies to the object named by path parameter `param`.
    pub fn on_object(mut self, param: &'static str) -> Self {
        self.object = Some(param);
        self
    }

    /// The permission applies to the workflow of the run named by path parameter `param`
    /// (see [`ObjectOf::RunOfWorkflow`]).
    pub fn on_run(mut self, param: &'static str) -> Self {
        self.object = Some(param);
        self.object_of = ObjectOf::RunOfWorkflow;
        self
    }

    /// Path parameter `param` names a part of the object (see [`TenantRule::part`]).
    pub fn of_part(mut self, param: &'static str) -> Self {
        self.part = Some(param);
        self
    }

    /// The route copies the object named by path parameter `param` (see [`TenantRule::source`]).
    pub fn from_source(mut self, param: &'static str) -> Self {
        self.source = Some(param);
        self
    }

    /// A successful call changes access (see [`TenantRule::changes_access`]).
    pub fn changes_access(mut self) -> Self {
        self.changes_access = true;
        self
    }

    /// The permission, if the rule needs one.
    pub fn permission(&self) -> Option<Permission> {
        match self.need {
            Need::Permission(permission) => Some(permission),
            Need::Membership => None,
        }
    }
}

/// `resource:action`, which must be in the catalog: route declarations are code, so a pair the
/// catalog lacks is a programming error caught by the first test that builds the route table.
fn permission(resource: Resource, action: Action) -> Permission {
    match Permission::new(resource, action) {
        Some(permission) => permission,
        None => panic!(
            "{}:{} is not in the catalog",
            resource.as_str(),
            action.as_str()
        ),
    }
}

/// One registered path: its pattern and the policies of its methods (a resource serves at most
/// a handful). Attached to the resource as app data at registration.
#[derive(Debug, Clone, Default)]
pub struct PathPolicies {
    /// The path pattern (`/api/v1/tenants/{tenantID}/roles`).
    pub pattern: &'static str,
    /// The declared methods and their access.
    pub methods: Vec<(Method, Access)>,
}

impl PathPolicies {
    /// The access declared for `method`.
    pub fn get(&self, method: &Method) -> Option<Access> {
        self.methods
            .iter()
            .find(|(declared, _)| declared == method)
            .map(|(_, access)| *access)
    }
}

/// The access declared for the request's route, read from its resource.
pub fn declared(req: &HttpRequest) -> Option<Access> {
    req.app_data::<PathPolicies>()?.get(req.method())
}

/// The pattern of the route that served `req` (`None` when no route matched), read from the
/// registration instead of `HttpRequest::match_pattern`, which matches the path against every
/// route again (profiling showed the router's regexes as a tenth of an authorized read).
pub fn route_pattern(req: &HttpRequest) -> Option<&'static str> {
    req.app_data::<PathPolicies>()
        .map(|policies| policies.pattern)
}
