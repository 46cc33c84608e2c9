//! probity-imaging
