//! Identifiers. Each is a UUID behind its own type so a case ID can never be passed as a user ID.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered identifier (UUID v7).
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map($name)
                    .map_err(|e| DomainError::invalid($field, format!("'{s}' is not a UUID ({e})")))
            }
        }
    };
}

uuid_id!(
    /// A person holding an account (member, vendor staff or outside-agency liaison).
    UserId,
    "user_id"
);
uuid_id!(
    /// A case investigation record.
    CaseId,
    "case_id"
);
uuid_id!(
    /// A request for facial recognition analysis.
    FrRequestId,
    "fr_request_id"
);
uuid_id!(
    /// An assignment of a role in a command to a person.
    AssignmentId,
    "assignment_id"
);
