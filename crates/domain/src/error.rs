//! The one error type of every decision: what the command service maps to an HTTP status.

/// Why a command was refused. Each variant maps to one HTTP status in the command service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field breaks a rule (422). `field` is the JSON path of the request field.
    #[error("{field}: {rule}")]
    Invalid { field: String, rule: String },
    /// The actor's role or unit may not do this (403).
    #[error("forbidden: {reason}")]
    Forbidden { reason: String },
    /// Something the command refers to does not exist (404).
    #[error("{what} not found")]
    NotFound { what: String },
    /// The aggregate is in a state that does not allow the command (409).
    #[error("{reason}")]
    StateConflict { reason: String },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> DomainError {
        DomainError::Invalid { field: field.into(), rule: rule.into() }
    }

    pub fn forbidden(reason: impl Into<String>) -> DomainError {
        DomainError::Forbidden { reason: reason.into() }
    }

    pub fn not_found(what: impl Into<String>) -> DomainError {
        DomainError::NotFound { what: what.into() }
    }

    pub fn state_conflict(reason: impl Into<String>) -> DomainError {
        DomainError::StateConflict { reason: reason.into() }
    }
}
