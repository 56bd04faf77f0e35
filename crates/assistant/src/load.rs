//! Loading an assistant folder (filled in by the loader work).

use std::path::Path;

use crate::{Assistant, Diagnostic};

/// An assistant (when it could be built) and every problem found.
#[derive(Debug)]
pub struct Loaded {
    pub assistant: Option<Assistant>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads `dir/assistant.yaml` (or `.json`) and `dir/actions/*.{yaml,yml,json}`.
pub fn load_dir(_dir: &Path) -> Loaded {
    Loaded {
        assistant: None,
        diagnostics: Vec::new(),
    }
}
