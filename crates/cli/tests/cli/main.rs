//! Integration tests that run the real `baton` binary against the example assistants.
//!
//! One test binary with a module per subcommand, so the workspace links once.

mod agents;
mod bench;
mod check;
mod conversation_tests;
mod eval;
mod import;
mod init;
mod matrix_desk;
mod preview;
mod replicas;
mod saas_desks;
mod schema;
mod serve;
mod served;
mod webhook_resume;

#[path = "../../../server/tests/shared/programs.rs"]
mod programs;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `baton` binary built for these tests, with colours off.
pub fn baton() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.env("NO_COLOR", "1");
    command
}

/// An example assistant folder.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

/// Runs `baton ARGS` with `input` on stdin (not a terminal).
pub fn run(args: &[&str], input: &str) -> Output {
    let mut child = baton()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton runs");
    let written = child.stdin.take().expect("stdin is piped").write_all(input.as_bytes());
    // A command may refuse its arguments and exit before it reads stdin (`baton agents add` with
    // a bad name): then the pipe is closed, and what it printed is what the test checks.
    if let Err(error) = written {
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::BrokenPipe,
            "stdin takes the input: {error}"
        );
    }
    child.wait_with_output().expect("baton finishes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes files (path relative to the folder, contents) into a new temporary folder.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("folders are created");
        std::fs::write(path, contents).expect("the file is written");
    }
    dir
}
