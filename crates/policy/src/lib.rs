//! probity-policy
