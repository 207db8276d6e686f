//! The built-in roles every tenant starts with: Admin, Editor, Viewer.
//!
//! Editor builds and runs things but cannot manage people or access: on the tenant, users, roles
//! and API keys it may only list and read. Were it allowed to create roles or keys it could grant
//! itself anything, so "no delete of tenant/users/roles/keys" is made strict here.

use crate::catalog::{Action, Permission, Resource};

/// A built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    /// Everything.
    Admin,
    /// Everything but managing the tenant, its members, roles and API keys.
    Editor,
    /// List and read.
    Viewer,
}

/// The resources that control who may do what.
const ACCESS_CONTROL: &[Resource] = &[
    Resource::Tenant,
    Resource::User,
    Resource::Role,
    Resource::ApiKey,
];

impl BuiltinRole {
    /// All three, in rank order.
    pub const ALL: [BuiltinRole; 3] =
        [BuiltinRole::Admin, BuiltinRole::Editor, BuiltinRole::Viewer];

    /// The stored key (`roles.builtin`).
    pub fn key(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::Editor => "editor",
            BuiltinRole::Viewer => "viewer",
        }
    }

    /// The role's title.
    pub fn title(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Admin",
            BuiltinRole::Editor => "Editor",
            BuiltinRole::Viewer => "Viewer",
        }
    }

    /// The role's description.
    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Full access to the tenant",
            BuiltinRole::Editor => {
                "Create, change, run and test assets; read members, roles and API keys"
            }
            BuiltinRole::Viewer => "List and read everything",
        }
    }

    /// The stored key back to the role.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.key() == key)
    }

    /// The permissions the role grants.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::all()
            .filter(|permission| match self {
                BuiltinRole::Admin => true,
                BuiltinRole::Editor => {
                    !ACCESS_CONTROL.contains(&permission.resource)
                        || matches!(permission.action, Action::List | Action::Read)
                }
                BuiltinRole::Viewer => matches!(permission.action, Action::List | Action::Read),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(role: BuiltinRole, text: &str) -> bool {
        role.permissions().contains(&text.parse().unwrap())
    }

    #[test]
    fn built_in_roles_grant_what_their_names_say() {
        let cases = [
            ("tenant:delete", [true, false, false]),
            ("tenant:update", [true, false, false]),
            ("tenant:read", [true, true, true]),
            ("role:create", [true, false, false]),
            ("role:list", [true, true, true]),
            ("apikey:create", [true, false, false]),
            ("user:delete", [true, false, false]),
            ("workflow:execute", [true, true, false]),
            ("workflow:delete", [true, true, false]),
            ("datasource:test", [true, true, false]),
            ("dataquery:read", [true, true, true]),
            ("audit:list", [true, true, true]),
            ("bundle:execute", [true, true, false]),
        ];
        for (permission, expected) in cases {
            for (role, allowed) in BuiltinRole::ALL.into_iter().zip(expected) {
                assert_eq!(grants(role, permission), allowed, "{role:?} {permission}");
            }
        }
        assert_eq!(
            BuiltinRole::Admin.permissions().len(),
            Permission::all().count()
        );
    }

    #[test]
    fn keys_round_trip() {
        for role in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::from_key(role.key()), Some(role));
        }
        assert_eq!(BuiltinRole::from_key("owner"), None);
    }
}
