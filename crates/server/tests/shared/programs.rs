//! Programs that some tests need and a fresh machine may lack: Chromium and chromedriver for the
//! browser tests, Python 3 with `venv` and pip for the `ibm-watson` SDK test.
//!
//! The README promises that `cargo test --workspace` passes on a machine with only the Rust
//! toolchain and Python 3. There, a test whose program is missing returns at once and passes, and
//! the first one to find out says on the terminal, once, how many tests of this run it skips, why,
//! and what to install. It writes to the stderr handle itself because libtest captures only the
//! `print!` family: the line shows even when every test passes.
//!
//! CI sets `BATON_REQUIRE_PROGRAMS=1` (`.ci/run`), under which a missing program fails every test
//! that needs it, so CI never skips silently. It is one variable for every program, so a program
//! that a later test needs is required in CI without changing the CI script.
//!
//! Both test binaries that need it include this file as a `#[path]` module: a folder under
//! `tests/` without a `main.rs` is not a test target of its own.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{LazyLock, Once};

/// The variable under which a missing program is a test failure rather than a skip: set to
/// anything but nothing or `0`.
pub const REQUIRE: &str = "BATON_REQUIRE_PROGRAMS";

/// Why some tests cannot run on this machine, and what would let them.
#[derive(Clone, Debug)]
pub struct Missing {
    /// What is missing: "chromium not found on PATH".
    pub reason: String,
    /// What to do about it: "apt-get install chromium chromium-driver".
    pub remedy: String,
}

/// What a group of tests needs from the machine, looked for once per test binary.
pub struct Needs<T: 'static> {
    /// One of the group's tests, as the message names it: "browser test".
    test: &'static str,
    /// The group is the tests whose names start with this ("" for every test of the binary).
    prefix: &'static str,
    found: LazyLock<Result<T, Missing>>,
    announced: Once,
}

impl<T: Sync + Send> Needs<T> {
    /// The tests named `test` (singular), those whose names start with `prefix`, need what
    /// `find` looks for.
    pub const fn new(test: &'static str, prefix: &'static str, find: fn() -> Result<T, Missing>) -> Needs<T> {
        Needs {
            test,
            prefix,
            found: LazyLock::new(find),
            announced: Once::new(),
        }
    }

    /// What the tests need, or `None` when this machine lacks it: the test then returns at once
    /// and passes, skipped. Under [`REQUIRE`] a missing program panics instead: the test fails.
    pub fn get(&'static self) -> Option<&'static T> {
        let missing = match &*self.found {
            Ok(found) => return Some(found),
            Err(missing) => missing,
        };
        if required() {
            panic!(
                "{}: {}; {REQUIRE} is set, so a missing program fails the {}s",
                missing.reason, missing.remedy, self.test
            );
        }
        self.announced.call_once(|| {
            let skipped = match tests_in_this_run(self.prefix) {
                Some(1) => format!("1 {}", self.test),
                Some(count) => format!("{count} {}s", self.test),
                None => format!("the {}s", self.test),
            };
            let line = format!(
                "\nskipped {skipped}: {} — {} ({REQUIRE}=1 makes this a failure)\n",
                missing.reason, missing.remedy
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
        });
        None
    }
}

/// Whether [`REQUIRE`] is set.
pub fn required() -> bool {
    std::env::var_os(REQUIRE).is_some_and(|value| !value.is_empty() && value != "0")
}

/// How many tests of this run have names starting with `prefix`, or `None` when that cannot be
/// told. The test binary lists its tests itself, given the arguments of this run (filters,
/// `--skip`, `--exact`), so the count is what this run would have run, not a number kept by hand.
fn tests_in_this_run(prefix: &str) -> Option<usize> {
    let output = Command::new(std::env::current_exe().ok()?)
        .args(std::env::args_os().skip(1))
        .arg("--list")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let listed = String::from_utf8_lossy(&output.stdout);
    let count = listed
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .filter(|name| name.starts_with(prefix))
        .count();
    Some(count)
}

/// The program the variable `variable` names if it is set, else `name` on `PATH`, found as a shell
/// would (a path must be an executable file).
pub fn program(variable: &str, name: &str) -> Result<PathBuf, String> {
    match std::env::var_os(variable) {
        Some(path) => {
            which::which(&path).map_err(|_| format!("{name} not found at {} ({variable})", path.to_string_lossy()))
        }
        None => on_path(name),
    }
}

/// The program `name` on `PATH`.
pub fn on_path(name: &str) -> Result<PathBuf, String> {
    which::which(name).map_err(|_| format!("{name} not found on PATH"))
}

/// `BATON_PYTHON`, or a virtual environment with `ibm-watson` in Cargo's target folder, made on
/// first use; what is missing when neither can be had.
#[allow(dead_code)] // the browser tests include this file and run no SDK
pub fn sdk_python() -> Result<PathBuf, Missing> {
    if std::env::var_os("BATON_PYTHON").is_some() {
        return program("BATON_PYTHON", "python").map_err(|reason| Missing {
            reason,
            remedy: "point BATON_PYTHON at a Python with ibm-watson".to_owned(),
        });
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ibm-watson-venv");
    let python = venv.join("bin/python");
    let has_sdk = Command::new(&python)
        .args(["-c", "import ibm_watson"])
        .output()
        .is_ok_and(|output| output.status.success());
    if has_sdk {
        return Ok(python);
    }
    let python3 = on_path("python3").map_err(|reason| Missing {
        reason,
        remedy: "apt-get install python3 python3-venv, or set BATON_PYTHON to a Python with ibm-watson".to_owned(),
    })?;
    let make_venv = Command::new(&python3).arg("-m").arg("venv").arg(&venv).output();
    failed(make_venv).map_err(|error| Missing {
        reason: format!("{} -m venv failed: {error}", python3.display()),
        remedy: "apt-get install python3-venv, or set BATON_PYTHON to a Python with ibm-watson".to_owned(),
    })?;
    let install = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "ibm-watson",
        ])
        .output();
    failed(install).map_err(|error| Missing {
        reason: format!("pip could not install ibm-watson: {error}"),
        remedy: "let pip reach PyPI, or set BATON_PYTHON to a Python with ibm-watson".to_owned(),
    })?;
    Ok(python)
}

/// A command's failure in one line: the error starting it, or the last line it wrote to stderr.
#[allow(dead_code)]
fn failed(output: std::io::Result<std::process::Output>) -> Result<(), String> {
    let output = output.map_err(|error| error.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
    Err(last.map_or_else(|| output.status.to_string(), |line| line.trim().to_owned()))
}
