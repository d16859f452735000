//! Roles and the areas of the product each role may enter.
//!
//! This table is the single source of truth for authorisation of pages: the server's page gate,
//! the server functions and the navigation all read it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::FieldError;

/// A staff role. Applicants and machine clients are not users and have no role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Loan officers review and decide applications.
    Officer,
    /// Administrators manage users, models and monitoring.
    Admin,
    /// Compliance staff read the audit trail and monitoring.
    Compliance,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Officer, Role::Admin, Role::Compliance];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Admin => "admin",
            Role::Compliance => "compliance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Officer => "Loan officer",
            Role::Admin => "Administrator",
            Role::Compliance => "Compliance",
        }
    }

    /// Areas shown in this role's navigation, in display order.
    pub fn areas(self) -> impl Iterator<Item = Area> {
        Area::ALL.into_iter().filter(move |a| a.allows(self))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "officer" => Ok(Role::Officer),
            "admin" => Ok(Role::Admin),
            "compliance" => Ok(Role::Compliance),
            other => Err(FieldError::new(
                "role",
                format!("unknown role '{other}'; expected officer, admin or compliance"),
            )),
        }
    }
}

/// A protected area of the product: a set of pages and the server functions behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Area {
    Queue,
    Statistics,
    Models,
    Monitoring,
    Users,
    Audit,
    /// Validation reports of model versions (model documentation for admins and compliance).
    Validation,
    /// The signed-in user's own account: sessions and password. Every role has one.
    Account,
}

impl Area {
    pub const ALL: [Area; 8] = [
        Area::Queue,
        Area::Statistics,
        Area::Models,
        Area::Monitoring,
        Area::Validation,
        Area::Users,
        Area::Audit,
        Area::Account,
    ];

    /// The URL prefix of the area's pages.
    pub fn path(self) -> &'static str {
        match self {
            Area::Queue => "/queue",
            Area::Statistics => "/statistics",
            Area::Models => "/models",
            Area::Monitoring => "/monitoring",
            Area::Users => "/admin/users",
            Area::Audit => "/audit",
            Area::Validation => "/validation",
            Area::Account => "/account",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Area::Queue => "Review queue",
            Area::Statistics => "Officer statistics",
            Area::Models => "Models",
            Area::Monitoring => "Monitoring",
            Area::Users => "Users",
            Area::Audit => "Audit",
            Area::Validation => "Model validation",
            Area::Account => "My account",
        }
    }

    /// Whether a role may enter this area. Least privilege: each role gets what its job needs.
    pub fn allows(self, role: Role) -> bool {
        matches!(
            (self, role),
            (Area::Queue, Role::Officer)
                | (Area::Statistics, Role::Admin | Role::Compliance)
                | (Area::Models, Role::Admin)
                | (Area::Monitoring, Role::Admin | Role::Compliance)
                | (Area::Validation, Role::Admin | Role::Compliance)
                | (Area::Users, Role::Admin)
                | (Area::Audit, Role::Compliance)
                | (Area::Account, _)
        )
    }

    /// The protected area a page path belongs to, if any. Matches whole path segments, so
    /// `/queue` and `/queue/42` are in the queue but `/queueing` is not.
    pub fn for_path(path: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|area| {
            let prefix = area.path();
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let err = "root".parse::<Role>().unwrap_err();
        assert_eq!(err.field, "role");
    }

    #[test]
    fn every_area_is_reachable_by_some_role_and_no_role_reaches_everything() {
        for area in Area::ALL {
            assert!(Role::ALL.iter().any(|r| area.allows(*r)), "{area:?}");
        }
        for role in Role::ALL {
            assert!(Area::ALL.iter().any(|a| !a.allows(role)), "{role:?}");
        }
    }

    #[test]
    fn officers_reach_only_the_queue_and_their_account() {
        let areas: Vec<_> = Role::Officer.areas().collect();
        assert_eq!(areas, vec![Area::Queue, Area::Account]);
    }

    #[test]
    fn paths_map_to_areas_on_segment_boundaries() {
        assert_eq!(Area::for_path("/queue"), Some(Area::Queue));
        assert_eq!(Area::for_path("/queue/17"), Some(Area::Queue));
        assert_eq!(Area::for_path("/queueing"), None);
        assert_eq!(Area::for_path("/admin/users"), Some(Area::Users));
        assert_eq!(Area::for_path("/admin/users/new"), Some(Area::Users));
        assert_eq!(Area::for_path("/audit"), Some(Area::Audit));
        assert_eq!(Area::for_path("/account"), Some(Area::Account));
        assert_eq!(Area::for_path("/"), None);
        assert_eq!(Area::for_path("/login"), None);
    }
}
