//! The permission catalog: every `resource:action` pair the platform knows (SYSTEM.md §2).
//!
//! Resources that later issues build (datasources, workflows, …) are in the catalog already, so
//! roles created today can grant them and the catalog route lists them.

use std::fmt;
use std::str::FromStr;

/// A kind of object permissions apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// The tenant itself.
    Tenant,
    /// Tenant members.
    User,
    /// Roles.
    Role,
    /// API keys.
    ApiKey,
    /// Cron jobs.
    CronJob,
    /// Datasources.
    Datasource,
    /// Data queries.
    DataQuery,
    /// Workflows.
    Workflow,
    /// Widgets.
    Widget,
    /// Listeners.
    Listener,
    /// App pages.
    AppPage,
    /// Folders.
    Folder,
    /// The audit trail.
    Audit,
    /// The permission catalog.
    Permission,
    /// Import bundles.
    Bundle,
}

/// What is done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// See the collection.
    List,
    /// Add to it.
    Create,
    /// See one object.
    Read,
    /// Change one object.
    Update,
    /// Remove one object.
    Delete,
    /// Try without saving (connections, unsaved queries and graphs).
    Test,
    /// Run it.
    Execute,
    /// Export it.
    Export,
    /// Preview an import.
    Preview,
}

use Action::*;
use Resource::*;

/// Every resource with the actions it supports.
pub const CATALOG: &[(Resource, &[Action])] = &[
    (Tenant, &[Read, Update, Delete]),
    (User, &[List, Create, Read, Update, Delete]),
    (Role, &[List, Create, Read, Update, Delete]),
    (ApiKey, &[List, Create, Read, Update, Delete]),
    (CronJob, &[List, Create, Read, Update, Delete]),
    (Datasource, &[List, Create, Read, Update, Delete, Test]),
    (
        DataQuery,
        &[List, Create, Read, Update, Delete, Test, Execute, Export],
    ),
    (
        Workflow,
        &[List, Create, Read, Update, Delete, Execute, Test, Export],
    ),
    (
        Widget,
        &[List, Create, Read, Update, Delete, Execute, Export],
    ),
    (
        Listener,
        &[List, Create, Read, Update, Delete, Execute, Export],
    ),
    (AppPage, &[List, Create, Read, Update, Delete, Export]),
    (Folder, &[List, Create, Update, Delete]),
    (Audit, &[List]),
    (Permission, &[List]),
    (Bundle, &[Preview, Execute]),
];

impl Resource {
    /// The name used in permission strings and routes.
    pub fn as_str(self) -> &'static str {
        match self {
            Tenant => "tenant",
            User => "user",
            Role => "role",
            ApiKey => "apikey",
            CronJob => "cronjob",
            Datasource => "datasource",
            DataQuery => "dataquery",
            Workflow => "workflow",
            Widget => "widget",
            Listener => "listener",
            AppPage => "apppage",
            Folder => "folder",
            Audit => "audit",
            Permission => "permission",
            Bundle => "bundle",
        }
    }

    /// The actions this resource supports.
    pub fn actions(self) -> &'static [Action] {
        CATALOG
            .iter()
            .find(|(resource, _)| *resource == self)
            .map(|(_, actions)| *actions)
            .unwrap_or(&[])
    }
}

impl Action {
    /// The name used in permission strings.
    pub fn as_str(self) -> &'static str {
        match self {
            List => "list",
            Create => "create",
            Read => "read",
            Update => "update",
            Delete => "delete",
            Test => "test",
            Execute => "execute",
            Export => "export",
            Preview => "preview",
        }
    }
}

impl FromStr for Resource {
    type Err = UnknownPermission;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CATALOG
            .iter()
            .map(|(resource, _)| *resource)
            .find(|resource| resource.as_str() == text)
            .ok_or_else(|| UnknownPermission(text.to_string()))
    }
}

impl FromStr for Action {
    type Err = UnknownPermission;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            List, Create, Read, Update, Delete, Test, Execute, Export, Preview,
        ]
        .into_iter()
        .find(|action| action.as_str() == text)
        .ok_or_else(|| UnknownPermission(text.to_string()))
    }
}

/// A string that names no catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission `{0}`")]
pub struct UnknownPermission(pub String);

/// One catalog entry: an action on a resource, written `resource:action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    /// What it applies to.
    pub resource: Resource,
    /// What it allows.
    pub action: Action,
}

impl Permission {
    /// The permission, if the catalog has it.
    pub fn new(resource: Resource, action: Action) -> Option<Self> {
        resource
            .actions()
            .contains(&action)
            .then_some(Permission { resource, action })
    }

    /// Every permission of the catalog, in catalog order.
    pub fn all() -> impl Iterator<Item = Permission> {
        CATALOG.iter().flat_map(|(resource, actions)| {
            actions.iter().map(|action| Permission {
                resource: *resource,
                action: *action,
            })
        })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource.as_str(), self.action.as_str())
    }
}

impl FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownPermission(text.to_string());
        let (resource, action) = text.split_once(':').ok_or_else(unknown)?;
        let resource: Resource = resource.parse().map_err(|_| unknown())?;
        let action: Action = action.parse().map_err(|_| unknown())?;
        Permission::new(resource, action).ok_or_else(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_string() {
        let all: Vec<Permission> = Permission::all().collect();
        assert_eq!(all.len(), 73);
        for permission in all {
            assert_eq!(
                permission.to_string().parse::<Permission>().unwrap(),
                permission
            );
        }
    }

    #[test]
    fn strings_outside_the_catalog_are_refused() {
        for text in [
            "",
            "workflow",
            "workflow:",
            ":read",
            "tenant:create",
            "folder:read",
            "nope:read",
            "workflow:execute:x",
            "Workflow:execute",
        ] {
            assert!(text.parse::<Permission>().is_err(), "{text}");
        }
    }
}
