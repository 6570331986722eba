//! Who acts: the identity a verified token carries, and the roles that decide what it may do.
//!
//! The command service builds an [`Actor`] only from a verified token (see the `auth` crate); the domain uses it to
//! decide whether a command is allowed and records it on every event through the event store's provenance.

use serde::{Deserialize, Serialize};

use crate::unit_code::UnitCode;

/// The roles of the first role model. What each may do is decided by the aggregates (`plan`, `task`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates plans and assigns tasks; cancels, transfers and reopens them.
    Planner,
    /// Files progress reports on tasks whose lead or coordinating unit is the reporter's own unit.
    Reporter,
    /// Decides on deadline extensions and confirms completion.
    Approver,
    /// Reads everything, writes nothing.
    Auditor,
    /// May do everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Planner, Role::Reporter, Role::Approver, Role::Auditor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Planner => "planner",
            Role::Reporter => "reporter",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(input: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == input.trim())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified identity: user id, display name, unit and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub unit: UnitCode,
    pub role: Role,
}
