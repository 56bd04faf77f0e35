//! Value extraction for question response types.
