use thiserror::Error;

/// The one error type of the domain crate.
///
/// Every refusal that follows from a rule of REQUIREMENTS.md carries that rule's ID
/// (`FR-05`, `DC-02`, `RET-11` ...), so callers can show and log which rule refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// A text value (from storage, the API or a policy pack) names no known variant.
    #[error("unknown {kind} '{value}'; use one of: {allowed}")]
    UnknownValue {
        kind: &'static str,
        value: String,
        allowed: String,
    },
    /// A field is malformed (a format problem, not a policy refusal).
    #[error("{field}: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// A rule refuses the operation.
    #[error("{rule}: {message}")]
    Refused { rule: &'static str, message: String },
    /// Required parts are missing; all of them are listed at once.
    #[error("{rule}: missing {}", missing.join(", "))]
    Missing {
        rule: &'static str,
        missing: Vec<&'static str>,
    },
}

impl DomainError {
    /// The rule ID that refused, if the error comes from a rule.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            DomainError::Refused { rule, .. } | DomainError::Missing { rule, .. } => Some(rule),
            DomainError::UnknownValue { .. } | DomainError::InvalidField { .. } => None,
        }
    }

    pub(crate) fn refused(rule: &'static str, message: impl Into<String>) -> Self {
        DomainError::Refused {
            rule,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::InvalidField {
            field,
            message: message.into(),
        }
    }
}
