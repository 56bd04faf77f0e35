//! Watson Assistant exports (actions and dialog skills) converted into a Baton assistant folder.
//!
//! [`convert`] is pure: the export's bytes in, the folder's files (path, text) and the report out,
//! or a [`Refusal`] for input that is not an export. Reading the file and writing the folder are
//! `import::run`'s business.
//!
//! The input is checked before it is parsed: its size, how deeply it nests and how long its strings
//! are, so a hostile file is refused with a sentence instead of exhausting the stack or memory.
//! An actions skill is recognised by `workspace.actions` (real exports put `dialog` in `type` for
//! some actions skills), a dialog skill by `dialog_nodes`.

mod actions;
mod derive;
mod dialog;
pub mod expr;
mod model;

use std::fmt;

use serde_json::Value;

use super::report::Report;

/// Exports larger than this are refused (the largest public sample is 130 KB; a big real workspace
/// a few MB).
pub const MAX_EXPORT_BYTES: u64 = 64 * 1024 * 1024;
/// Deeper nesting than this is refused (real exports nest about 15 deep).
pub const MAX_DEPTH: usize = 128;
/// Strings longer than this are refused.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

/// A converted export.
#[derive(Debug)]
pub struct Imported {
    /// Paths relative to the output folder, with their contents.
    pub files: Vec<(String, String)>,
    pub report: Report,
}

/// Why a file is not converted. Each has a stable code.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    TooLarge {
        bytes: u64,
    },
    TooDeep {
        line: usize,
        column: usize,
    },
    StringTooLong {
        line: usize,
        column: usize,
    },
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    NotAnExport(String),
}

impl Refusal {
    /// The stable code, as in `error[import-not-json]`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } => "import-too-large",
            Refusal::TooDeep { .. } => "import-too-deep",
            Refusal::StringTooLong { .. } => "import-string-too-long",
            Refusal::NotJson { .. } => "import-not-json",
            Refusal::NotAnExport(_) => "import-not-an-export",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooLarge { bytes } => write!(
                f,
                "the file is {bytes} bytes; exports over {} MB are refused",
                MAX_EXPORT_BYTES / 1024 / 1024
            ),
            Refusal::TooDeep { line, column } => write!(
                f,
                "{line}:{column}: the JSON nests deeper than {MAX_DEPTH} levels, which no Watson export does"
            ),
            Refusal::StringTooLong { line, column } => write!(
                f,
                "{line}:{column}: a string is longer than {} KB, which no Watson export has",
                MAX_STRING_BYTES / 1024
            ),
            Refusal::NotJson { line, column, message } => {
                write!(f, "{line}:{column}: the file is not JSON: {message}")
            }
            Refusal::NotAnExport(why) => write!(f, "{why}"),
        }
    }
}

/// Converts an export's bytes into an assistant folder and its report.
pub fn convert(bytes: &[u8]) -> Result<Imported, Refusal> {
    let root = parse(bytes)?;
    let not_export = || {
        Refusal::NotAnExport(
            "the file is not a Watson Assistant skill export: it has neither `workspace.actions` (an actions skill) nor `dialog_nodes` (a dialog skill)"
                .to_owned(),
        )
    };
    let Some(object) = root.as_object() else {
        return Err(not_export());
    };
    let (workspace, pointer) = match object.get("workspace") {
        Some(workspace) if workspace.is_object() => (workspace, "/workspace"),
        _ => (&root, ""),
    };
    if workspace.get("actions").is_some_and(Value::is_array) {
        return Ok(actions::convert(&root, workspace, pointer));
    }
    if workspace.get("dialog_nodes").is_some_and(Value::is_array) {
        return Ok(dialog::convert(&root, workspace, pointer));
    }
    Err(not_export())
}

/// Parses JSON after checking size, nesting and string length without recursion.
fn parse(bytes: &[u8]) -> Result<Value, Refusal> {
    if bytes.len() as u64 > MAX_EXPORT_BYTES {
        return Err(Refusal::TooLarge {
            bytes: bytes.len() as u64,
        });
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'\n' {
            line += 1;
            column = 0;
        } else if byte & 0xC0 != 0x80 {
            column += 1;
        }
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ if index - string_start > MAX_STRING_BYTES => {
                    return Err(Refusal::StringTooLong { line, column });
                }
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                string_start = index;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Refusal::TooDeep { line, column });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    serde_json::from_slice(bytes).map_err(|error| Refusal::NotJson {
        line: error.line(),
        column: error.column(),
        message: error
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_input_is_refused_with_a_code() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_STRING_BYTES + 10));
        for (input, code) in [
            (deep.as_str(), "import-too-deep"),
            (long.as_str(), "import-string-too-long"),
            ("{\"a\": ", "import-not-json"),
            ("\u{feff}", "import-not-json"),
            ("[1, 2]", "import-not-an-export"),
            ("{\"name\": \"x\"}", "import-not-an-export"),
            ("{\"workspace\": {\"actions\": 3}}", "import-not-an-export"),
        ] {
            let refused = convert(input.as_bytes()).expect_err(input.get(..20).unwrap_or(input));
            assert_eq!(refused.code(), code, "{refused}");
        }
    }

    #[test]
    fn minimal_exports_convert() {
        for input in [
            r#"{"workspace": {"actions": []}}"#,
            r#"{"dialog_nodes": []}"#,
            r#"{"workspace": {"actions": [{"action": 1, "steps": "x"}, {}, 3]}}"#,
            r#"{"dialog_nodes": [{}, 1, {"conditions": 3, "output": {"generic": "x"}}]}"#,
        ] {
            let imported = convert(input.as_bytes()).expect(input);
            assert!(
                imported.files.iter().any(|(path, _)| path == "assistant.yaml"),
                "{input}"
            );
        }
    }
}
