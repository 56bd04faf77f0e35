//! `baton check DIR`: loads an assistant, prints every diagnostic, and sums it up in one line.

use std::path::Path;

use baton_assistant::{Assistant, Severity, load_dir};

/// Arguments of `baton check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The assistant folder (with `assistant.yaml` or `assistant.json`).
    pub dir: std::path::PathBuf,
}

/// Exit code 1 when there is any error; warnings alone pass.
pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let Some(assistant) = load_reporting(&args.dir) else {
        return Ok(1);
    };
    println!("{} — ok", summary(&assistant));
    Ok(0)
}

/// Loads an assistant, printing every diagnostic to stderr; `None` when it has errors.
pub fn load_reporting(dir: &Path) -> Option<Assistant> {
    load_or_problems(dir).ok()
}

/// Loads an assistant, printing every diagnostic to stderr; when it has errors, they are
/// returned too (each with its file, line and column), then the line that sums them up.
pub fn load_or_problems(dir: &Path) -> Result<Assistant, Vec<String>> {
    let loaded = load_dir(dir);
    let mut problems = Vec::new();
    for diagnostic in &loaded.diagnostics {
        eprintln!("{diagnostic}");
        if diagnostic.severity == Severity::Error {
            problems.push(diagnostic.to_string());
        }
    }
    let last = match (loaded.assistant, problems.len()) {
        (Some(assistant), 0) => return Ok(assistant),
        (None, 0) => format!("{}: the assistant could not be loaded", dir.display()),
        (_, n_errors) => {
            let plural = if n_errors == 1 { "" } else { "s" };
            format!("{}: {n_errors} error{plural}", dir.display())
        }
    };
    eprintln!("{last}");
    problems.push(last);
    Err(problems)
}

/// `bank: 16 actions, 51 steps, 172 examples`
pub fn summary(assistant: &Assistant) -> String {
    let counts = assistant.summary();
    let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}: {}, {}, {}",
        assistant.id,
        count(counts.actions, "action"),
        count(counts.steps, "step"),
        count(counts.examples, "example")
    )
}
