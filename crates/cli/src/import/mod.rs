//! `baton import watson EXPORT.json -o DIR`: a Watson Assistant export as a Baton assistant folder.
//!
//! The conversion (`watson::convert`) is pure: bytes in, files and a report out. This module
//! reads the export (refusing a file too large before reading it), refuses to write into a folder
//! that is not empty, writes the files, runs the conversation tests the conversion derived, and
//! prints the report (as JSON with `--json`).
//!
//! A derived test states what the export implies (the first example starts its action, …). One
//! that Baton's runtime does not pass (say a first example that Baton's classifier gives to
//! another action) is a difference the author must see: it is removed from `tests/`, so the
//! folder's tests pass, and the report says which test and why.

mod report;
pub mod watson;
mod yaml_out;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Arguments of `baton import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// Convert a Watson Assistant (watsonx Assistant) actions or dialog skill export.
    Watson(WatsonArgs),
}

#[derive(Debug, clap::Args)]
pub struct WatsonArgs {
    /// The exported skill (JSON), as downloaded from Watson Assistant.
    pub export: PathBuf,
    /// The assistant folder to write; it must not exist or be empty.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Exit code 1 when the export is refused or the folder is not empty; nothing is written then.
pub fn run(args: ImportArgs) -> anyhow::Result<i32> {
    let Source::Watson(args) = args.source;
    let file = std::fs::File::open(&args.export).with_context(|| format!("opening {}", args.export.display()))?;
    let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    if size > watson::MAX_EXPORT_BYTES {
        let refusal = watson::Refusal::TooLarge { bytes: size };
        eprintln!("{}: error[{}]: {refusal}", args.export.display(), refusal.code());
        return Ok(1);
    }
    let mut bytes = Vec::new();
    // Read one byte past the limit: enough to refuse a larger file without reading it all.
    file.take(watson::MAX_EXPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", args.export.display()))?;
    let mut imported = match watson::convert(&bytes) {
        Ok(imported) => imported,
        Err(refusal) => {
            eprintln!("{}: error[{}]: {refusal}", args.export.display(), refusal.code());
            return Ok(1);
        }
    };
    if is_nonempty_dir(&args.output)? {
        eprintln!(
            "error[import-folder-not-empty]: {} already exists and is not empty; choose a new folder",
            args.output.display()
        );
        return Ok(1);
    }
    for (path, text) in &imported.files {
        write(&args.output.join(path), text)?;
    }
    keep_passing_tests(&args.output, &mut imported.report)?;
    match args.json {
        true => println!("{}", serde_json::to_string_pretty(&imported.report)?),
        false => {
            println!(
                "imported {} ({} skill) into {}",
                imported.report.name,
                imported.report.skill,
                args.output.display()
            );
            print!("{}", imported.report.to_text());
        }
    }
    Ok(0)
}

/// Runs each derived test against the written folder; removes those that fail, saying why.
fn keep_passing_tests(dir: &Path, report: &mut report::Report) -> anyhow::Result<()> {
    let Some(assistant) = baton_assistant::load_dir(dir).assistant else {
        // The conversion writes folders that load; should one not, `baton check` says why.
        report
            .tests_not_written
            .push("the derived tests were not run: the folder does not load (run `baton check`)".to_owned());
        return Ok(());
    };
    let engine = baton_dialog::Engine::new(assistant);
    for test in report.tests.clone() {
        let path = dir.join(&test);
        let source = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let failure = match crate::test_file::parse(&path, &source) {
            Ok(parsed) => crate::test::run_test(&engine, &parsed)
                .failures
                .into_iter()
                .next()
                .map(|failure| failure.message),
            Err(problems) => problems.first().map(ToString::to_string),
        };
        let Some(failure) = failure else { continue };
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        report.tests.retain(|kept| *kept != test);
        report.tests_not_written.push(format!(
            "{test} was removed: Baton does not do what the export implies ({failure})"
        ));
    }
    if report.tests.is_empty() {
        // `baton test` fails on a folder without tests: keep one baseline that holds.
        let test = "tests/greeting.yaml";
        let path = dir.join(test);
        write(&path, BASELINE)?;
        let passes = crate::test_file::parse(&path, BASELINE)
            .is_ok_and(|parsed| crate::test::run_test(&engine, &parsed).failures.is_empty());
        match passes {
            true => report.tests.push(test.to_owned()),
            false => std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?,
        }
    }
    Ok(())
}

/// The test written when nothing could be derived from the export.
const BASELINE: &str = "# Written by `baton import watson`: no test could be derived from the export, so this one\n# only checks that the greeting does not transfer. Add conversations of your own.\nname: The greeting does not transfer\nconversation:\n  - no_transfer: true\n";

fn is_nonempty_dir(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => Ok(true),
        Err(error) => Err(error).with_context(|| format!("reading {}", dir.display())),
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
