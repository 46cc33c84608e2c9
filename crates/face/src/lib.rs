//! probity-face
