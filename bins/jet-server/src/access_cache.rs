//! What a principal holds in a tenant (tenant row, membership, grants), cached so tenant routes
//! do not reload roles and grants on every request.
//!
//! Keyed by (tenant, principal); entries live at most `JET_ACCESS_CACHE_SECS` (default 2 s; 0
//! turns the cache off). A change to roles, grants, memberships, keys or the tenant's status
//! drops the tenant's entries in every process at once, through the change bus
//! (`access_sync`); the TTL bounds the staleness only while the bus is down.

use std::sync::Arc;

use rbac::{Grants, Subject};
use tenancy::tenants::{Membership, Tenant};
use uuid::Uuid;

use crate::tenant_cache::TenantCache;

/// What a principal holds in one tenant.
#[derive(Debug, Clone)]
pub struct Access {
    /// The tenant.
    pub tenant: Tenant,
    /// The user's membership (`None` for an API key).
    pub membership: Option<Membership>,
    /// The grants (shared: every request of the principal uses the same set).
    pub grants: Arc<Grants>,
}

/// Access by (tenant, principal).
pub type AccessCache = TenantCache<(Uuid, Subject), Arc<Access>>;
