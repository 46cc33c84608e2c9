//! probity-thermal
