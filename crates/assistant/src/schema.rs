//! The JSON Schema of the definition format, derived from [`crate::spec`].
