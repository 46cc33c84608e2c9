//! probity-server
