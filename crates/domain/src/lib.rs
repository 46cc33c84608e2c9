//! probity-domain
