//! Who acts: the identity a verified token carries, and the roles that decide what it may do.
//!
//! The command service builds an [`Actor`] only from a verified token (see the `auth` crate); the domain uses it to
//! decide whether a command is allowed and records it on every event through the event store's provenance.
//!
//! One role is never carried by a token: [`Role::System`], the role of the services that record events of their
//! own (the notification service's reminders, see `reminder.rs`). Tokens are minted and verified only for
//! [`Role::GRANTABLE`] roles, so no client can act as the system.

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
    /// A service of taskledger recording what it did itself (a reminder sent, failed or skipped). Never granted
    /// to a token: see [`Role::GRANTABLE`].
    System,
}

impl Role {
    /// Every role, as stored in events' provenance.
    pub const ALL: [Role; 6] =
        [Role::Planner, Role::Reporter, Role::Approver, Role::Auditor, Role::Admin, Role::System];

    /// The roles a token may carry: every role but [`Role::System`].
    pub const GRANTABLE: [Role; 5] = [Role::Planner, Role::Reporter, Role::Approver, Role::Auditor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Planner => "planner",
            Role::Reporter => "reporter",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    /// Whether a token may carry this role (every role but [`Role::System`]).
    pub fn is_grantable(self) -> bool {
        Role::GRANTABLE.contains(&self)
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

impl Actor {
    /// The notification service, the actor of the reminder events it records (`reminder::ReminderEvent`).
    pub fn notification_service() -> Actor {
        Actor {
            id: "notification-service".to_owned(),
            name: "Dịch vụ nhắc việc".to_owned(),
            unit: UnitCode::parse(SYSTEM_UNIT).expect("the system unit is a valid unit code"),
            role: Role::System,
        }
    }
}

/// The unit of the actors that are taskledger's own services ("hệ thống": the system).
pub const SYSTEM_UNIT: &str = "HE-THONG";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_role_parses_but_is_not_grantable() {
        assert_eq!(Role::parse("system"), Some(Role::System));
        assert!(!Role::System.is_grantable());
        assert!(Role::GRANTABLE.iter().all(|role| role.is_grantable()));
        assert_eq!(Role::ALL.len(), Role::GRANTABLE.len() + 1);
    }

    #[test]
    fn the_notification_service_acts_as_the_system() {
        let actor = Actor::notification_service();
        assert_eq!(actor.id, "notification-service");
        assert_eq!(actor.name, "Dịch vụ nhắc việc");
        assert_eq!(actor.unit.as_str(), "HE-THONG");
        assert_eq!(actor.role, Role::System);
    }
}
